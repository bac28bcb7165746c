"""A resident files a dispute in a real (phone-sized) browser: login, dashboard, the intake wizard (with a
suggested category and a validation error that keeps everything typed), the case page, back to the dashboard."""
from __future__ import annotations

import re
from decimal import Decimal

import sqlalchemy as sa
from playwright.sync_api import expect

TITLE = "楼上装修噪音和漏水影响生活（浏览器测试）"
DESCRIPTION = "楼上住户三月开始装修，每天早上七点就开始电钻施工，卫生间还漏水把我家天花板泡坏了，多次沟通无果。"
OUTCOME = "请对方修好防水层，赔偿天花板维修费用，并遵守施工时间。"
PARTIES = {  # field id -> value, all of which must survive a failed submission
    "region_code": "340202001001", "respondent1-name": "楼上住户赵某", "respondent1-region_code": "340202001001",
    "respondent1-address": "团结社区3栋502室",
}


def next_step(page, label="保存，下一步"):
    with page.expect_navigation():
        page.get_by_role("button", name=label, exact=True).click()


def test_resident_files_a_dispute(page, login, live_server, app, demo, artifacts, browser_problems):
    # Log in through the real form.
    assert page.goto("/login").status == 200
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    page.screenshot(path=artifacts / "filing-1-login.png", full_page=True)
    login("resident1")
    expect(page).to_have_url(re.compile(r"/my/cases$"))

    # Dashboard -> filing page.
    with page.expect_navigation():
        page.get_by_role("link", name="提交新纠纷").click()
    expect(page).to_have_url(re.compile(r"/cases/new$"))
    expect(page.get_by_role("heading", name="提交纠纷")).to_be_visible()

    # Step 1: what happened.
    page.fill("#title", TITLE)
    page.fill("#description", DESCRIPTION)
    page.fill("#desired_outcome", OUTCOME)
    page.fill("#learned_on", "2026-03-01")
    page.screenshot(path=artifacts / "filing-2-form-filled.png", full_page=True)
    next_step(page)
    expect(page).to_have_url(re.compile(r"/cases/\d+/intake/2$"))
    case_id = int(re.search(r"/cases/(\d+)/", page.url).group(1))

    # Step 2: a category is suggested and preselected (renovation work, from the words); the resident sees it
    # as a quarrel between neighbours and changes it.
    expect(page.get_by_text("系统建议：")).to_be_visible()
    assert page.locator("#category").input_value() != ""
    page.select_option("#category", "neighbour")
    page.fill("#amount", "2800")
    page.screenshot(path=artifacts / "filing-2b-category.png", full_page=True)
    next_step(page)

    # Step 3: parties, with an invalid respondent phone.
    for field_id, value in PARTIES.items():
        page.fill(f"#{field_id}", value)
    page.fill("#respondent1-phone", "12345")
    with page.expect_response(lambda r: r.request.method == "POST" and "/intake/3" in r.url) as posted:
        page.get_by_role("button", name="保存，下一步", exact=True).click()
    assert posted.value.status == 422
    page.wait_for_load_state()

    # The error is in Chinese, next to the phone field, and linked to it; nothing typed was lost.
    error = page.locator("#respondent1-phone-error")
    expect(error).to_have_text("请输入有效的 11 位手机号码，例如 13800138000。")
    expect(page.locator(".field.has-error #respondent1-phone-error")).to_have_count(1)
    phone = page.locator("#respondent1-phone")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_have_attribute("aria-describedby", "respondent1-phone-error")
    assert page.locator(".field.has-error").count() == 1, "only the phone should be marked as wrong"
    expect(page.locator("p.error")).to_have_count(1)  # and no stray text (e.g. the error dict's keys)
    expect(page.get_by_role("alert")).to_contain_text("您填写的内容都还在")
    for field_id, value in PARTIES.items():
        expect(page.locator(f"#{field_id}")).to_have_value(value)
    expect(phone).to_have_value("12345")
    phone.scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "filing-3-form-error.png", full_page=True)
    page.screenshot(path=artifacts / "filing-3b-form-error-viewport.png")

    # Correct the phone; skip evidence; confirm and submit: the case page with the preliminary assessment.
    phone.fill("13905531234")
    next_step(page)
    expect(page).to_have_url(re.compile(r"/intake/4$"))
    next_step(page, "上传并继续 / 下一步")
    expect(page.get_by_text("楼上住户赵某")).to_be_visible()
    page.check("#truthful")
    page.screenshot(path=artifacts / "filing-3c-review.png", full_page=True)
    next_step(page, "提交，查看评估")
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    assert int(page.url.rsplit("/", 1)[1]) == case_id
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(page.get_by_role("heading", name="初步评估")).to_be_visible()
    expect(page.get_by_text("纠纷已提交。")).to_be_visible()
    funnel = page.get_by_role("list", name="纠纷化解进度")
    assert funnel.get_by_role("listitem").count() >= 4, "the progress bar lists the funnel stages"
    expect(funnel.locator("li.current")).to_have_text("在线评估")
    page.screenshot(path=artifacts / "filing-4-case.png", full_page=True)

    # The dashboard lists it.
    assert page.goto("/my/cases").status == 200
    card = page.locator(f"#case-{case_id}")
    expect(card.get_by_role("link", name=TITLE)).to_be_visible()
    expect(card.locator(".funnel li.current")).to_have_text("在线评估")
    page.screenshot(path=artifacts / "filing-5-dashboard.png", full_page=True)

    assert browser_problems.all() == []

    # The stored row.
    from app.accounts.models import User
    from app.cases.models import Case, PartyRole
    from app.extensions import db

    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case is not None and case.title == TITLE
        assert case.filed_by == db.session.scalar(sa.select(User).where(User.username == "resident1"))
        assert (case.category, case.amount, case.region_code) == ("neighbour", Decimal("2800.00"), "340202001001")
        assert (case.description, case.desired_outcome) == (DESCRIPTION, OUTCOME)
        assert str(case.learned_on) == "2026-03-01"
        respondents = [p for p in case.parties if p.role == PartyRole.respondent]
        assert [(p.name, p.phone, p.address) for p in respondents] == [("楼上住户赵某", "13905531234", "团结社区3栋502室")]
        db.session.remove()
