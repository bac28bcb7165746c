"""The application for arbitration (仲裁申请书) generated from the case, as PDF text."""
from __future__ import annotations

import hashlib
import subprocess

from tests.cases.test_funnel_journeys import file_dispute, step
from tests.escalation.test_arbitration_clause import signed_agreement


def pdf_text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def test_the_application_names_the_parties_claims_and_commission(app, demo, make_web):
    case_id, applicant, respondent = signed_agreement(app, make_web)
    assert step(applicant, case_id, "request_arbitration").status_code == 302
    resp = applicant.client.get(f"/cases/{case_id}/arbitration/application.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["X-Content-SHA256"] == hashlib.sha256(resp.data).hexdigest()  # as every case document
    text = "".join(pdf_text(resp.data).split())
    assert "仲裁申请书" in text and "劳动人事争议" not in text
    for expected in ("申请人", "王秀英", "13905531234", "被申请人", "李建国", "13905539876", "仲裁请求",
                     "8,000.00元", "事实与理由", "楼上卫生间漏水", "调解，未能达成调解协议", "双方当事人已签订书面仲裁协议",
                     "证据清单", "此致", "芜湖仲裁委员会"):
        assert expected in text, expected

    arbitrator = make_web()
    arbitrator.login("arbitrator2")
    inbox = arbitrator.get("/arbitration/inbox").get_data(as_text=True)
    assert f"/cases/{case_id}/arbitration/application.pdf" in inbox
    assert arbitrator.client.get(f"/cases/{case_id}/arbitration/application.pdf").status_code == 200
    other = make_web()
    other.login("arbitrator1")  # the labour commission's: not this case
    assert other.client.get(f"/cases/{case_id}/arbitration/application.pdf").status_code == 404


def test_a_labour_case_is_a_labour_arbitration_application(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "饭店拖欠两个月工资", "labour_wages", "我在饭店做厨师，老板拖欠两个月工资共9000元。",
                           amount="9000", desired_outcome="请求裁决饭店支付拖欠的工资9000元。")
    page = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f"/cases/{case_id}/arbitration/application.pdf" in page
    text = "".join(pdf_text(resident.client.get(f"/cases/{case_id}/arbitration/application.pdf").data).split())
    assert "劳动人事争议仲裁申请书" in text and "镜湖区劳动人事争议仲裁委员会" in text
    assert "请求裁决饭店支付拖欠的工资9000元" in text and "未能达成调解协议" not in text
