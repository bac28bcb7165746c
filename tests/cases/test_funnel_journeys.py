"""End-to-end journeys through HTTP with CSRF on, as residents, mediators, org admins and clerks see them."""
from __future__ import annotations

import re

import sqlalchemy as sa

from app.cases.models import Case, CaseEvent
from tests.escalation.pages import file_with_court, issue_award

STEP_FIELDS = {
    1: ("title", "description", "desired_outcome", "began_on", "learned_on"),
    2: ("category", "amount", "has_arbitration_agreement"),
    3: ("applicant_name", "applicant_phone", "applicant_id_number", "region_code"),
}
VERSION_RE = re.compile(r'name="version"[^>]*value="(\d+)"')


def _wizard_post(web, url, data):
    page = web.get(url).get_data(as_text=True)
    version = VERSION_RE.search(page)
    resp = web.post(url, {**data, **({"version": version.group(1)} if version else {})})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    return resp


def file_dispute(web, title, category, description, **extra):
    """File a dispute through the intake wizard (steps 1, 2, 3 and 5) as a browser would."""
    values = {"title": title, "category": category, "description": description, "amount": extra.pop("amount", "8000"),
              "region_code": "340202001001", "applicant_phone": "13905531234",
              "respondent1-kind": "person", "respondent1-name": extra.pop("respondent", "李建国"),
              "respondent1-phone": "13905539876", "respondent1-region_code": "340202001001", **extra}
    by_step = {n: {k: values[k] for k in keys if k in values} for n, keys in STEP_FIELDS.items()}
    by_step[3].update({k: v for k, v in values.items() if k.startswith("respondent")})
    resp = _wizard_post(web, "/cases/new", by_step[1])
    case_id = int(re.search(r"/cases/(\d+)/intake/2$", resp.headers["Location"]).group(1))
    _wizard_post(web, f"/cases/{case_id}/intake/2", by_step[2])
    _wizard_post(web, f"/cases/{case_id}/intake/3", by_step[3])
    on_behalf = {"resident_confirmed": "y", "resident_consented": "y", "consent_method": "in_person_signed"}
    confirm = {"nav": "submit", "truthful": "y", **(on_behalf if "applicant_name" in values else {})}
    resp = _wizard_post(web, f"/cases/{case_id}/intake/5", confirm)
    assert resp.headers["Location"].endswith(f"/cases/{case_id}")
    return case_id


def step(web, case_id, action, page=None, **data):
    """Take a step from the page that shows its form (the case page unless said otherwise)."""
    page = web.get(page or f"/cases/{case_id}")
    version = VERSION_RE.search(page.get_data(as_text=True))
    payload = {"version": version.group(1) if version else "", **data}
    return web.post(f"/cases/{case_id}/steps/{action}", payload)


def load(app, case_id):
    from app.extensions import db

    with app.app_context():
        case = db.session.get(Case, case_id)
        events = db.session.scalars(sa.select(CaseEvent.action).where(CaseEvent.case_id == case_id)
                                    .order_by(CaseEvent.seq)).all()
        return case.stage.value, case.status.value, case.court_case_number, events


def test_a_file_assess_route_settle_close(app, demo, make_web):
    """File, read the assessment, ask for mediation: routed to a village mediator who records a settlement."""
    resident, mediator = make_web(), make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "邻居空调外机噪音扰民", "neighbour", "邻居家空调外机正对我家卧室窗户，夜间噪音很大，协商无果。")
    page = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "初步评估" in page and "邻里纠纷" in page and "申请调解" in page
    assert step(resident, case_id, "request_mediation").status_code == 302
    page = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "为什么由这位调解员办理" in page and "张桂兰" in page and "团结社区人民调解委员会" in page
    assert "村（社区）级" in page and "邻居" in page  # the tier and the words that matched

    mediator.login("mediator1")
    assert "邻居空调外机噪音扰民" in mediator.get("/mediator/inbox").get_data(as_text=True)
    resp = step(mediator, case_id, "record_settlement", reason="邻居同意三日内将外机移位并加装减震垫。")
    assert resp.status_code == 302

    assert load(app, case_id)[:2] == ("closed", "settled")
    assert load(app, case_id)[3] == ["draft", "assess", "request_mediation", "auto_assign", "record_settlement"]
    dashboard = resident.get("/my/cases").get_data(as_text=True)
    assert "调解成功" in dashboard


def test_b_mediation_fails_then_court_accepts(app, demo, make_web):
    resident, mediator, clerk = make_web(), make_web(), make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "借款五万元到期不还", "loan_debt", "2024年借给对方五万元，有借条和转账记录，到期拒不归还。",
                           amount="50000")
    step(resident, case_id, "request_mediation")
    assert load(app, case_id)[:2] == ("mediate", "in_progress")
    mediator.login(mediator_of(app, case_id))
    assert step(mediator, case_id, "record_failure", reason="被申请人拒绝还款计划。").status_code == 302
    assert load(app, case_id)[:2] == ("mediate", "failed")

    assert file_with_court(resident, case_id).status_code == 302  # the filing page: courts, complaint, package

    clerk.login("court1")
    inbox = clerk.get("/court/inbox").get_data(as_text=True)
    assert "借款五万元到期不还" in inbox
    bad = clerk.post(f"/cases/{case_id}/steps/accept_filing", {"court_case_number": "123", "version": _version(app, case_id)})
    assert bad.status_code == 422 and "案号格式不正确" in bad.get_data(as_text=True)
    resp = step(clerk, case_id, "accept_filing", court_case_number="(2026)皖0202民初123号")
    assert resp.status_code == 302
    stage, status, number, events = load(app, case_id)
    assert (stage, status, number) == ("litigate", "accepted", "(2026)皖0202民初123号")
    assert events[-2:] == ["file_lawsuit", "accept_filing"]
    assert "(2026)皖0202民初123号" in resident.get(f"/cases/{case_id}").get_data(as_text=True)


def mediator_of(app, case_id):
    """The username of the mediator the case was routed to."""
    from app.extensions import db

    with app.app_context():
        return db.session.get(Case, case_id).mediator.username


def _version(app, case_id):
    from app.extensions import db

    with app.app_context():
        return str(db.session.get(Case, case_id).version)


def test_b2_court_returns_and_resident_resubmits(app, demo, make_web):
    resident, clerk = make_web(), make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "货款纠纷", "contract", "对方拖欠货款三万元，多次催要无果，双方无仲裁协议。", amount="30000")
    assert file_with_court(resident, case_id).status_code == 302  # the filing page: courts, complaint, package
    clerk.login("court1")
    assert step(clerk, case_id, "return_filing", reason="").status_code == 422  # a return needs reasons
    assert step(clerk, case_id, "return_filing", reason="请补充被告的住所地和身份信息。").status_code == 302
    page = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "请补充被告的住所地和身份信息" in page and "补正后重新提交" in page
    assert file_with_court(resident, case_id).status_code == 302  # resubmitted from the same page
    assert load(app, case_id)[:2] == ("litigate", "filed")


def test_c_labour_case_cannot_go_straight_to_court(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "工厂拖欠两个月工资", "labour_wages", "我在某电子厂上班，老板拖欠两个月工资共一万二千元。",
                           respondent="某电子有限公司", **{"respondent1-kind": "organisation"})
    page = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "劳动人事争议仲裁委员会仲裁" in page  # the refusal is explained up front
    resp = step(resident, case_id, "file_lawsuit", court_id="1")
    assert resp.status_code == 409
    assert "劳动争议须先经劳动人事争议仲裁委员会仲裁" in resp.get_data(as_text=True)
    assert load(app, case_id)[:2] == ("assess", "assessed")
    # Through labour arbitration it may then go to court.
    assert step(resident, case_id, "request_arbitration").status_code == 302
    arbitrator = make_web()
    arbitrator.login("arbitrator1")
    assert step(arbitrator, case_id, "accept_arbitration").status_code == 302
    bare = step(arbitrator, case_id, "issue_award", reason="被申请人支付工资12000元。")
    assert bare.status_code == 409 and f"/cases/{case_id}/award/edit" in bare.get_data(as_text=True)  # only the award page
    assert issue_award(arbitrator, case_id).status_code == 302
    assert file_with_court(resident, case_id).status_code == 302  # the filing page: courts, complaint, package
    assert load(app, case_id)[:2] == ("litigate", "filed")


def test_d_family_case_is_never_offered_arbitration(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "父亲遗产分割", "inheritance", "父亲去世后留下一套房产，兄弟三人对分割方式有争议。",
                           has_arbitration_agreement="y")
    page = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f'action="/cases/{case_id}/steps/request_arbitration"' not in page
    assert "依法不能仲裁" in page
    resp = step(resident, case_id, "request_arbitration")
    assert resp.status_code == 409 and "依法不能仲裁" in resp.get_data(as_text=True)
    step(resident, case_id, "request_mediation")
    # Even after failed mediation the resident is not offered arbitration.
    mediator = make_web()
    mediator.login(mediator_of(app, case_id))
    assert step(mediator, case_id, "record_failure", reason="兄弟之间分歧较大。").status_code == 302
    assert load(app, case_id)[:2] == ("mediate", "failed")
    page = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "steps/request_arbitration" not in page and "向法院起诉" in page


def test_arbitration_needs_an_agreement(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "买卖合同违约", "contract", "对方交付的货物质量不合格，拒绝退货退款。")
    resp = step(resident, case_id, "request_arbitration")
    assert resp.status_code == 409 and "书面仲裁协议" in resp.get_data(as_text=True)


def test_withdraw_from_any_open_stage(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "小额欠款", "loan_debt", "朋友借了我两千元一直没还，现在想先问问怎么办。", amount="2000")
    step(resident, case_id, "request_mediation")
    assert step(resident, case_id, "withdraw", reason="对方已经还钱了").status_code == 302
    stage, status, _, events = load(app, case_id)
    assert (stage, status) == ("closed", "withdrawn") and events[-1] == "withdraw"
    resp = step(resident, case_id, "withdraw")
    assert resp.status_code == 409 and "不能“撤回”" in resp.get_data(as_text=True)


def test_steps_require_csrf(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "测试纠纷", "neighbour", "邻居在楼道堆放杂物，影响通行。")
    resp = resident.client.post(f"/cases/{case_id}/steps/withdraw", data={})
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)
    assert load(app, case_id)[:2] == ("assess", "assessed")


def test_a_question_without_a_category_can_be_withdrawn_or_resolved(app, demo, make_web):
    """Closing a consult-stage case that never got a category (was a 500 from a CHECK constraint)."""
    from app.extensions import db

    with app.app_context():
        asked = db.session.scalar(sa.select(Case.id).where(Case.title == "楼上每晚十一点后还在拖动家具"))
    resident = make_web()
    resident.login("resident1")
    assert step(resident, asked, "withdraw", reason="和邻居谈好了").status_code == 302
    assert load(app, asked)[:2] == ("closed", "withdrawn")
    resp = resident.post("/cases/new", {"title": "楼上装修噪音", "description": "楼上装修噪音很大影响休息。"}, page="/cases/new")
    draft = int(re.search(r"/cases/(\d+)/intake/2$", resp.headers["Location"]).group(1))
    assert step(resident, draft, "resolve_at_consult").status_code == 302
    assert load(app, draft)[:2] == ("closed", "resolved")
