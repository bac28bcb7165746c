"""Going to court on a phone after mediation failed: the resident files from the case page (fee estimate, place
of performance -> two competent courts, a missing 诉讼请求 shown next to the field with everything else kept), the
court's clerk (her own browser) reads the package and returns it with reasons, the resident resubmits, the clerk
accepts with a case number (a malformed one first), and the resident downloads the 民事起诉状."""
from __future__ import annotations

import io
import re
import subprocess

import sqlalchemy as sa
from playwright.sync_api import expect

from app.escalation.models import CourtFiling
from app.extensions import db
from tests.e2e.conftest import DEMO_PASSWORD, new_phone_page
from tests.escalation.test_litigation import JINGHU, YIJIANG, failed_mediation

FACTS = ("2024年3月1日原告借给被告人民币五万元，约定2024年12月31日前归还，有借条和转账记录为证。"
         "到期后原告多次催要，被告拒不归还，经团结社区人民调解委员会调解未成。")
CLAIMS = "判令被告偿还借款本金人民币50,000元；\n本案诉讼费用由被告承担。"
FIXED_CLAIMS = "判令被告偿还借款本金人民币50,000元；\n判令被告支付自2025年1月1日起的逾期利息；\n本案诉讼费用由被告承担。"
REASONS = "请补充被告的身份证号码。"
CASE_NUMBER = "(2026)皖0202民初456号"


def shot(page, artifacts, name):
    page.screenshot(path=artifacts / f"court-filing-{name}.png", full_page=True)


def submit(page, button, status=None):
    """Click a submit button and wait for the page it leads to; with status, check the answer to the POST (a form
    with errors comes back as 422, a refresh as 200, on the same URL)."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=button, exact=True).click()
    if status is not None:
        assert navigation.value is not None and navigation.value.status == status
        assert navigation.value.request.method == "POST"


def clerk_page(browser, live_server):
    """court1 (镜湖 court) on a phone of her own: a second browser context, with its own problem log."""
    context, page, problems = new_phone_page(browser, live_server)
    page.goto("/login")
    page.fill("#username", "court1")
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()
    assert "/login" not in page.url
    return context, page, problems


def court_label(page, name):
    return page.locator("label.check", has=page.locator("input[name=court_id]"), has_text=name)


def resident_files(page, artifacts, case_id):
    """Case page -> filing page; refresh the courts for the place of performance; a failed then a good submit."""
    assert page.goto(f"/cases/{case_id}").status == 200
    shot(page, artifacts, "1-case-failed-mediation")
    with page.expect_navigation():
        page.get_by_role("link", name="向法院起诉", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/cases/{case_id}/filing$"))
    expect(page.get_by_text("案件受理费约 1,050 元")).to_be_visible()  # 诉讼费用交纳办法 art. 13 on 50,000 yuan
    expect(court_label(page, JINGHU)).to_have_count(1)
    expect(court_label(page, YIJIANG)).to_have_count(0)  # only the defendant's domicile so far
    shot(page, artifacts, "2-filing-form")

    page.fill("#performance_region_code", "340203")
    submit(page, "更新可选法院", status=200)
    expect(page.locator("input[name=court_id]")).to_have_count(2)
    expect(court_label(page, JINGHU)).to_contain_text("被告住所地")
    expect(court_label(page, YIJIANG)).to_contain_text("合同履行地")
    expect(page.locator("#performance_region_code")).to_have_value("340203")
    court_label(page, JINGHU).locator("input").check()
    page.fill("#claims", "")
    page.fill("#facts", FACTS)
    shot(page, artifacts, "3-two-courts")

    submit(page, "提交起诉材料", status=422)
    error = page.locator(".field.has-error #claims-error")
    expect(error).to_contain_text("请填写诉讼请求")
    expect(page.locator("#claims")).to_have_attribute("aria-describedby", "claims-error")
    assert page.locator(".field.has-error").count() == 1, "only the claims should be marked as wrong"
    expect(page.get_by_role("alert")).to_contain_text("您填写的内容都还在")
    expect(page.locator("#facts")).to_have_value(FACTS)
    expect(page.locator("#performance_region_code")).to_have_value("340203")
    expect(court_label(page, JINGHU).locator("input")).to_be_checked()
    page.locator("#claims").scroll_into_view_if_needed()
    shot(page, artifacts, "4-claims-missing")
    page.screenshot(path=artifacts / "court-filing-4b-claims-missing-viewport.png")

    page.fill("#claims", CLAIMS)
    submit(page, "提交起诉材料")
    expect(page).to_have_url(re.compile(rf"/cases/{case_id}$"))
    panel = page.locator("#filing")
    expect(panel).to_contain_text("第 1 次提交")
    expect(panel).to_contain_text(JINGHU)
    expect(panel).to_contain_text("等待法院审查立案")
    shot(page, artifacts, "5-case-filed")


def clerk_returns(clerk, artifacts, case_id):
    assert clerk.goto("/court/inbox").status == 200
    card = clerk.locator(f"#case-{case_id}")
    expect(card).to_contain_text("借款五万元到期不还")
    shot(clerk, artifacts, "6-court-inbox")
    with clerk.expect_navigation():
        card.get_by_role("link", name="审查起诉材料").click()
    expect(clerk).to_have_url(re.compile(rf"/cases/{case_id}/filing/package$"))
    expect(clerk.get_by_role("link", name="下载民事起诉状（PDF）")).to_have_attribute(
        "href", f"/cases/{case_id}/filing/complaint.pdf")
    expect(clerk.get_by_role("heading", name="调解不成的说明")).to_be_visible()
    expect(clerk.get_by_text("调解未成的原因：被申请人拒绝任何还款计划。")).to_be_visible()
    expect(clerk.get_by_role("link", name="借条.pdf")).to_be_visible()
    expect(clerk.locator("ol.timeline")).to_contain_text("记录调解未成")
    expect(clerk.get_by_text("判令被告偿还借款本金人民币50,000元；")).to_be_visible()
    shot(clerk, artifacts, "7-court-package")
    clerk.fill("#reason", REASONS)
    submit(clerk, "退回补正")
    expect(clerk.locator("dl.facts")).to_contain_text("已退回补正")


def resident_resubmits(page, artifacts, case_id):
    assert page.goto(f"/cases/{case_id}").status == 200
    panel = page.locator("#filing")
    expect(panel).to_contain_text(REASONS)
    shot(page, artifacts, "8-case-returned")
    with page.expect_navigation():
        panel.get_by_role("link", name="补正后重新提交").click()
    expect(page).to_have_url(re.compile(rf"/cases/{case_id}/filing$"))
    reasons = page.locator("#return-reasons")
    expect(reasons).to_contain_text(REASONS)
    assert reasons.bounding_box()["y"] < page.locator("#claims").bounding_box()["y"], "the reasons come first"
    expect(page.locator("#claims")).to_have_value(CLAIMS)  # the last submission, to correct
    expect(court_label(page, JINGHU).locator("input")).to_be_checked()
    page.fill("#claims", FIXED_CLAIMS)
    shot(page, artifacts, "9-resubmit-form")
    submit(page, "补正后重新提交")
    expect(page).to_have_url(re.compile(rf"/cases/{case_id}$"))
    expect(page.locator("#filing")).to_contain_text("第 2 次提交")
    expect(page.locator("#filing")).to_contain_text("等待法院审查立案")


def clerk_accepts(clerk, artifacts, case_id):
    assert clerk.goto(f"/cases/{case_id}/filing/package").status == 200
    expect(clerk.locator("details")).to_contain_text(f"退回理由：{REASONS}")  # the earlier submission
    clerk.fill("#court_case_number", "123")
    submit(clerk, "立案受理", status=422)
    field = clerk.locator(".field.has-error", has=clerk.locator("#court_case_number"))
    expect(field.locator("p.error")).to_contain_text("案号格式不正确")
    expect(clerk.locator("#court_case_number")).to_have_value("123")
    clerk.locator("#court_case_number").scroll_into_view_if_needed()
    shot(clerk, artifacts, "10-bad-case-number")
    clerk.fill("#court_case_number", CASE_NUMBER)
    submit(clerk, "立案受理")
    expect(clerk.locator("dl.facts")).to_contain_text(f"已立案，案号 {CASE_NUMBER}")
    shot(clerk, artifacts, "11-court-accepted")


def test_filing_with_a_court_returned_resubmitted_accepted(app, demo, make_web, browser, live_server, page, login,
                                                           artifacts, browser_problems, tmp_path):
    case_id, resident_client = failed_mediation(app, make_web)
    assert resident_client.post(f"/cases/{case_id}/evidence", {"file": (io.BytesIO(b"%PDF-1.4 loan note"), "借条.pdf")},
                                page=f"/cases/{case_id}").status_code == 302
    login("resident1")
    resident_files(page, artifacts, case_id)

    context, clerk, clerk_problems = clerk_page(browser, live_server)
    try:
        clerk_returns(clerk, artifacts, case_id)
        resident_resubmits(page, artifacts, case_id)
        clerk_accepts(clerk, artifacts, case_id)
    finally:
        context.close()

    assert page.goto(f"/cases/{case_id}").status == 200
    expect(page.locator("#filing")).to_contain_text(f"法院已立案，案号：{CASE_NUMBER}")
    expect(page.locator("dd.court-number")).to_have_text(CASE_NUMBER)
    shot(page, artifacts, "12-case-accepted")

    with page.expect_download() as download:
        page.locator("#filing").get_by_role("link", name="民事起诉状（PDF）").click()
    pdf = tmp_path / "complaint.pdf"
    download.value.save_as(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s+", "", text)
    assert "民事起诉状" in flat and JINGHU in flat and "李建国" in flat
    assert "逾期利息" in flat  # the corrected claims of the second submission

    with app.app_context():
        rows = db.session.scalars(sa.select(CourtFiling).where(CourtFiling.case_id == case_id)
                                  .order_by(CourtFiling.seq)).all()
        assert [(f.seq, f.status, f.court.name) for f in rows] == [(1, "returned", JINGHU), (2, "accepted", JINGHU)]
        assert rows[0].reasons == REASONS and rows[1].court_case_number == CASE_NUMBER
        assert rows[1].performance_region_code == "340203"
        # Browsers send a textarea's line breaks as CRLF (HTML form submission); the lines are what matter.
        assert rows[1].claims.splitlines() == FIXED_CLAIMS.splitlines()
        db.session.remove()

    assert browser_problems.all() == []
    assert clerk_problems.all() == []
