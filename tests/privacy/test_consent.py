"""Separate, versioned consent before filing: the page, the records, a new version, withdrawal, grid workers, and a
draft that survives the detour to the consent page."""
from __future__ import annotations

import re
import shutil
from contextlib import contextmanager

import sqlalchemy as sa

from app.accounts.models import User
from app.cases.models import Case
from app.extensions import db
from app.privacy.consent import DEFAULT_TEXTS_DIR
from app.privacy.consent_models import ConsentRecord
from tests.cases.test_funnel_journeys import VERSION_RE

PURPOSES = ("handling", "sensitive", "share")


def _user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == username))


def _records(app, **where) -> list[ConsentRecord]:
    with app.app_context():
        rows = db.session.scalars(sa.select(ConsentRecord).filter_by(**where).order_by(ConsentRecord.id)).all()
        db.session.expunge_all()
        return rows


def agree(web, next_url: str | None = None, purposes=PURPOSES):
    url = "/privacy/consent" + (f"?next={next_url}" if next_url else "")
    data = {"purpose": list(purposes), **({"next": next_url} if next_url else {})}
    return web.post("/privacy/consent", data, page=url)


@contextmanager
def version_2(app, tmp_path):
    """Publish version 2 of the rules (a copy of the texts with a new registry), as an operator would."""
    folder = tmp_path / "texts"
    shutil.copytree(DEFAULT_TEXTS_DIR, folder)
    for lang in ("zh", "en"):
        text = (folder / f"personal_information_v1.{lang}.md").read_text(encoding="utf-8")
        (folder / f"personal_information_v2.{lang}.md").write_text(text.replace("1", "2", 1), encoding="utf-8")
    registry = (folder / "registry.yaml").read_text(encoding="utf-8")
    v2 = registry.split("versions:\n", 1)[1].replace('"1":', '"2":', 1).replace("_v1", "_v2").replace(
        "2026-12-01", "2027-01-01")
    (folder / "registry.yaml").write_text(registry.replace('current: "1"', 'current: "2"') + v2, encoding="utf-8")
    app.config["CONSENT_TEXTS_DIR"] = str(folder)
    try:
        yield
    finally:
        app.config.pop("CONSENT_TEXTS_DIR")


def test_the_page_shows_the_rules_and_one_checkbox_per_purpose_and_records_the_consent(app, demo, make_web):
    web = make_web()
    web.login("resident3")
    page = web.get("/privacy/consent").get_data(as_text=True)
    assert "个人信息处理规则（第 1 版）" in page and "身份证号码" in page and "人民法院" in page
    assert "保存期限" in page and "撤回同意" in page and "privacy@jiefen.example" in page
    assert len(re.findall(r'<input type="checkbox" name="purpose"', page)) == 3
    partial = agree(web, purposes=("handling",))
    assert partial.status_code == 422 and partial.get_data(as_text=True).count("提交纠纷需要此项同意") == 2
    assert _records(app, user_id=_user_id(app, "resident3")) == []
    ok = agree(web)
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/account/privacy")
    [row] = _records(app, user_id=_user_id(app, "resident3"))
    assert row.version == "1" and sorted(row.purposes) == sorted(PURPOSES) and row.method == "online"
    assert row.ip == "127.0.0.1" and row.withdrawn_at is None and len(row.text_sha256) == 64
    history = web.get("/account/privacy").get_data(as_text=True)
    assert "您已同意当前的《个人信息处理规则》（第 1 版）" in history and "本人在线同意" in history


def test_the_page_in_english(app, demo, make_web):
    web = make_web()
    web.login("resident3")
    page = web.get("/privacy/consent?lang=en").get_data(as_text=True)
    assert "Jiefen personal information rules (version 1)" in page and "I separately agree" in page


def test_filing_is_blocked_until_consent_and_the_draft_is_kept(app, demo, make_web):
    web = make_web()
    web.login("resident3")
    asked = web.post("/consult", {"q": "楼上漏水"}, page="/consult").headers["Location"]
    on = f"/cases/new?consult={asked.rsplit('/', 1)[1]}"  # the question's "我还需要帮助：提交纠纷" link
    resp = web.get(on)
    assert resp.status_code == 302 and "/privacy/consent?next=" in resp.headers["Location"]
    page = web.get(resp.headers["Location"]).get_data(as_text=True)
    assert "提交纠纷前，请先阅读并同意" in page and f'name="next" value="{on}"' in page
    back = agree(web, on)
    assert back.status_code == 302 and back.headers["Location"] == on
    assert "楼上漏水</textarea>" in web.get(on).get_data(as_text=True)  # what was typed at /consult
    draft = web.post("/cases/new", {"title": "楼上漏水", "description": "楼上卫生间漏水，泡坏了我家天花板。"},
                     page="/cases/new")
    case_id = int(re.search(r"/cases/(\d+)/intake/2$", draft.headers["Location"]).group(1))
    with app.app_context():
        row = db.session.scalars(sa.select(ConsentRecord).where(
            ConsentRecord.user_id == _user_id(app, "resident3"))).one()
    web.post(f"/account/privacy/{row.id}/withdraw", {}, page="/account/privacy")
    # Withdrawn while the draft was half done: the next page asks again, then returns to where the resident was.
    step2 = web.get(f"/cases/{case_id}/intake/2")
    assert step2.status_code == 302 and "/privacy/consent" in step2.headers["Location"]
    review = f"/cases/{case_id}/intake/5"
    version = VERSION_RE.search(web.get(f"/cases/{case_id}/intake/1?lang=zh", follow_redirects=True)
                                .get_data(as_text=True))
    assert version is None  # the wizard page itself is not shown without consent
    blocked = web.post(review, {"nav": "submit", "truthful": "y", "version": "1"}, page="/privacy/consent")
    assert blocked.status_code == 302 and "/privacy/consent" in blocked.headers["Location"]
    with app.app_context():
        assert db.session.get(Case, case_id).stage.value == "consult"  # not filed
    back = agree(web, review)
    assert back.status_code == 302 and back.headers["Location"] == review
    page = web.get(review).get_data(as_text=True)
    assert "楼上卫生间漏水，泡坏了我家天花板。" in page  # the draft is intact
    history = web.get("/account/privacy").get_data(as_text=True)
    assert "已于" in history and "撤回" in history and history.count("第 1 版") >= 3


def test_a_new_version_asks_again(app, demo, make_web, tmp_path):
    web = make_web()
    web.login("resident1")  # agreed to version 1 in the demo data
    assert web.get("/cases/new").status_code == 200
    with version_2(app, tmp_path):
        resp = web.get("/cases/new")
        assert resp.status_code == 302 and "/privacy/consent" in resp.headers["Location"]
        page = web.get("/privacy/consent").get_data(as_text=True)
        assert "个人信息处理规则（第 2 版）" in page
        assert agree(web, "/cases/new").headers["Location"] == "/cases/new"
        assert web.get("/cases/new").status_code == 200
        assert "第 2 版" in web.get("/account/privacy").get_data(as_text=True)
    versions = [r.version for r in _records(app, user_id=_user_id(app, "resident1"))]
    assert versions == ["1", "2"]


def test_withdrawing_someone_elses_consent_is_404(app, demo, make_web):
    web = make_web()
    web.login("resident2")
    [row] = _records(app, user_id=_user_id(app, "resident1"))
    assert web.post(f"/account/privacy/{row.id}/withdraw", {}, page="/account/privacy").status_code == 404
    assert _records(app, id=row.id)[0].withdrawn_at is None


def test_the_next_parameter_never_leads_off_site(app, demo, make_web):
    web = make_web()
    web.login("resident3")
    resp = agree(web, "//evil.example/x")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/privacy")


def test_a_grid_worker_records_the_residents_in_person_consent(app, demo, make_web):
    from tests.cases.test_funnel_journeys import file_dispute

    grid = make_web()
    grid.login("grid1")
    case_id = file_dispute(grid, "独居老人被拖欠房租", "tenancy", "租客拖欠独居老人张大爷三个月房租共四千五百元。",
                           applicant_name="张大爷")
    [row] = _records(app, case_id=case_id)
    assert row.user_id is None and row.subject_name == "张大爷" and row.method == "in_person_signed"
    assert row.recorded_by_id == _user_id(app, "grid1") and row.version == "1" and len(row.purposes) == 3


def test_an_older_complete_consent_still_counts_after_a_newer_partial_one(app, demo, make_web):
    """The session lookup brings only the newest consent's purposes: when those fall short, every standing consent
    is checked, so a partial re-consent does not lock out a resident who agreed in full before."""
    web = make_web()
    web.login("resident3")
    assert agree(web).status_code == 302
    with app.app_context():
        db.session.add(ConsentRecord(user_id=_user_id(app, "resident3"), version="1", text_sha256="0" * 64,
                                     purposes=["handling"], method="online"))
        db.session.commit()
    resp = web.get("/cases/new")
    assert resp.status_code == 200 and "/privacy/consent" not in resp.headers.get("Location", "")
    with app.app_context():  # withdraw the complete one: now only the partial one stands
        full = db.session.scalars(sa.select(ConsentRecord).where(
            ConsentRecord.user_id == _user_id(app, "resident3")).order_by(ConsentRecord.id)).first()
        assert full.purposes == list(PURPOSES)
        full_id = full.id
    web.post(f"/account/privacy/{full_id}/withdraw", {}, page="/account/privacy")
    resp = web.get("/cases/new")
    assert resp.status_code == 302 and "/privacy/consent" in resp.headers["Location"]
