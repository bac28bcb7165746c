"""The interface in English (?lang=en or the lang cookie) and in Chinese by default; the English catalogue is
complete, matches the sources, and its committed .mo is compiled from the current .po."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from tests.cases.test_funnel_journeys import file_dispute, step

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"
PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo"
HAN = re.compile(r"[\u4e00-\u9fff]")


def text(resp) -> str:
    return resp.get_data(as_text=True)


def english(web) -> None:
    """Switch this client to English the way a visitor does: the footer link (a lang cookie)."""
    resp = web.get("/lang/en?next=/")
    assert resp.status_code == 302


def visible(html: str) -> str:
    """The page without user-entered or seeded data that stays Chinese (titles, names, descriptions)."""
    return re.sub(r"<[^>]+>", " ", html)


# --- pages ---------------------------------------------------------------------------------
def test_home_page_in_english_with_lang_parameter_and_chinese_by_default(app, web):
    zh = text(web.get("/"))
    assert '<html lang="zh-CN">' in zh
    assert "有纠纷，先来问一问" in zh and "纠纷化解的五个步骤" in zh and "人民调解不收费" in zh
    assert "Got a dispute?" not in zh

    en = text(web.get("/?lang=en"))
    assert '<html lang="en">' in en
    assert "Got a dispute? Start by asking" in en
    assert "Five steps to resolve a dispute" in en
    assert "People’s mediation is free" in en
    assert "Sign up and submit a dispute" in en
    # Nothing Chinese is left but the brand in the title and the language switch.
    leftover = set(HAN.findall(visible(en).replace("解纷 Jiefen", "").replace("中文", "")))
    assert not leftover, leftover


def test_login_page_follows_the_language_cookie(app, web):
    assert "还没有账号？" in text(web.get("/login"))
    english(web)
    page = text(web.get("/login"))
    assert "<h1>Log in</h1>" in page
    assert ">Username</label>" in page and ">Password</label>" in page  # lazy_gettext field labels
    assert "No account yet?" in page
    assert not HAN.search(visible(page).replace("解纷 Jiefen", "").replace("中文", ""))
    # Validation messages too: an empty login, then a wrong password.
    resp = web.post("/login", {"username": "", "password": ""})
    assert resp.status_code == 422
    assert "Please enter your username." in text(resp) and "Please enter your password." in text(resp)
    resp = web.post("/login", {"username": "nobody", "password": "wrong-password"}, page="/login")
    assert "The username or password is incorrect." in text(resp)
    # Flask-Login's "please log in" flash, through its localize_callback.
    assert "Please log in first." in text(web.get("/my/cases", follow_redirects=True))
    # ?lang= wins over the cookie.
    assert "<h1>登录</h1>" in text(web.get("/login?lang=zh"))


def test_register_errors_in_english(app, web):
    english(web)
    resp = web.post("/register", {"username": "ab", "display_name": "Wang", "phone": "12345",
                                  "password": "short", "confirm": "other"}, page="/register")
    assert resp.status_code == 422
    page = text(resp)
    assert "Your username must be 3 to 40 characters long." in page
    assert "Please enter a valid 11-digit mobile number" in page
    assert "Your password must be at least 10 characters long." in page
    assert "The two passwords do not match." in page


def test_case_page_in_english_for_resident1(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "邻居空调外机噪音扰民", "neighbour", "邻居家空调外机正对我家卧室窗户，夜间噪音很大。")

    zh = text(resident.get(f"/cases/{case_id}"))
    assert "初步评估" in zh and "邻里纠纷" in zh and "申请调解" in zh and "下一步" in zh
    assert "First assessment" not in zh

    english(resident)
    page = text(resident.get(f"/cases/{case_id}"))
    for phrase in (f"Case #{case_id}", "First assessment", "Type of dispute", "Neighbours", "Amount involved",
                   "¥8000.00", "Parties", "<strong>Applicant</strong>: 王秀英 (Person)", "Next steps",
                   "Request mediation", "We suggest trying mediation first", "Case history", "Started the intake",
                   "Evidence", "Upload", "Progress of the dispute", "Assess"):
        assert phrase in page, phrase
    assert "初步评估" not in page and "申请调解" not in page and "纠纷经过" not in page
    # The flash after a step is in English too.
    resp = step(resident, case_id, "request_mediation")
    assert resp.status_code == 302
    assert "Done: Request mediation." in text(resident.get(f"/cases/{case_id}"))
    assert "My disputes" in text(resident.get("/my/cases"))


def test_funnel_refusal_in_english_labour_case_straight_to_court(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "工厂拖欠两个月工资", "labour_wages", "我在某电子厂上班，老板拖欠两个月工资共一万二千元。",
                           respondent="某电子有限公司", **{"respondent1-kind": "organisation"})
    zh = step(resident, case_id, "file_lawsuit", court_id="1")
    assert zh.status_code == 409 and "劳动争议须先经劳动人事争议仲裁委员会仲裁" in text(zh)

    english(resident)
    page = text(resident.get(f"/cases/{case_id}"))
    refusal = "A labour dispute must first go to labour and personnel dispute arbitration"
    assert refusal in page  # explained up front, next to the greyed step
    assert "<strong>File with a court</strong>: " + refusal in page.replace("&#39;", "'")
    resp = step(resident, case_id, "file_lawsuit", court_id="1")
    assert resp.status_code == 409
    body = text(resp).replace("&#39;", "'")
    assert refusal in body and "<h1>Conflict <small>(409)</small></h1>" in body
    assert "劳动争议" not in body
    # A step from the wrong stage is refused with the translated stage, status and step names.
    resp = step(resident, case_id, "accept_filing", court_case_number="（2026）皖0202民初1号")
    assert resp.status_code == 409
    assert "The case is at “Assess · Assessed”, so you cannot “Accept the filing” now." in text(resp)


def test_error_pages_in_english(app, web):
    resp = web.get("/no-such-page?lang=en")
    assert resp.status_code == 404
    assert "Not found" in text(resp) and "The page you are looking for does not exist" in text(resp)
    assert "未找到" in text(web.get("/no-such-page"))


def test_rule_messages_take_their_english_twin(app):
    from app.cases.rules import current_rules

    with app.test_request_context("/?lang=en"):
        rules = current_rules()
        assert rules.category("inheritance").message("arbitration_refused").startswith("By law, disputes over")
        assert rules.message("award_final").startswith("The arbitration award is final")
        assert rules.category("neighbour").message("arbitration_refused", "fallback") == "fallback"
    with app.test_request_context("/"):
        assert current_rules().message("award_final").startswith("仲裁裁决为终局裁决")
    with app.app_context():  # outside a request: Chinese
        assert current_rules().message("award_final").startswith("仲裁裁决为终局裁决")


def test_an_english_rule_message_needs_its_chinese_original(tmp_path):
    from app.cases.rules import RulesError, load_rules

    rules_dir = ROOT / "mediation_rules"
    (tmp_path / "categories.yaml").write_text((rules_dir / "categories.yaml").read_text(encoding="utf-8"),
                                              encoding="utf-8")
    funnel = (rules_dir / "funnel.yaml").read_text(encoding="utf-8")
    (tmp_path / "funnel.yaml").write_text(funnel.replace("  award_final_zh:", "  award_final_old:"), encoding="utf-8")
    with pytest.raises(RulesError, match="award_final_en has no Chinese original"):
        load_rules(str(tmp_path))


# --- the catalogue -------------------------------------------------------------------------
def _po():
    with PO.open("rb") as fh:
        return read_po(fh, locale="en")


def test_every_msgid_has_an_english_translation_and_none_is_fuzzy():
    catalog = _po()
    messages = [m for m in catalog if m.id]
    assert len(messages) > 200
    untranslated = [m.id for m in messages if not (m.string if isinstance(m.string, str) else all(m.string))]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert not untranslated, f"untranslated in {PO.name}: {untranslated}"
    assert not fuzzy, f"fuzzy in {PO.name} (check the translation, then drop the fuzzy flag): {fuzzy}"
    assert not catalog.fuzzy, "the catalogue header is marked fuzzy"
    # Placeholders agree between msgid and msgstr (babel's python-format checker).
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check() if errors]
    assert not problems, problems
    # No Chinese left in an English string, except where it is meant (a Chinese case number example).
    chinese = [m.id for m in messages if HAN.search(m.string) and "皖0202民初" not in m.id]
    assert not chinese, chinese


def test_every_string_marked_in_the_sources_is_in_the_catalogue():
    """Fails when a newly wrapped string has not been extracted: run `make translations` and translate it."""
    method_map, options_map = parse_mapping_cfg(io.StringIO((ROOT / "babel.cfg").read_text(encoding="utf-8")))
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None}  # as `make translations` extracts
    in_sources = {(context, message if isinstance(message, str) else message[0])
                  for _file, _line, message, _comments, context
                  in extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)}
    in_po = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in _po() if m.id}
    missing = sorted(in_sources - in_po)
    assert not missing, f"not in {PO.name} (run `make translations`, then translate): {missing}"


def test_committed_mo_is_compiled_from_the_current_po():
    catalog = _po()
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    fresh = {m.id: m.string for m in read_mo(buf) if m.id}
    with MO.open("rb") as fh:
        committed = {m.id: m.string for m in read_mo(fh) if m.id}
    assert committed == fresh, "messages.mo is stale: run `make translations` (or pybabel compile -d app/translations)"
