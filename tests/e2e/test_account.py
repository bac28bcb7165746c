"""The account pages in a real browser on a phone: logging out another device from the list of logins (axe-checked,
screenshots test-artifacts/account-*.png), and that device finding itself logged out."""
from __future__ import annotations

from tests.e2e.conftest import DEMO_PASSWORD, log_in, new_phone_page
from tests.e2e.walk_pages import add_axe, axe_violations


def test_a_resident_logs_out_another_device_from_the_phone(browser, live_server, demo, artifacts):
    ctx_a, phone, problems = new_phone_page(browser, live_server)
    ctx_b, other, _ = new_phone_page(browser, live_server)
    try:
        add_axe(ctx_a)
        log_in(other, "resident2")
        log_in(phone, "resident2")
        phone.get_by_role("link", name="李建国").click()  # the name in the nav leads to the account page
        phone.get_by_role("link", name="登录设备").click()
        assert phone.url.endswith("/account/sessions")
        assert phone.get_by_text("本设备").is_visible()
        assert axe_violations(phone) == []
        phone.screenshot(path=artifacts / "account-devices-phone.png", full_page=True)

        phone.get_by_role("button", name="退出所选设备").click()  # nothing chosen, no password
        assert phone.locator("#sessions-error").inner_text() == "请选择要退出的设备。"
        phone.locator('input[name="sessions"]').first.check()
        phone.fill("#password", DEMO_PASSWORD)
        phone.get_by_role("button", name="退出所选设备").click()
        assert "已退出 1 台设备上的登录" in phone.content() and "没有其他设备登录您的账号" in phone.content()
        phone.screenshot(path=artifacts / "account-devices-done-phone.png", full_page=True)
        assert problems.all() == []

        other.goto("/my/cases")
        assert "/login" in other.url and other.get_by_text("已在您的另一台设备上退出").is_visible()
    finally:
        ctx_a.close()
        ctx_b.close()
