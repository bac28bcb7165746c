"""The arbitral award (裁决书): the case's arbitrator drafts it after acceptance (errors next to the fields), issues it
with the password (number by rule, PDF signed with the body's key, the funnel step issue_award), everyone who sees
the case downloads it, /verify recognises it, and nothing about it changes afterwards."""
from __future__ import annotations

import hashlib
import io
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.accounts.models import Organisation, OrgType, Role, User
from app.cases.models import Case, CaseEvent, PartyKind, PartyRole
from app.documents import Document
from app.escalation.models import Award, Hearing
from app.extensions import db
from tests.agreements.test_pdf import flat, no_cjk_font, pdf_tools  # noqa: F401  (no_cjk_font: a fixture)

CLAIMS = "1. 裁决被申请人支付申请人2024年9月至11月工资共计18600元；\n2. 裁决被申请人支付拖欠工资的经济补偿金。"
FINDINGS = "申请人于2024年3月入职被申请人，从事木工工作，月工资6200元。被申请人未支付申请人2024年9月至11月工资，共计18600元。"
REASONING = "用人单位应当按照劳动合同约定和国家规定，向劳动者及时足额支付劳动报酬。被申请人拖欠申请人工资，应予支付。"
DECISION = ["被申请人于本裁决生效之日起十日内支付申请人2024年9月至11月工资18600元；", "驳回申请人的其他仲裁请求。"]
LABOUR_NUMBER = re.compile(r"^镜劳人仲案字〔20\d\d〕第(\d+)号$")
COMMISSION_NUMBER = re.compile(r"^（20\d\d）芜仲裁字第(\d+)号$")


@pytest.fixture(autouse=True)
def _generous_rate_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "1000/minute")


# --- helpers ---------------------------------------------------------------------------------------------
def _user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def arbitration_case(app, *, commercial: bool = False, hearing: bool = True) -> int:
    """resident1 (王秀英) v a company (labour) or v resident2 李建国 (construction, with an arbitration agreement):
    filed, request_arbitration, accept_arbitration by the body's arbitrator, a hearing held."""
    from app.cases import operations
    from app.cases.operations import CaseData, PartyData
    from app.cases.rules import current_rules
    from app.core.time import utcnow

    with app.app_context():
        applicant, rules = _user("resident1"), current_rules()
        if commercial:
            respondent = PartyData(PartyRole.respondent, PartyKind.person, "李建国", phone="13905530099",
                                   id_number="340202198003150012", address="芜湖市镜湖区团结社区3栋",
                                   user_id=_user("resident2").id)
            data = CaseData(title="装修工期延误违约金", description="装修合同约定60天完工，实际拖延45天。",
                            category="construction", amount=Decimal(4500), desired_outcome="支付违约金4500元。",
                            region_code="340202001001", has_arbitration_agreement=True)
        else:
            respondent = PartyData(PartyRole.respondent, PartyKind.organisation, "芜湖某建筑工程有限公司",
                                   id_number="91340202MA2TEST01X", address="芜湖市镜湖区北京中路8号")
            data = CaseData(title="工地拖欠三个月工资", category="labour_wages", amount=Decimal(18600),
                            description="我在某建筑公司工地做木工，2024年9月至11月工资共计18600元一直被拖欠。",
                            desired_outcome="要求公司支付拖欠的工资18600元。", region_code="340202001001")
        parties = [PartyData(PartyRole.applicant, PartyKind.person, "王秀英", phone=applicant.phone,
                             id_number="340202198501020021", address="芜湖市镜湖区团结社区5栋",
                             region_code="340202001001", user_id=applicant.id), respondent]
        case = operations.file_case(applicant, data, parties, rules)
        operations.transition(case, "request_arbitration", applicant, rules)
        arbitrator = _user("arbitrator2" if commercial else "arbitrator1")
        operations.transition(case, "accept_arbitration", arbitrator, rules)
        if hearing:
            db.session.add(Hearing(case_id=case.id, arbitrator_id=arbitrator.id, starts_at=utcnow(),
                                   place="解纷平台在线仲裁庭", status="held", record_text="双方到庭陈述。",
                                   recorded_at=utcnow()))
        db.session.commit()
        case_id = case.id
        db.session.remove()
    return case_id


def draft_form(decision=DECISION, **kw) -> dict:
    return {"claims": CLAIMS, "findings": FINDINGS, "reasoning": REASONING, "decision": "\n".join(decision), **kw}


def seen_hash(web, case_id) -> str:
    page = web.get(f"/cases/{case_id}/award").get_data(as_text=True)
    return re.search(r'name="seen_hash" type="hidden" value="([0-9a-f]{64})"', page).group(1)


def issue(web, case_id, password="jiefen-demo"):
    return web.post(f"/cases/{case_id}/award/issue", {"seen_hash": seen_hash(web, case_id), "password": password},
                    page=f"/cases/{case_id}/award")


def draft_and_issue(app, make_web, case_id, username="arbitrator1") -> object:
    web = make_web()
    web.login(username)
    resp = web.post(f"/cases/{case_id}/award/edit", draft_form(), page=f"/cases/{case_id}/award/edit")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    resp = issue(web, case_id)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    return web


def award_row(app, case_id) -> dict:
    with app.app_context():
        award = db.session.scalar(sa.select(Award).where(Award.case_id == case_id))
        case = db.session.get(Case, case_id)
        out = None if award is None else {
            "status": award.status, "number": award.number, "sha256": award.sha256, "content_hash": award.content_hash,
            "document_id": award.document_id, "decision": award.decision, "arbitrator_id": award.arbitrator_id}
        state = (case.stage.value, case.status.value, case.arbitrator_id)
        events = [(e.action, e.reason) for e in db.session.scalars(
            sa.select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq))]
        db.session.remove()
    return {"award": out, "case": state, "events": events}


def download(web, case_id) -> bytes:
    resp = web.client.get(f"/cases/{case_id}/award.pdf")
    assert resp.status_code == 200, resp.status_code
    assert resp.headers["Content-Type"] == "application/pdf" and resp.headers["Cache-Control"] == "no-store"
    return resp.get_data()


def _flip(pdf: bytes, at: int) -> bytes:
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1:]


# --- drafting -----------------------------------------------------------------------------------------------
def test_the_draft_is_prefilled_refused_with_errors_by_the_fields_then_saved(app, demo, make_web):
    case_id = arbitration_case(app)
    web = make_web()
    web.login("arbitrator1")
    page = web.get(f"/cases/{case_id}/award/edit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "起草裁决书" in html
    assert "要求公司支付拖欠的工资18600元。" in html and "涉案金额：人民币18,600.00元" in html  # claims
    assert "2024年9月至11月工资共计18600元一直被拖欠" in html  # findings from the description

    bad = web.post(f"/cases/{case_id}/award/edit", draft_form(decision=["", "  "], reasoning=""))
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "请至少填写一项裁决内容（每行一项）。" in html and "请写明仲裁庭的意见和理由" in html
    assert FINDINGS in html and "裁决被申请人支付申请人2024年9月至11月工资共计18600元" in html  # nothing lost
    assert award_row(app, case_id)["award"] is None

    ok = web.post(f"/cases/{case_id}/award/edit", draft_form(decision=["1. " + DECISION[0], "（二）" + DECISION[1]]))
    assert ok.status_code == 302 and ok.headers["Location"] == f"/cases/{case_id}/award"
    row = award_row(app, case_id)
    assert row["award"]["status"] == "draft" and row["award"]["decision"] == "\n".join(DECISION)  # numbering dropped
    assert row["case"][:2] == ("arbitrate", "accepted")
    with app.app_context():
        assert row["case"][2] == _user("arbitrator1").id  # the drafter is the case's arbitrator
        db.session.remove()
    view = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "裁决书草稿已保存" in view and "签发裁决书" in view  # the panel: preview, edit, issue


def test_who_may_draft_and_when(app, demo, make_web):
    from app.accounts.operations import hash_password

    case_id = arbitration_case(app)
    with app.app_context():  # a second arbitrator of the same labour commission
        body = db.session.scalar(sa.select(Organisation).where(Organisation.type == OrgType.labour_arbitration))
        db.session.add(User(username="arbitrator3", display_name="周仲裁员", role=Role.arbitrator,
                            organisation_id=body.id, password_hash=hash_password("jiefen-demo")))
        db.session.commit()
        db.session.remove()
    url = f"/cases/{case_id}/award/edit"
    party, other_body, colleague, arbitrator = make_web(), make_web(), make_web(), make_web()
    party.login("resident1")
    other_body.login("arbitrator2")
    colleague.login("arbitrator3")
    arbitrator.login("arbitrator1")
    assert party.get(url).status_code == 403
    assert party.post(url, draft_form(), page=f"/cases/{case_id}").status_code == 403
    assert other_body.get(url).status_code == 404  # the commercial commission does not see a labour case
    assert party.get(f"/cases/{case_id}/award").status_code == 404  # nothing issued yet
    assert party.client.get(f"/cases/{case_id}/award.pdf").status_code == 404
    assert arbitrator.post(url, draft_form()).status_code == 302  # arbitrator1 becomes the case's arbitrator
    assert colleague.get(url).status_code == 403  # ...so a colleague of the same body may not touch it
    resp = colleague.post(f"/cases/{case_id}/award/issue", {"password": "jiefen-demo"}, page=f"/cases/{case_id}")
    assert resp.status_code == 403
    assert party.get(f"/cases/{case_id}/award").status_code == 404  # the draft is not the parties' yet
    assert award_row(app, case_id)["award"]["status"] == "draft"


def test_no_award_before_the_application_is_accepted(app, demo, make_web):
    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.title == "工地拖欠三个月工资"))  # demo: filed
        db.session.remove()
    web = make_web()
    web.login("arbitrator1")
    resp = web.get(f"/cases/{case_id}/award/edit")
    assert resp.status_code == 409 and "仲裁申请受理后" in resp.get_data(as_text=True)


# --- issuing and reading ----------------------------------------------------------------------------------------
def test_a_labour_award_is_issued_signed_and_read(app, demo, make_web, tmp_path):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    from app.agreements import pki

    case_id = arbitration_case(app)
    web = make_web()
    web.login("arbitrator1")
    assert web.post(f"/cases/{case_id}/award/edit", draft_form(), page=f"/cases/{case_id}/award/edit").status_code == 302
    wrong = issue(web, case_id, password="not-my-password")
    assert wrong.status_code == 422 and "密码不正确" in wrong.get_data(as_text=True)
    assert award_row(app, case_id)["award"]["status"] == "draft"
    done = issue(web, case_id)
    assert done.status_code == 302

    row = award_row(app, case_id)
    award = row["award"]
    assert award["status"] == "issued" and LABOUR_NUMBER.match(award["number"]), award["number"]
    assert row["case"][:2] == ("arbitrate", "awarded")
    assert ("issue_award", f"裁决书 {award['number']}") in row["events"]
    with app.app_context():
        document = db.session.get(Document, award["document_id"])
        assert document.kind == "arbitration_award" and document.sha256 == award["sha256"]
        db.session.remove()

    resident = make_web()
    resident.login("resident1")
    pdf = download(resident, case_id)
    assert hashlib.sha256(pdf).hexdigest() == award["sha256"]  # the signed bytes, as registered
    text, fonts_out, _pages = pdf_tools(pdf, tmp_path, "award.pdf")
    flat_text = flat(text)
    assert "镜湖区劳动人事争议仲裁委员会" in flat_text and "裁决书" in flat_text and award["number"] in flat_text
    assert "申请人：王秀英" in flat_text and "被申请人：芜湖某建筑工程有限公司" in flat_text
    assert "统一社会信用代码：91340202MA2TEST01X" in flat_text and "案由：劳动与欠薪纠纷" in flat_text
    assert "本委于" in flat_text and "受理" in flat_text and "依法组成仲裁庭" in flat_text and "开庭审理" in flat_text
    assert "经审理查明" in flat_text and "本委认为" in flat_text and "裁决如下" in flat_text
    assert "一、" + flat(DECISION[0]) in flat_text and "二、" + flat(DECISION[1]) in flat_text
    assert flat("当事人对本裁决不服的，可以自收到本裁决书之日起十五日内向人民法院提起诉讼；期满不起诉的，本裁决书发生法律效力。") \
        in flat_text
    assert "仲裁员马仲裁员" in flat_text and re.search("二〇[〇一二三四五六七八九]{2}年", flat_text)
    assert "第1页共" in flat_text  # the page footer
    assert "CID" in fonts_out and "yes" in fonts_out.split("\n", 2)[2]  # a CJK font, embedded

    with app.app_context():
        roots = pki.trust_roots()
        db.session.remove()
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.sig_object["/Reason"] == "仲裁裁决书电子签章"
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=roots))
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert "劳动人事争议仲裁委员会" in status.signing_cert.subject.human_friendly

    view = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert award["number"] in view and DECISION[0] in view and "下载裁决书 PDF" in view
    assert "十五日内向人民法院提起诉讼" in view and "向法院起诉" in view  # labour: the next step is open
    notes = resident.get("/notifications").get_data(as_text=True)
    assert "仲裁裁决已作出" in notes  # app/escalation/notify.py tells the parties of the step


def test_an_issued_award_never_changes(app, demo, make_web):
    from app.escalation.award import AwardFrozen

    case_id = arbitration_case(app)
    web = draft_and_issue(app, make_web, case_id)
    before = award_row(app, case_id)
    again = web.post(f"/cases/{case_id}/award/issue", {"seen_hash": "x", "password": "jiefen-demo"},
                     page=f"/cases/{case_id}")
    assert again.status_code == 409 and "裁决书已签发" in again.get_data(as_text=True)
    assert web.get(f"/cases/{case_id}/award/edit").status_code == 409
    edit = web.post(f"/cases/{case_id}/award/edit", draft_form(decision=["驳回申请人的全部仲裁请求。"]),
                    page=f"/cases/{case_id}")
    assert edit.status_code == 409
    assert award_row(app, case_id) == before
    assert [a for a, _ in before["events"]].count("issue_award") == 1

    with app.app_context():  # the ORM guard: not even code may change or delete it
        award = db.session.scalar(sa.select(Award).where(Award.case_id == case_id))
        award.decision = "驳回申请人的全部仲裁请求。"
        with pytest.raises(AwardFrozen):
            db.session.flush()
        db.session.rollback()
        award = db.session.scalar(sa.select(Award).where(Award.case_id == case_id))
        db.session.delete(award)
        with pytest.raises(AwardFrozen):
            db.session.flush()
        db.session.rollback()
        db.session.remove()
    assert award_row(app, case_id) == before


def test_numbers_count_the_bodys_awards_of_the_year(app, demo, make_web):
    first, second = arbitration_case(app), arbitration_case(app, hearing=False)
    draft_and_issue(app, make_web, first)
    draft_and_issue(app, make_web, second)
    numbers = [LABOUR_NUMBER.match(award_row(app, c)["award"]["number"]).group(1) for c in (first, second)]
    assert numbers == ["1", "2"]


@pytest.mark.usefixtures("no_cjk_font")
def test_a_render_failure_issues_nothing(app, demo, make_web):
    case_id = arbitration_case(app)
    web = make_web()
    web.login("arbitrator1")
    assert web.post(f"/cases/{case_id}/award/edit", draft_form(), page=f"/cases/{case_id}/award/edit").status_code == 302
    resp = issue(web, case_id)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "裁决书未签发，案件状态未改变" in html
    row = award_row(app, case_id)
    assert row["award"]["status"] == "draft" and row["award"]["number"] is None and row["award"]["sha256"] is None
    assert row["case"][:2] == ("arbitrate", "accepted") and "issue_award" not in [a for a, _ in row["events"]]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)
                                 .where(Document.case_id == case_id)) == 0
        db.session.remove()


# --- verification ----------------------------------------------------------------------------------------------
def test_verify_recognises_the_award_and_a_changed_byte(app, demo, make_web):
    from app.agreements.verify import verify_pdf

    case_id = arbitration_case(app)
    draft_and_issue(app, make_web, case_id)
    number = award_row(app, case_id)["award"]["number"]
    resident = make_web()
    resident.login("resident1")
    pdf = download(resident, case_id)
    stranger = make_web()
    page = stranger.post("/verify", {"file": (io.BytesIO(pdf), "award.pdf")}, page="/verify",
                         content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "verdict-valid" in html and "这是解纷平台签发的裁决书" in html
    assert number in html and "镜湖区劳动人事争议仲裁委员会" in html
    assert "王*英" in html and "芜" + "*" * 9 + "司" in html and "王秀英" not in html
    assert "340202198501020021" not in html and "91340202MA2TEST01X" not in html

    with app.app_context():
        assert verify_pdf(pdf).ok and verify_pdf(pdf).award.number == number
        for at in (len(pdf) // 3, len(pdf) // 2, len(pdf) - 2):
            verdict = verify_pdf(_flip(pdf, at))
            assert not verdict.ok and verdict.award is None, at
        db.session.remove()
    bad = stranger.post("/verify", {"file": (io.BytesIO(_flip(pdf, len(pdf) // 2)), "award.pdf")}, page="/verify",
                        content_type="multipart/form-data")
    assert "verdict-invalid" in bad.get_data(as_text=True) and number not in bad.get_data(as_text=True)


# --- the commercial commission -------------------------------------------------------------------------------------
def test_a_commission_award_is_final(app, demo, make_web, tmp_path):
    case_id = arbitration_case(app, commercial=True)
    draft_and_issue(app, make_web, case_id, username="arbitrator2")
    row = award_row(app, case_id)
    assert COMMISSION_NUMBER.match(row["award"]["number"]), row["award"]["number"]
    assert row["case"][:2] == ("arbitrate", "awarded")
    respondent = make_web()
    respondent.login("resident2")
    text, _, _ = pdf_tools(download(respondent, case_id), tmp_path, "commission.pdf")
    flat_text = flat(text)
    assert "芜湖仲裁委员会" in flat_text and "劳动人事争议" not in flat_text and row["award"]["number"] in flat_text
    assert "本会认为" in flat_text and "被申请人：李建国" in flat_text
    assert "本裁决为终局裁决，自作出之日起发生法律效力。" in flat_text and "第五十八条" in flat_text
    assert "十五日内向人民法院提起诉讼" not in flat_text
    applicant = make_web()
    applicant.login("resident1")
    view = applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "终局裁决" in view and "申请强制执行" in view and "撤销裁决" in view


# --- the rules -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, abbr", [("镜湖区劳动人事争议仲裁委员会", "镜"), ("芜湖仲裁委员会", "芜"),
                                        ("芜湖市镜湖区劳动人事争议仲裁委员会", "镜"), ("安徽省芜湖市仲裁委员会", "芜")])
def test_the_abbreviation_of_a_body(name, abbr):
    from app.config import Config
    from app.escalation.award_rules import load_award_rules

    assert load_award_rules(str(Config.RULES_DIR)).abbreviation(name) == abbr


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(version=2), "version"),
    (lambda d: d["bodies"].pop("arbitration_commission"), "bodies must be exactly"),
    (lambda d: d["bodies"]["labour_arbitration"].update(number="{abbr}劳人仲案字第{n}号"), "placeholders"),
    (lambda d: d["bodies"]["labour_arbitration"].update(finality=[]), "finality"),
])
def test_a_broken_awards_file_is_refused(change, message):
    import yaml

    from app.cases.rules import RulesError
    from app.config import Config
    from app.escalation.award_rules import parse

    data = yaml.safe_load((Config.RULES_DIR / "awards.yaml").read_text(encoding="utf-8"))
    change(data)
    with pytest.raises(RulesError, match=message):
        parse(data)
