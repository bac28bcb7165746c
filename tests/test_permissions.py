"""Who may do what to a case: every URL rule with a case_id, walked for every role, against a table.

The case is the demo's "物业费与停车位纠纷": in mediation (in progress) with mediator1 of orgadmin1's committee,
filed by resident1 against a company, so resident2 and grid1 are not parties to it.
"""
from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import url_for

from app.cases.models import Case, EvidenceFile
from app.mediation.models import Invitation

TITLE = "物业费与停车位纠纷"
def _png() -> bytes:
    """A real 4x4 PNG, encoded as the upload pipeline re-encodes images (so the stored bytes are equal)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


PNG = _png()
EVIDENCE_NAME = "物业收据.png"

ROLES = ("anonymous", "resident1", "resident2", "grid1", "mediator1", "mediator3", "orgadmin1", "orgadmin2",
         "arbitrator1", "court1", "admin")
VIEWERS = ("resident1", "mediator1", "orgadmin1", "admin")
LOGIN = "login"  # anonymous: 302 to the login page


def row(**viewers):
    """Expected answers: the given ones for those who may see the case, 404 for every other user."""
    assert set(viewers) == set(VIEWERS)
    return {"anonymous": LOGIN, **{r: 404 for r in ROLES if r not in VIEWERS and r != "anonymous"}, **viewers}


def api_row():
    """The court-facing API (/api/v1) knows no web sessions: everyone without a bearer token gets 401."""
    return {r: 401 for r in ROLES}


NOT_PARTY = (403, "只有案件当事人可以执行此操作")
NO_EVIDENCE = (403, "您不能为此案件上传证据")
FROZEN = (409, "不能再修改案件信息")
NO_REASON = (422, "需要填写说明或理由")
# rule -> method -> role -> status (or (status, text the page must show)).
EXPECTED = {
    "/cases/<int:case_id>": {
        "GET": row(resident1=200, mediator1=200, orgadmin1=200, admin=200)},
    "/cases/<int:case_id>/assessment": {  # the assessment report and its PDF: whoever sees the case
        "GET": row(resident1=200, mediator1=200, orgadmin1=200, admin=200)},
    "/cases/<int:case_id>/assessment.pdf": {
        "GET": row(resident1=200, mediator1=200, orgadmin1=200, admin=200)},
    "/cases/<int:case_id>/intake/<int:step>": {  # the wizard only edits drafts: the filer is sent to the case
        "GET": row(resident1=302, mediator1=403, orgadmin1=403, admin=403),
        "POST": row(resident1=302, mediator1=403, orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/edit": {  # the intake is frozen once mediation has started
        "GET": row(resident1=FROZEN, mediator1=403, orgadmin1=403, admin=403),
        "POST": row(resident1=FROZEN, mediator1=403, orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/evidence": {
        "POST": row(resident1=302, mediator1=NO_EVIDENCE, orgadmin1=NO_EVIDENCE, admin=NO_EVIDENCE)},
    "/cases/<int:case_id>/evidence/<int:evidence_id>": {
        "GET": row(resident1=200, mediator1=200, orgadmin1=200, admin=200)},
    "/cases/<int:case_id>/schedule": {  # the scheduling page for whoever sees the case; only the mediator proposes
        "GET": row(resident1=200, mediator1=200, orgadmin1=200, admin=200),
        "POST": row(resident1=403, mediator1=(422, "请至少填写一个时间"), orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/schedule/pick": {  # only a party picks (no slot chosen: refused next to the field)
        "POST": row(resident1=(422, "请选择一个时间"), mediator1=403, orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/schedule/<int:slot_id>/cancel": {  # slot_id=1 does not exist: the mediator gets 404
        "POST": row(resident1=403, mediator1=404, orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/schedule/<int:slot_id>.ics": {  # no such slot in this case (tests/mediation/test_scheduling)
        "GET": row(resident1=404, mediator1=404, orgadmin1=404, admin=404)},
    "/org/cases/<int:case_id>/assign": {  # already assigned: the organisation's admins may reassign
        "GET": row(resident1=403, mediator1=403, orgadmin1=200, admin=200),  # reassign, with a reason
        "POST": row(resident1=403, mediator1=403, orgadmin1=NO_REASON, admin=NO_REASON)},
    "/cases/<int:case_id>/room": {  # the session room: the case's parties and mediator only
        "GET": row(resident1=200, mediator1=200, orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/record": {  # the mediation record: whoever sees the case reads it
        "GET": row(resident1=200, mediator1=200, orgadmin1=200, admin=200)},
    "/cases/<int:case_id>/record.pdf": {  # nothing frozen yet in the demo
        "GET": row(**{r: (409, "调解员尚未定稿笔录，暂无 PDF") for r in VIEWERS})},
    "/cases/<int:case_id>/record/statements": {  # only the case's mediator edits; no speaker chosen here
        "POST": row(resident1=403, mediator1=(422, "请选择发言人"), orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/record/statements/<int:statement_id>/delete": {  # statement_id=1: none in the demo
        "POST": row(resident1=403, mediator1=(404, "没有这条陈述"), orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/record/freeze": {
        "POST": row(resident1=403, mediator1=(409, "请先录入至少一条陈述"), orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/record/sign": {  # parties and the mediator sign, once a version is frozen
        "POST": row(resident1=(409, "调解员尚未定稿笔录"), mediator1=(409, "调解员尚未定稿笔录"), orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/agreement": {  # the settlement agreement: whoever sees the case (parties see no drafts)
        "GET": row(resident1=200, mediator1=200, orgadmin1=200, admin=200)},
    "/cases/<int:case_id>/agreement/edit": {  # only the case's mediator drafts; the posted form has no facts/terms
        "GET": row(resident1=403, mediator1=200, orgadmin1=403, admin=403),
        "POST": row(resident1=403, mediator1=(422, "请至少添加一项协议条款"), orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/agreement/send": {  # no draft in the demo case (and it is not settled)
        "POST": row(resident1=403, mediator1=(409, "没有待送交的协议草稿"), orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/agreement/sign": {  # parties and the mediator sign, once it is sent to them
        "POST": row(resident1=(409, "调解协议尚未送交各方审阅"), mediator1=(409, "调解协议尚未送交各方审阅"),
                    orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/agreement/changes": {  # only a party asks for changes, to a version under review
        "POST": row(resident1=(409, "调解协议尚未送交各方审阅"), mediator1=403, orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/agreement/pdf": {  # the signed PDF's progress page: whoever sees the case (nothing signed yet)
        "GET": row(**{r: (200, "协议尚未全部签署") for r in VIEWERS})},
    "/cases/<int:case_id>/agreement/pdf/status": {
        "GET": row(resident1=200, mediator1=200, orgadmin1=200, admin=200)},
    "/cases/<int:case_id>/agreement/pdf/retry": {  # only the case's mediator asks for another attempt
        "POST": row(resident1=403, mediator1=(409, "协议尚未全部签署"), orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/agreement.pdf": {
        "GET": row(**{r: (409, "协议尚未全部签署") for r in VIEWERS})},
    "/cases/<int:case_id>/deadline/extend": {  # only the case's mediator; the demo's respondent (a company) has not joined
        "POST": row(resident1=403, mediator1=(409, "被申请人尚未同意参加调解"), orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/deadline/<int:extension_id>/answer": {  # extension_id=1: none in the demo
        "POST": row(resident1=404, mediator1=404, orgadmin1=404, admin=404)},
    "/cases/<int:case_id>/confirmation/apply": {  # judicial confirmation: parties only; nothing signed in the demo case
        "POST": row(resident1=(409, "调解协议尚未经各方签署生效"), mediator1=403, orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/confirmation/join": {
        "POST": row(resident1=(409, "没有等待您确认的司法确认申请"), mediator1=403, orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/confirmation/withdraw": {
        "POST": row(resident1=(409, "没有可以撤回的司法确认申请"), mediator1=403, orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/confirmation/application.pdf": {  # parties, the mediator (and the court's clerk once submitted)
        "GET": row(resident1=(409, "尚未申请司法确认"), mediator1=(409, "尚未申请司法确认"), orgadmin1=403, admin=403)},
    # The court API: bearer tokens only (tests/api covers the courts' own tokens, 404 for other courts' cases).
    "/api/v1/cases/<int:case_id>": {"GET": api_row()},
    "/api/v1/cases/<int:case_id>/evidence/<int:evidence_id>": {"GET": api_row()},
    "/api/v1/cases/<int:case_id>/agreement.pdf": {"GET": api_row()},
    "/api/v1/cases/<int:case_id>/confirmation-application.pdf": {"GET": api_row()},
    "/api/v1/cases/<int:case_id>/decisions": {"POST": api_row()},
    # --- arbitration (before the award): the demo case is in mediation, so nothing can be signed or scheduled yet.
    "/cases/<int:case_id>/arbitration": {  # the arbitration page: whoever sees the case
        "GET": row(resident1=200, mediator1=200, orgadmin1=200, admin=200)},
    "/cases/<int:case_id>/arbitration/application.pdf": {  # the 仲裁申请书: whoever sees the case
        "GET": row(resident1=200, mediator1=200, orgadmin1=200, admin=200)},
    "/cases/<int:case_id>/arbitration/clause": {  # only a party proposes, once mediation has failed (or at assessment)
        "POST": row(resident1=(409, "不能签订仲裁协议"), mediator1=403, orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/arbitration/clause/sign": {  # only a party signs, once proposed
        "POST": row(resident1=(409, "还没有待签署的仲裁协议"), mediator1=403, orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/arbitration/hearings": {  # only the case's arbitrator schedules hearings
        "POST": row(resident1=403, mediator1=403, orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/arbitration/hearings/<int:hearing_id>/cancel": {
        "POST": row(resident1=403, mediator1=403, orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/arbitration/hearings/<int:hearing_id>/record": {
        "POST": row(resident1=403, mediator1=403, orgadmin1=403, admin=403)},
    # --- litigation: the demo case is in mediation, so nothing is filed with a court yet.
    "/cases/<int:case_id>/filing": {  # the filing form: the applicant side, when the funnel allows filing
        "GET": row(resident1=(409, "不能“向法院起诉”"), mediator1=403, orgadmin1=403, admin=403),
        "POST": row(resident1=(409, "不能“向法院起诉”"), mediator1=403, orgadmin1=403, admin=403)},
    "/cases/<int:case_id>/filing/complaint.pdf": {  # parties, the court's clerk and admins, once submitted
        "GET": row(resident1=(409, "尚未向法院提交起诉材料"), mediator1=403, orgadmin1=403,
                   admin=(409, "尚未向法院提交起诉材料"))},
    "/cases/<int:case_id>/filing/package": {
        "GET": row(resident1=(409, "尚未向法院提交起诉材料"), mediator1=403, orgadmin1=403,
                   admin=(409, "尚未向法院提交起诉材料"))},
    "/cases/<int:case_id>/filing/decision": {  # only the clerk of the case's court decides
        "POST": row(resident1=403, mediator1=403, orgadmin1=403, admin=403)},
    # --- court API (helper D): the complaint and award PDFs, bearer tokens only like the rest of /api/v1.
    "/api/v1/cases/<int:case_id>/filing/complaint.pdf": {"GET": api_row()},
    "/api/v1/cases/<int:case_id>/award.pdf": {"GET": api_row()},
    # --- the arbitral award (helper B): the demo case is in mediation, so no award exists and none may be drafted.
    "/cases/<int:case_id>/award": {  # the issued award for whoever sees the case (the draft: its arbitrator only)
        "GET": row(resident1=404, mediator1=404, orgadmin1=404, admin=404)},
    "/cases/<int:case_id>/award/edit": {  # only the case's arbitrator drafts
        "GET": row(**{r: (403, "只有本案仲裁员可以起草和签发裁决书") for r in VIEWERS}),
        "POST": row(**{r: (403, "只有本案仲裁员可以起草和签发裁决书") for r in VIEWERS})},
    "/cases/<int:case_id>/award/issue": {
        "POST": row(**{r: (403, "只有本案仲裁员可以起草和签发裁决书") for r in VIEWERS})},
    "/cases/<int:case_id>/award.pdf": {  # 404 until the award is issued
        "GET": row(resident1=404, mediator1=404, orgadmin1=404, admin=404)},
    # --- satisfaction ratings (helper Q): only a party rates, and only once the case is closed (this one is open).
    "/cases/<int:case_id>/rating": {
        "POST": row(resident1=(409, "案件办结后才能评价"), **{r: (403, "只有案件当事人可以评价本案的办理")
                                                           for r in ("mediator1", "orgadmin1", "admin")})},
    # --- audited reveal of full numbers (helper A1): staff handling the case, never a party; no reason given: 422.
    "/cases/<int:case_id>/reveal": {
        "GET": row(resident1=403, mediator1=200, orgadmin1=200, admin=200),
        "POST": row(resident1=403, **{r: (422, "需要填写说明") for r in ("mediator1", "orgadmin1", "admin")})},
    # --- the respondent's invitation: its number corrected and sent again, by the case's mediator or its
    # organisation's admin only (never a party, nor the platform admin); the posted form has no number: refused by it.
    "/cases/<int:case_id>/invitations/<int:invitation_id>/correct": {
        "GET": row(resident1=403, mediator1=200, orgadmin1=200, admin=403),
        "POST": row(resident1=403, **{r: (422, "请输入被申请人正确的手机号码") for r in ("mediator1", "orgadmin1")},
                    admin=403)},
    "/cases/<int:case_id>/steps/<action>": {  # action=withdraw: only a party may withdraw
        "POST": row(resident1=302, mediator1=NOT_PARTY, orgadmin1=NOT_PARTY, admin=NOT_PARTY)},
}


def case_rules(app):
    return {r.rule: r for r in app.url_map.iter_rules() if "case_id" in r.arguments}


def methods(rule):
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def build(app, rule, **values):
    values.setdefault("slot_id", 1)  # scheduling URLs (a slot that does not exist in the demo)
    values.setdefault("statement_id", 1)  # the mediation record's statements: none exists in the demo
    values.setdefault("extension_id", 1)  # deadline extensions: none exists in the demo
    values.setdefault("application_id", 1)  # judicial confirmation applications (court pages): none in the demo
    values.setdefault("hearing_id", 1)  # arbitration hearings: none in the demo
    values.setdefault("invitation_id", 1)  # an invitation (test_every_case_rule_for names the case's own)
    values.setdefault("message_id", 1)  # an in-app notification (opened with a POST)
    with app.test_request_context():
        return url_for(rule.endpoint, **{k: v for k, v in values.items() if k in rule.arguments})


def post_data(rule_text, case):
    if rule_text.endswith("/evidence"):
        return {"file": (io.BytesIO(PNG), EVIDENCE_NAME), "description": "2024年物业费收据"}
    if "/steps/" in rule_text:
        return {"version": str(case["version"]), "reason": "测试撤回"}
    if rule_text.endswith("/assign"):  # a reassignment without its reason: refused next to the field
        return {"version": str(case["version"]), "mediator_id": "0"}
    return {"title": "改个标题", "description": "随便改一改案件的描述内容。"}


def case_state(app):
    from app.extensions import db

    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.title == TITLE))
        n = db.session.scalar(sa.select(sa.func.count()).select_from(EvidenceFile).where(EvidenceFile.case_id == case.id))
        invitation = db.session.scalar(sa.select(Invitation.id).where(Invitation.case_id == case.id))
        out = {"id": case.id, "version": case.version, "stage": case.stage.value, "status": case.status.value,
               "evidence": n, "invitation": invitation}
        db.session.remove()
        return out


def upload_evidence(app, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = case_state(app)["id"]
    resp = resident.post(f"/cases/{case_id}/evidence", {"file": (io.BytesIO(PNG), EVIDENCE_NAME)},
                         page=f"/cases/{case_id}")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    from app.extensions import db

    with app.app_context():
        evidence_id = db.session.scalar(sa.select(EvidenceFile.id).where(EvidenceFile.case_id == case_id))
        db.session.remove()
    return evidence_id


def client_for(role, make_web):
    web = make_web()
    if role == "anonymous":
        web.get("/login")  # a CSRF token for the anonymous session
    else:
        web.login(role)
    return web


def test_the_table_covers_every_case_rule(app):
    rules = case_rules(app)
    assert set(rules) == set(EXPECTED), "a URL rule with case_id is missing from (or stale in) the table"
    for text, rule in rules.items():
        assert methods(rule) == sorted(EXPECTED[text]), text


@pytest.mark.parametrize("role", ROLES)
def test_every_case_rule_for(role, app, demo, make_web):
    rules = case_rules(app)
    assert set(rules) == set(EXPECTED)
    evidence_id = upload_evidence(app, make_web)
    before = case_state(app)
    web = client_for(role, make_web)
    # GETs first; the step (which may close the case) last, so earlier answers see the case in mediation.
    requests = sorted(((text, m) for text in EXPECTED for m in EXPECTED[text]),
                      key=lambda tm: (tm[1] == "POST", "/steps/" in tm[0], tm[0]))
    for text, method in requests:
        url = build(app, rules[text], case_id=before["id"], evidence_id=evidence_id, action="withdraw", step=1,
                    invitation_id=before["invitation"])
        expected = EXPECTED[text][method][role]
        status, must_show = expected if isinstance(expected, tuple) else (expected, None)
        resp = web.client.get(url) if method == "GET" else web.post(url, post_data(text, case_state(app)))
        body = resp.get_data()
        resp.close()  # a served file stays open until the WSGI server closes the response
        where = f"{role} {method} {url}"
        if status == LOGIN:
            assert resp.status_code == 302, where
            assert urlsplit(resp.headers["Location"]).path == "/login", where
        else:
            assert resp.status_code == status, f"{where}: {resp.status_code} {body[:500]!r}"
        if status not in (200, 422):  # refusals never show the case's content (422: the form again, for a viewer)
            assert TITLE.encode() not in body and EVIDENCE_NAME.encode() not in body, where
            assert PNG not in body, where
        if must_show:
            assert must_show in resp.get_data(as_text=True), where
        if status == 302:
            assert resp.headers["Location"] == f"/cases/{before['id']}", where
        if status == 200 and text == "/cases/<int:case_id>":
            assert TITLE in resp.get_data(as_text=True) and EVIDENCE_NAME in resp.get_data(as_text=True), where
        if status == 200 and "evidence_id" in text:
            assert body == PNG and resp.headers["Content-Type"] == "image/png", where
            assert resp.headers["Content-Disposition"].startswith("attachment"), where
            assert resp.headers["Cache-Control"] == "no-store", where

    after = case_state(app)
    if role == "resident1":  # the party uploaded a second file, then withdrew
        assert (after["stage"], after["status"], after["evidence"]) == ("closed", "withdrawn", 2)
    else:  # nothing anybody else tried changed the case (nor sent another invitation)
        assert {k: after[k] for k in ("stage", "status", "evidence", "version", "invitation")} == \
            {k: before[k] for k in ("stage", "status", "evidence", "version", "invitation")}


def test_evidence_of_another_case_is_not_served_through_this_one(app, demo, make_web):
    evidence_id = upload_evidence(app, make_web)
    mediator = make_web()
    mediator.login("mediator1")
    from app.extensions import db

    with app.app_context():  # another case of resident1's that mediator1 also handles
        other = db.session.scalar(sa.select(Case.id).where(Case.title == "车位被邻居长期占用"))
        db.session.remove()
    assert mediator.get(f"/cases/{other}").status_code == 200
    resp = mediator.get(f"/cases/{other}/evidence/{evidence_id}")
    assert resp.status_code == 404 and PNG not in resp.get_data()


def test_admin_gets_404_for_a_case_that_does_not_exist(app, demo, make_web):
    evidence_id = upload_evidence(app, make_web)
    admin = make_web()
    admin.login("admin")
    missing = case_state(app)["id"] + 10_000
    for text, rule in case_rules(app).items():
        if text.startswith("/api/"):  # no web sessions there: 401 (test_every_case_rule_for)
            continue
        url = build(app, rule, case_id=missing, evidence_id=evidence_id, action="withdraw", step=1)
        for method in methods(rule):
            resp = admin.get(url) if method == "GET" else admin.post(url, {"version": "1"})
            assert resp.status_code == 404, f"{method} {url}: {resp.status_code}"
            assert "页面不存在" in resp.get_data(as_text=True)


def test_resident2_does_not_see_resident1s_cases_in_the_list(app, demo, make_web):
    resident1, resident2 = make_web(), make_web()
    resident1.login("resident1")
    resident2.login("resident2")
    mine = resident1.get("/my/cases").get_data(as_text=True)
    theirs = resident2.get("/my/cases").get_data(as_text=True)
    assert TITLE in mine and "退租后房东不退押金" in mine
    assert TITLE not in theirs and "退租后房东不退押金" not in theirs and "工地拖欠三个月工资" not in theirs
    # ...but resident2 does see the cases brought against them.
    assert "楼上卫生间漏水泡坏我家天花板" in theirs


def test_a_step_never_redirects_off_site(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case = case_state(app)
    resp = resident.post(f"/cases/{case['id']}/steps/withdraw", {"version": str(case["version"]),
                                                                    "back": "/\\evil.com"}, page=f"/cases/{case['id']}")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/cases/{case['id']}"
    assert case_state(app)["status"] == "withdrawn"


def _post_rules(app):
    """Every POST of the web. The court API (/api/v1) is CSRF-exempt: it takes bearer tokens, never cookies."""
    return [r for r in app.url_map.iter_rules() if "POST" in r.methods and not r.rule.startswith("/api/")]


@pytest.mark.parametrize("who", ["anonymous", "resident1"])
def test_every_post_route_rejects_a_post_without_csrf_token(who, app, demo, make_web):
    evidence_id = upload_evidence(app, make_web)
    before = case_state(app)
    web = client_for(who, make_web)
    rules = _post_rules(app)
    assert {r.rule for r in rules} >= {"/login", "/logout", "/register", "/cases/new", "/cases/<int:case_id>/edit",
                                       "/cases/<int:case_id>/steps/<action>", "/cases/<int:case_id>/evidence"}
    data = {"username": "mallory", "password": "jiefen-demo", "confirm": "jiefen-demo", "display_name": "马某",
            "title": "伪造的纠纷", "description": "这是一个伪造的跨站请求提交的纠纷。", "version": str(before["version"]),
            "reason": "伪造的撤回"}
    for rule in rules:
        url = build(app, rule, case_id=before["id"], evidence_id=evidence_id, action="withdraw", step=1,
                    category_id="neighbour", query_id=1, token="not-a-token", record_id=1, user_id=1)
        payload = dict(data, file=(io.BytesIO(PNG), "x.png")) if rule.rule.endswith("/evidence") else data
        resp = web.client.post(url, data=payload)
        assert resp.status_code == 400, f"{who} POST {url}: {resp.status_code}"
        assert "CSRF" in resp.get_data(as_text=True)
    assert case_state(app) == before
    from app.accounts.models import User
    from app.extensions import db

    with app.app_context():
        assert db.session.scalar(sa.select(User.id).where(User.username == "mallory")) is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.title == "伪造的纠纷")) == 0
        db.session.remove()
    if who == "resident1":  # the logout without a token did not log out
        assert web.get("/my/cases").status_code == 200
