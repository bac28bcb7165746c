"""Drafting the settlement agreement: the clause library, amounts in capital figures, the draft prefilled from the
accepted offers, the mediator's editor (errors next to the field, nothing lost), sending for signing."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.agreements.clauses import ClauseError, load_clauses, money_text, render, rmb_upper
from app.agreements.models import Agreement
from app.extensions import db
from tests.cases.test_funnel_journeys import step
from tests.mediation.test_record import add_session, case_with_both_parties

CLAUSES_DIR = Path(__file__).resolve().parents[2] / "mediation_rules" / "clauses"
FIELD_RE = r'<div class="field has-error">\s*<label for="{name}">.*?</div>'


# --- helpers shared by the agreement tests ----------------------------------------------------------
def settled_case(app, make_web, offers=True):
    """resident1 v resident2 in mediation (both joined), an accepted offer (5,000 yuan by 2026-12-31, an apology,
    repairing the waterproofing), the settlement recorded. Returns (case_id, applicant, respondent, mediator)."""
    case_id, applicant, respondent, mediator = case_with_both_parties(app, make_web)
    if offers:
        add_session(app, case_id)
    assert step(mediator, case_id, "record_settlement", reason="双方就赔偿和维修达成一致。").status_code == 302
    return case_id, applicant, respondent, mediator


def editor_fields(page: str) -> dict[str, str]:
    """The editor's fields as a browser would post them (inputs, selected options, textareas)."""
    fields = {}
    for name, value in re.findall(r'<input type="(?:hidden|text|date|number)"[^>]*? name="([^"]+)" value="([^"]*)"', page):
        fields[name] = value
    for name, body in re.findall(r'<select id="[^"]*" name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        m = re.search(r'<option value="([^"]*)" selected>', body)
        fields[name] = m.group(1) if m else ""
    for name, value in re.findall(r'<textarea id="[^"]*" name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        fields[name] = unescape(value)
    fields.pop("csrf_token", None)
    return {k: unescape(v) for k, v in fields.items()}


def unescape(text: str) -> str:
    import html

    return html.unescape(text)


def save_draft(web, case_id, changes=None, drop=(), action="save"):
    """Open the editor, change some fields, post it."""
    page = web.get(f"/cases/{case_id}/agreement/edit").get_data(as_text=True)
    fields = {k: v for k, v in editor_fields(page).items() if k not in drop}
    fields.update(changes or {})
    return web.post(f"/cases/{case_id}/agreement/edit", {**fields, "action": action})


def send(web, case_id):
    return web.post(f"/cases/{case_id}/agreement/send", page=f"/cases/{case_id}/agreement")


def agreements(app, case_id):
    with app.app_context():
        rows = [{"id": a.id, "version": a.version, "status": a.status, "terms": a.terms, "hash": a.content_hash,
                 "supersedes_id": a.supersedes_id, "signed_at": a.signed_at, "facts": a.facts}
                for a in db.session.scalars(sa.select(Agreement).where(Agreement.case_id == case_id)
                                            .order_by(Agreement.version))]
        db.session.remove()
    return rows


def sent_case(app, make_web):
    """A settled case whose prefilled draft the mediator saved and sent to the parties."""
    case_id, applicant, respondent, mediator = settled_case(app, make_web)
    assert save_draft(mediator, case_id).status_code == 302
    assert send(mediator, case_id).status_code == 302
    return case_id, applicant, respondent, mediator


# --- amounts and the clause library -----------------------------------------------------------------
@pytest.mark.parametrize("amount, upper", [
    ("0", "零元整"), ("5000", "伍仟元整"), ("5000.00", "伍仟元整"), ("10", "壹拾元整"), ("15", "壹拾伍元整"),
    ("1005", "壹仟零伍元整"), ("1050", "壹仟零伍拾元整"), ("1200.50", "壹仟贰佰元伍角"), ("0.05", "伍分"),
    ("0.5", "伍角"), ("10.05", "壹拾元零伍分"), ("3.25", "叁元贰角伍分"), ("100000", "壹拾万元整"),
    ("100010", "壹拾万零壹拾元整"), ("10001000", "壹仟万壹仟元整"), ("20000", "贰万元整"),
    ("100000001", "壹亿零壹元整"), ("123456789.12", "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元壹角贰分"),
    ("1000000", "壹佰万元整"), ("99999999.99", "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ("18600", "壹万捌仟陆佰元整"), ("1001", "壹仟零壹元整"), ("101000", "壹拾万壹仟元整"),
    ("1000101", "壹佰万零壹佰零壹元整"),
])
def test_amounts_in_capital_figures(amount, upper):
    assert rmb_upper(Decimal(amount)) == upper


def test_the_legal_form_of_an_amount():
    assert money_text(Decimal("5000")) == "人民币 5,000.00 元（大写：伍仟元整）"
    assert money_text(Decimal("1200.5")) == "人民币 1,200.50 元（大写：壹仟贰佰元伍角）"
    with pytest.raises(ValueError):
        rmb_upper(Decimal("-1"))


def test_the_library_holds_every_clause_the_issue_names():
    clauses = load_clauses(str(CLAUSES_DIR))
    assert {"payment_once", "payment_instalments", "repair", "apology", "remove_obstruction", "confidentiality",
            "default"} <= set(clauses)
    assert clauses["remove_obstruction"].title == "排除妨碍" and clauses["default"].title == "违约责任"
    names = {"applicant": "王秀英", "respondent": "李建国"}
    out = render(clauses["payment_instalments"], {
        "payer": "respondent", "payee": "applicant", "amount": "1,200.50", "instalments": "3",
        "per_instalment": "400.17", "first_date": "2027-01-15", "last_date": "2027-03-15"}, names)
    assert out.errors == {}
    assert out.text.startswith("被申请人李建国分3期向申请人王秀英支付人民币 1,200.50 元（大写：壹仟贰佰元伍角）")
    assert "每期人民币 400.17 元（大写：肆佰元壹角柒分）" in out.text and "2027年3月15日前全部付清" in out.text
    assert "李建国一共要付给王秀英1,200.50 元" in out.summary


def test_values_are_never_read_as_templates():
    clause = load_clauses(str(CLAUSES_DIR))["other"]
    out = render(clause, {"content": "{payer.__class__} {0} {{x}}"}, {"applicant": "甲", "respondent": "乙"})
    assert out.text == "{payer.__class__} {0} {{x}}"


@pytest.mark.parametrize("raw, message", [
    ({"amount": "abc"}, "金额请填写数字"), ({"amount": "-5"}, "金额应大于 0"), ({"amount": "1.234"}, "最多保留两位小数"),
    ({"amount": ""}, "请填写金额"), ({"date": "2026-13-01"}, "日期请按“年-月-日”填写"),
    ({"payer": "mediator"}, "请选择申请人或被申请人"), ({"payee": "respondent"}, "双方不能是同一方"),
])
def test_bad_parameters_name_the_field(raw, message):
    clause = load_clauses(str(CLAUSES_DIR))["payment_once"]
    good = {"payer": "respondent", "payee": "applicant", "amount": "5000", "date": "2026-12-31"}
    out = render(clause, {**good, **raw}, {})
    field_name = next(iter(raw))
    assert message in out.errors[field_name] and out.text == ""


def test_instalments_must_add_up():
    clause = load_clauses(str(CLAUSES_DIR))["payment_instalments"]
    raw = {"payer": "respondent", "payee": "applicant", "amount": "1000", "instalments": "3",
           "per_instalment": "300", "first_date": "2027-01-01", "last_date": "2026-12-01"}
    assert "不少于总金额" in render(clause, raw, {}).errors["per_instalment"]
    raw["per_instalment"] = "333.34"
    assert render(clause, raw, {}).errors == {"last_date": "最后付清日期不能早于第一期付款日。"}


@pytest.mark.parametrize("text, problem", [
    ("key: broken\ntitle: 坏\norder: 1\ntext: '{amount:>10}'\nsummary: x\nparams:\n  amount: {type: money, label: 金额}\n",
     "must be a plain name"),
    ("key: broken\ntitle: 坏\norder: 1\ntext: '{who}'\nsummary: x\nparams: {}\n", "undeclared parameters: who"),
    ("key: broken\ntitle: 坏\norder: 1\ntext: x\nsummary: x\nparams:\n  n: {type: float, label: 数}\n", "needs a type"),
    ("key: other_name\ntitle: 坏\norder: 1\ntext: x\nsummary: x\n", "equal the file name"),
    ("key: broken\ntitle: 坏\norder: 1\ntext: x\nsummary: x\nchecks: [nonsense]\n", "unknown checks: nonsense"),
    ("key: broken\ntext: x\n", "missing title, order, summary"),
    ("key: [unclosed\n", "not valid YAML"),
])
def test_a_broken_clause_file_is_refused_with_its_name(tmp_path, text, problem):
    (tmp_path / "broken.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ClauseError) as exc:
        load_clauses(str(tmp_path))
    assert "broken.yaml" in str(exc.value) and problem in str(exc.value)


# --- the draft ---------------------------------------------------------------------------------------
def test_the_draft_is_prefilled_from_the_case_and_the_accepted_offers(app, demo, make_web):
    case_id, applicant, respondent, mediator = settled_case(app, make_web)
    page = mediator.get(f"/cases/{case_id}/agreement/edit").get_data(as_text=True)
    fields = editor_fields(page)
    # the respondent's accepted offer: the respondent pays the applicant, apologises; its other terms; a default clause
    assert [fields[f"terms-{i}-clause"] for i in range(4)] == ["payment_once", "apology", "other", "default"]
    assert "terms-4-clause" not in fields
    assert (fields["terms-0-payer"], fields["terms-0-payee"], fields["terms-0-amount"], fields["terms-0-date"]) == \
        ("respondent", "applicant", "5000.00", "2026-12-31")
    assert fields["terms-2-content"] == "修好卫生间防水。"
    assert "申请人王秀英与被申请人李建国因“楼上漏水殃及我家天花板”发生纠纷" in fields["facts"]
    assert "履行地点" in fields["performance"]
    assert "一式三份" not in fields["performance"]  # the PDF's own section 五 says when it takes effect and the copies
    assert agreements(app, case_id) == []  # nothing stored until the mediator saves

    assert save_draft(mediator, case_id, {"terms-1-date": "2026-12-20"}).status_code == 302
    [row] = agreements(app, case_id)
    assert (row["version"], row["status"], row["hash"]) == (1, "draft", None)
    assert row["terms"][0]["text"] == \
        "被申请人李建国于2026年12月31日前一次性向申请人王秀英支付人民币 5,000.00 元（大写：伍仟元整）。"
    page = mediator.get(f"/cases/{case_id}/agreement").get_data(as_text=True)
    assert "人民币 5,000.00 元（大写：伍仟元整）" in page
    assert "李建国要在2026年12月31日之前，一次付给王秀英5,000.00 元。" in page  # the summary beside it
    assert "送交各方审阅" in page
    # the parties do not see a draft
    assert "人民币 5,000.00 元" not in applicant.get(f"/cases/{case_id}/agreement").get_data(as_text=True)


def test_bad_parameters_come_back_next_to_the_field_and_nothing_is_lost(app, demo, make_web):
    case_id, _, _, mediator = settled_case(app, make_web)
    resp = save_draft(mediator, case_id, {"terms-0-amount": "五千块", "terms-1-date": "", "facts": "双方因漏水发生纠纷。"})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    amount_field = re.search(FIELD_RE.format(name="terms-0-amount"), page, re.S).group(0)
    assert "金额请填写数字" in amount_field and 'value="五千块"' in amount_field
    assert "请填写道歉期限" in re.search(FIELD_RE.format(name="terms-1-date"), page, re.S).group(0)
    assert "双方因漏水发生纠纷。" in page  # what was typed elsewhere is kept
    assert agreements(app, case_id) == []


def test_the_mediator_adds_and_removes_clauses(app, demo, make_web):
    case_id, _, _, mediator = settled_case(app, make_web)
    page = mediator.get(f"/cases/{case_id}/agreement/edit").get_data(as_text=True)
    fields = editor_fields(page)
    resp = mediator.post(f"/cases/{case_id}/agreement/edit", {**fields, "action": "add", "add_clause": "repair"})
    assert resp.status_code == 200
    fields = editor_fields(resp.get_data(as_text=True))
    assert fields["terms-4-clause"] == "repair" and fields["terms-4-obligor"] == "respondent"
    resp = mediator.post(f"/cases/{case_id}/agreement/edit", {**fields, "action": "remove-2"})
    fields = editor_fields(resp.get_data(as_text=True))
    assert [fields[f"terms-{i}-clause"] for i in range(4)] == ["payment_once", "apology", "default", "repair"]
    fields.update({"terms-1-date": "2026-12-20", "terms-3-item": "卫生间防水层", "terms-3-date": "2027-01-10"})
    assert mediator.post(f"/cases/{case_id}/agreement/edit", {**fields, "action": "save"}).status_code == 302
    [row] = agreements(app, case_id)
    assert [t["clause"] for t in row["terms"]] == ["payment_once", "apology", "default", "repair"]
    assert row["terms"][3]["text"] == ("被申请人李建国于2027年1月10日前自行负担费用，将卫生间防水层修复至正常使用状态；"
                                       "申请人王秀英应为修复提供必要的便利。")


def test_a_draft_can_be_prepared_during_mediation_but_sent_only_once_settled(app, demo, make_web):
    case_id, applicant, respondent, mediator = case_with_both_parties(app, make_web)
    add_session(app, case_id)  # the offer is accepted but the settlement not yet recorded
    assert save_draft(mediator, case_id, {"terms-1-date": "2026-12-20"}).status_code == 302
    resp = send(mediator, case_id)
    assert resp.status_code == 409 and "请先在案件页记录“调解成功”" in resp.get_data(as_text=True)
    assert agreements(app, case_id)[0]["status"] == "draft"
    assert applicant.get(f"/cases/{case_id}/agreement/edit").status_code == 403
    assert step(mediator, case_id, "record_settlement", reason="双方达成一致。").status_code == 302
    assert send(mediator, case_id).status_code == 302
    [row] = agreements(app, case_id)
    assert row["status"] == "signing" and re.fullmatch(r"[0-9a-f]{64}", row["hash"])
    page = applicant.get(f"/cases/{case_id}/agreement").get_data(as_text=True)
    assert "人民币 5,000.00 元（大写：伍仟元整）" in page and "确认签署" in page
    case_page = applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "审阅并签署" in case_page and f"/cases/{case_id}/agreement" in case_page


def test_a_case_settled_without_offers_starts_with_no_terms(app, demo, make_web):
    case_id, _, _, mediator = settled_case(app, make_web, offers=False)
    resp = save_draft(mediator, case_id)
    assert resp.status_code == 422 and "请至少添加一项协议条款" in resp.get_data(as_text=True)
    outcome = mediator.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f'href="/cases/{case_id}/agreement"' in outcome
