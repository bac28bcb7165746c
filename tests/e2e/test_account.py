"""The account pages in a real browser on a phone: logging out another device from the list of logins (axe-checked,
screenshots test-artifacts/account-*.png), and that device finding itself logged out."""
from __future__ import annotations

import re

from playwright.sync_api import expect

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
        expect(phone).to_have_url(re.compile(re.escape("/account/sessions") + "$"))
        expect(phone.get_by_text("本设备")).to_be_visible()
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
        expect(other).to_have_url(re.compile(re.escape("/login")))
        expect(other.get_by_text("已在您的另一台设备上退出")).to_be_visible()
    finally:
        ctx_a.close()
        ctx_b.close()


def test_a_forgotten_password_is_reset_with_the_code_from_the_text_message(browser, live_server, app, demo, artifacts):
    import re

    import sqlalchemy as sa

    from app.accounts.models import User
    from app.extensions import db
    from app.mediation.models import OutboxMessage

    with app.app_context():
        phone = db.session.scalar(sa.select(User).where(User.username == "resident2")).phone
    context, page, problems = new_phone_page(browser, live_server)
    try:
        add_axe(context)
        page.goto("/login")
        page.get_by_role("link", name="忘记密码？").click()
        page.fill("#username", "resident2")
        page.fill("#phone", phone)
        page.get_by_role("button", name="获取验证码").click()
        expect(page).to_have_url(re.compile(re.escape("/password/reset") + "$"))
        expect(page.get_by_text("验证码已发送到该手机")).to_be_visible()
        assert axe_violations(page) == []
        with app.app_context():
            body = [m.body for m in db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms"))
                    if m.to == phone][-1]
        page.fill("#code", re.search(r"验证码 (\d{6})", body).group(1))
        page.fill("#password", "grey-heron-fishing-4")
        page.fill("#confirm", "grey-heron-fishing-4")
        page.screenshot(path=artifacts / "account-reset-phone.png", full_page=True)
        page.get_by_role("button", name="设置新密码").click()
        expect(page).to_have_url(re.compile(re.escape("/login") + "$"))
        expect(page.get_by_text("密码已重设")).to_be_visible()
        log_in(page, "resident2", "grey-heron-fishing-4")
        assert problems.all() == []
    finally:
        context.close()
