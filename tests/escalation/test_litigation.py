"""Filing with a court: competent courts, the filing form, the court's package, return and resubmission,
acceptance recorded on the submissions, and the 民事起诉状 PDF."""
from __future__ import annotations

import io
import re
import subprocess

import sqlalchemy as sa

from app.accounts.models import Organisation
from app.escalation.models import CourtFiling
from app.extensions import db
from tests.cases.test_funnel_journeys import file_dispute, load, mediator_of, step

VERSION_RE = re.compile(r'<input[^>]*name="version"[^>]*value="(\d+)"')
JINGHU, YIJIANG = "芜湖市镜湖区人民法院", "芜湖市弋江区人民法院"
FACTS = "2024年3月1日原告借给被告人民币五万元，约定2024年12月31日前归还，有借条和转账记录为证。到期后被告拒不归还。"


def _court_id(app, name):
    with app.app_context():
        return db.session.scalar(sa.select(Organisation.id).where(Organisation.name == name))


def _filings(app, case_id):
    with app.app_context():
        rows = db.session.scalars(sa.select(CourtFiling).where(CourtFiling.case_id == case_id)
                                  .order_by(CourtFiling.seq)).all()
        out = [{"seq": f.seq, "status": f.status, "court": f.court.name, "reasons": f.reasons, "cause": f.cause_name,
                "number": f.court_case_number, "claims": f.claims, "fee": f.fee_estimate, "basis": f.jurisdiction_basis,
                "document": f.complaint_document_id, "decided": f.decided_at is not None} for f in rows]
        db.session.remove()
        return out


def failed_mediation(app, make_web, category="loan_debt", title="借款五万元到期不还", amount="50000", **extra):
    """resident1 against 李建国 (region 340202001001); mediation fails. Returns (case id, resident browser)."""
    resident, mediator = make_web(), make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, title, category, FACTS, amount=amount, desired_outcome="判令被告偿还借款本金五万元",
                           **extra)
    assert step(resident, case_id, "request_mediation").status_code == 302
    mediator.login(mediator_of(app, case_id))
    assert step(mediator, case_id, "record_failure", reason="被申请人拒绝任何还款计划。").status_code == 302
    return case_id, resident


def _filing_form(web, case_id, **overrides):
    page = web.get(f"/cases/{case_id}/filing").get_data(as_text=True)
    data = {"version": VERSION_RE.search(page).group(1), "claims": "判令被告偿还借款本金人民币50,000元；\n本案诉讼费用由被告承担。",
            "facts": FACTS, "cause_code": "private_lending", "performance_region_code": ""}
    data.update(overrides)
    return data


def test_filing_journey_return_resubmit_accept(app, demo, make_web):
    case_id, resident = failed_mediation(app, make_web)
    assert resident.post(f"/cases/{case_id}/evidence", {"file": (io.BytesIO(b"%PDF-1.4 loan note"), "借条.pdf")},
                         page=f"/cases/{case_id}").status_code == 302
    case_page = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f'href="/cases/{case_id}/filing"' in case_page  # 向法院起诉 leads to the filing page

    page = resident.get(f"/cases/{case_id}/filing").get_data(as_text=True)
    assert JINGHU in page and YIJIANG not in page and "被告住所地" in page
    assert "案件受理费约 1,050 元" in page and "估算" in page  # 诉讼费用交纳办法 art. 13 on 50,000 yuan
    assert "民间借贷纠纷" in page and "判令被告偿还借款本金五万元" in page and FACTS in page
    assert "调解不成的说明" in page and "借条.pdf" in page

    # The place of performance is elsewhere: both courts are competent, each with its ground.
    data = _filing_form(resident, case_id, performance_region_code="340203001", refresh="1")
    page = resident.post(f"/cases/{case_id}/filing", data).get_data(as_text=True)
    assert JINGHU in page and YIJIANG in page and "合同履行地" in page

    bad = resident.post(f"/cases/{case_id}/filing", _filing_form(resident, case_id, claims="",
                                                                   court_id=_court_id(app, JINGHU)))
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "请填写诉讼请求" in text and FACTS in text
    assert _filings(app, case_id) == [] and load(app, case_id)[:2] == ("mediate", "failed")

    resp = resident.post(f"/cases/{case_id}/filing", _filing_form(resident, case_id, court_id=_court_id(app, JINGHU)))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    assert load(app, case_id)[:2] == ("litigate", "filed")
    [first] = _filings(app, case_id)
    assert (first["seq"], first["status"], first["court"], first["cause"]) == (1, "submitted", JINGHU, "民间借贷纠纷")
    assert first["document"] and str(first["fee"]) == "1050.00" and first["basis"] == "defendant_domicile"

    clerk, other = make_web(), make_web()
    clerk.login("court1")
    other.login("court2")
    assert other.get(f"/cases/{case_id}/filing/package").status_code == 404
    inbox = clerk.get("/court/inbox").get_data(as_text=True)
    assert f"/cases/{case_id}/filing/package" in inbox
    package = clerk.get(f"/cases/{case_id}/filing/package").get_data(as_text=True)
    assert f"/cases/{case_id}/filing/complaint.pdf" in package and "借条.pdf" in package
    assert "被申请人拒绝任何还款计划" in package and "调解不成的说明" in package and "记录调解未成" in package
    assert "民间借贷纠纷" in package and "被告住所地" in package

    resp = clerk.post(f"/cases/{case_id}/filing/decision", {"decision": "return", "reason": "",
                                                             "version": VERSION_RE.search(package).group(1)})
    assert resp.status_code == 422 and "需要填写说明或理由" in resp.get_data(as_text=True)
    resp = clerk.post(f"/cases/{case_id}/filing/decision", {"decision": "return", "reason": "诉讼请求应写明利息计算方式。",
                                                             "version": VERSION_RE.search(package).group(1)})
    assert resp.status_code == 302
    assert load(app, case_id)[:2] == ("litigate", "returned")

    case_page = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "诉讼请求应写明利息计算方式" in case_page and "补正后重新提交" in case_page
    page = resident.get(f"/cases/{case_id}/filing").get_data(as_text=True)
    assert page.index("诉讼请求应写明利息计算方式") < page.index("诉讼请求</label>")
    assert "判令被告偿还借款本金人民币50,000元" in page  # the previous submission, prefilled
    fixed = "判令被告偿还借款本金人民币50,000元及自2025年1月1日起按年利率3.1%计算的利息；\n本案诉讼费用由被告承担。"
    resp = resident.post(f"/cases/{case_id}/filing", _filing_form(resident, case_id, claims=fixed,
                                                                   court_id=_court_id(app, JINGHU)))
    assert resp.status_code == 302
    assert [f["seq"] for f in _filings(app, case_id)] == [1, 2]

    package = clerk.get(f"/cases/{case_id}/filing/package").get_data(as_text=True)
    assert "诉讼请求应写明利息计算方式" in package  # the earlier submission and its reasons
    resp = clerk.post(f"/cases/{case_id}/filing/decision", {"decision": "accept", "court_case_number": "123",
                                                             "version": VERSION_RE.search(package).group(1)})
    assert resp.status_code == 422 and "案号格式不正确" in resp.get_data(as_text=True)
    resp = clerk.post(f"/cases/{case_id}/filing/decision", {"decision": "accept", "court_case_number": "(2026)皖0202民初123号",
                                                             "version": VERSION_RE.search(package).group(1)})
    assert resp.status_code == 302
    assert load(app, case_id)[:3] == ("litigate", "accepted", "(2026)皖0202民初123号")
    first, second = _filings(app, case_id)
    assert (first["status"], first["reasons"], first["decided"]) == ("returned", "诉讼请求应写明利息计算方式。", True)
    assert (second["status"], second["number"], second["claims"]) == ("accepted", "(2026)皖0202民初123号", fixed)
    assert "(2026)皖0202民初123号" in resident.get(f"/cases/{case_id}").get_data(as_text=True)


def test_a_tort_has_one_court_and_a_labour_case_needs_arbitration_first(app, demo, make_web):
    case_id, resident = failed_mediation(app, make_web, "traffic_accident", "电动车被撞受伤", "20000")
    page = resident.get(f"/cases/{case_id}/filing").get_data(as_text=True)
    assert JINGHU in page and YIJIANG not in page and "机动车交通事故责任纠纷" in page
    assert 'name="performance_region_code"' not in page  # no place of performance for a tort

    labour, _ = failed_mediation(app, make_web, "labour_wages", "工地拖欠工资八个月", "30000")
    resp = resident.get(f"/cases/{labour}/filing")
    assert resp.status_code == 409 and "劳动争议须先经劳动人事争议仲裁委员会仲裁" in resp.get_data(as_text=True)


def test_the_court_must_be_a_competent_one(app, demo, make_web):
    case_id, resident = failed_mediation(app, make_web)
    resp = resident.post(f"/cases/{case_id}/filing", _filing_form(resident, case_id, court_id=_court_id(app, YIJIANG)))
    assert resp.status_code == 422 and "只能选择列出的有管辖权的法院" in resp.get_data(as_text=True)
    assert _filings(app, case_id) == []


def test_complaint_pdf_reads_like_a_civil_complaint(app, demo, make_web, tmp_path):
    case_id, resident = failed_mediation(app, make_web, applicant_id_number="340202198503150026",
                                         **{"respondent1-id_number": "340202197806220031",
                                            "respondent1-address": "安徽省芜湖市镜湖区团结社区3栋201室"})
    assert resident.post(f"/cases/{case_id}/evidence", {"file": (io.BytesIO(b"%PDF-1.4 loan note"), "借条.pdf"),
                                                        "description": "被告2024年3月1日出具的借条"},
                         page=f"/cases/{case_id}").status_code == 302
    resp = resident.post(f"/cases/{case_id}/filing", _filing_form(resident, case_id, court_id=_court_id(app, JINGHU)))
    assert resp.status_code == 302
    pdf = resident.client.get(f"/cases/{case_id}/filing/complaint.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    path = tmp_path / "complaint.pdf"
    path.write_bytes(pdf.data)
    (__import__("pathlib").Path("/tmp/complaint_test.pdf")).write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    compact = re.sub(r"\s+", "", text)
    for expected in ("民事起诉状", "原告：王秀英，女，1985年3月15日出生", "被告：李建国，男",
                     "住址：安徽省芜湖市镜湖区团结社区3栋201室", "借条.pdf（被告2024年3月1日出具的借条），证据来源：原告提交", "诉讼请求", "1.判令被告偿还借款本金人民币50,000元",
                     "事实与理由", "民间借贷纠纷", "证据和证据来源", "此致", JINGHU, "起诉人：王秀英",
                     "附：本起诉状副本1份", "调解不成的说明", "被申请人拒绝任何还款计划"):
        assert expected in compact, expected
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "yes" in fonts  # an embedded (CJK) font


def test_decisions_through_the_court_api_are_recorded_on_the_submission(app, demo, make_web):
    """The demo's loan case was filed through the filing operation; the court's system answers through /api/v1."""
    from app.cases.models import Case
    from tests.api.test_api import issue

    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.title == "朋友借款两万元到期不还"))
        db.session.remove()
    clerk = make_web()
    clerk.login("court1")
    pdf = clerk.client.get(f"/cases/{case_id}/filing/complaint.pdf")  # the demo's complaint is rendered on first use
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    headers = {"Authorization": f"Bearer {issue(app)[1]}"}
    api = app.test_client()
    resp = api.post(f"/api/v1/cases/{case_id}/decisions", json={"type": "return_filing", "reasons": "请补充借条照片。"},
                    headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    [first] = _filings(app, case_id)
    assert first["status"] == "returned" and first["reasons"].startswith("请补充借条照片。") and first["decided"]

    resident = make_web()
    resident.login("resident1")
    page = resident.get(f"/cases/{case_id}/filing").get_data(as_text=True)
    assert "请补充借条照片" in page
    resp = resident.post(f"/cases/{case_id}/filing", _filing_form(resident, case_id, court_id=_court_id(app, JINGHU)))
    assert resp.status_code == 302
    resp = api.post(f"/api/v1/cases/{case_id}/decisions",
                    json={"type": "accept_filing", "court_case_number": "(2026)皖0202民初7号"}, headers=headers)
    assert resp.status_code == 200
    assert [(f["seq"], f["status"], f["number"]) for f in _filings(app, case_id)] == [
        (1, "returned", None), (2, "accepted", "(2026)皖0202民初7号")]
