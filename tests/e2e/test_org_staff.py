"""The organisation admin's account pages in a real browser on a phone (axe-checked at phone and desktop width,
screenshots test-artifacts/org-*.png): stopping a staff member with a reason, and a temporary password for a resident
at the counter, which the resident spends at once to choose a new password before anything else."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import log_in, new_phone_page
from tests.e2e.walk_pages import DESKTOP_SIZE, PHONE_SIZE, add_axe, axe_violations

NEW = "grey-heron-fishing-4"


def checked(page, artifacts, name: str) -> None:
    """No sideways scrolling on the phone; no serious axe finding at either width; a screenshot of each."""
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways on a phone: {widths}"
    for size_name, size in (("phone", PHONE_SIZE), ("desktop", DESKTOP_SIZE)):
        page.set_viewport_size(size)
        page.screenshot(path=artifacts / f"org-{name}-{size_name}.png", full_page=True)
        assert axe_violations(page) == [], f"{name} at {size_name} width"
    page.set_viewport_size(PHONE_SIZE)


def test_an_org_admin_stops_a_staff_member_with_a_reason(browser, live_server, demo, artifacts):
    context, page, problems = new_phone_page(browser, live_server)
    try:
        add_axe(context)
        log_in(page, "orgadmin1")
        page.get_by_role("link", name="何主任").click()
        page.get_by_role("link", name="本组织人员").click()
        expect(page).to_have_url(re.compile(re.escape("/org/staff") + "$"))
        expect(page.get_by_role("heading", name="本组织人员")).to_be_visible()
        checked(page, artifacts, "staff")
        page.get_by_text("管理 刘德明 的账号").click()
        card = page.locator("article.staff", has_text="刘德明")
        card.get_by_role("button", name="停用账号").click()  # no reason
        card = page.locator("article.staff", has_text="刘德明")
        assert card.locator(".error").inner_text() == "请填写原因，它会记入操作记录。"
        checked(page, artifacts, "staff-no-reason")
        card.get_by_role("textbox").fill("已调离本委员会")
        card.get_by_role("button", name="停用账号").click()
        expect(page.get_by_text("已停用 刘德明 的账号")).to_be_visible()
        expect(page.locator("article.staff", has_text="刘德明").get_by_text("已停用")).to_be_visible()
        expect(page.get_by_text("原因：已调离本委员会")).to_be_visible()
        assert problems.all() == []
    finally:
        context.close()


def test_a_resident_gets_a_temporary_password_at_the_counter_and_chooses_a_new_one(browser, live_server, demo,
                                                                                  artifacts):
    ctx_admin, admin, problems = new_phone_page(browser, live_server)
    ctx_resident, resident, resident_problems = new_phone_page(browser, live_server)
    try:
        add_axe(ctx_admin)
        add_axe(ctx_resident)
        log_in(admin, "orgadmin1")
        admin.goto("/account")
        admin.get_by_role("link", name="协助居民重设密码").click()
        admin.fill("#query", "resident2")
        admin.get_by_role("button", name="查找").click()
        expect(admin.get_by_text("找到 1 个账号")).to_be_visible()
        checked(admin, artifacts, "assisted-reset-find")
        admin.get_by_role("link", name="为 李建国 重设密码").click()
        admin.fill("#reason", "本人持身份证到场")
        admin.get_by_role("button", name="重设密码并生成临时密码").click()  # the ID check not ticked
        assert admin.locator("#id_checked-error").inner_text() == "请先当面核对身份证件，并勾选此项。"
        assert admin.input_value("#reason") == "本人持身份证到场"
        checked(admin, artifacts, "assisted-reset-confirm")
        admin.check("#id_checked")
        admin.get_by_role("button", name="重设密码并生成临时密码").click()
        temporary = admin.locator(".temporary-password code").inner_text()
        assert len(temporary) == 14 and temporary.count("-") == 2
        checked(admin, artifacts, "assisted-reset-done")

        log_in(resident, "resident2", temporary)
        expect(resident).to_have_url(re.compile(re.escape("/account/password/new") + "$"))
        resident.goto("/my/cases")
        assert resident.url.endswith("/account/password/new")  # nothing else before the new password
        checked(resident, artifacts, "choose-password")
        resident.fill("#password", NEW)
        resident.fill("#confirm", NEW)
        resident.get_by_role("button", name="设置新密码").click()
        expect(resident).to_have_url(re.compile(re.escape("/my/cases") + "$"))
        expect(resident.get_by_text("新密码已设置")).to_be_visible()
        assert problems.all() == [] and resident_problems.all() == []
    finally:
        ctx_admin.close()
        ctx_resident.close()
