"""验证手机号 in a real browser on a phone: register with a number, land on the verification page, type a wrong code
(the message by the field), then the one from the text message; later change the number from the account page
(axe-checked at each step, screenshots test-artifacts/phone-*.png). No page shows a whole number."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import new_phone_page
from tests.e2e.walk_pages import add_axe, axe_violations

PASSWORD = "grey-heron-fishing-4"
FIRST, SECOND = "13611330001", "13611330002"


@pytest.fixture(autouse=True)
def fresh_send_limits(app):
    from app.extensions import limiter

    limiter.reset()
    yield


def _last_code(app, phone: str) -> str:
    from app.extensions import db
    from app.mediation.models import OutboxMessage

    with app.app_context():
        bodies = [m.body for m in db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms")
                                                     .order_by(OutboxMessage.id)) if m.to == phone]
        db.session.remove()
    return re.search(r"验证码 (\d{6})", [b for b in bodies if "解纷账号" in b][-1]).group(1)


def _no_whole_number(page) -> None:
    html = page.content()
    assert FIRST not in html and SECOND not in html


def test_a_new_resident_verifies_the_phone_and_later_changes_it(browser, live_server, app, demo, artifacts):
    context, page, problems = new_phone_page(browser, live_server)
    try:
        add_axe(context)
        page.goto("/register")
        page.fill("#username", "e2e_phone")
        page.fill("#display_name", "周芷若")
        page.fill("#phone", FIRST)
        page.fill("#password", PASSWORD)
        page.fill("#confirm", PASSWORD)
        page.get_by_role("button", name="注册").click()
        expect(page).to_have_url(re.compile(re.escape("/account/phone/verify") + "$"))
        expect(page.get_by_role("heading", name="验证手机号")).to_be_visible()
        expect(page.get_by_text("验证码已发送到 136****0001")).to_be_visible()
        assert axe_violations(page) == []
        _no_whole_number(page)
        page.screenshot(path=artifacts / "phone-verify-phone.png", full_page=True)

        code = _last_code(app, FIRST)
        page.fill("#code", f"{(int(code) + 1) % 10**6:06d}")
        page.get_by_role("button", name="验证", exact=True).click()
        assert page.locator("#code-error").inner_text() == "验证码不正确。"
        assert page.locator("#code").get_attribute("aria-invalid") == "true"
        assert axe_violations(page) == []
        page.screenshot(path=artifacts / "phone-verify-wrong-code-phone.png", full_page=True)

        page.fill("#code", code)
        page.get_by_role("button", name="验证", exact=True).click()
        expect(page).to_have_url(re.compile(re.escape("/account") + "$"))
        expect(page.get_by_text("手机号 136****0001 已验证。")).to_be_visible()
        expect(page.get_by_text("：已验证")).to_be_visible()

        page.get_by_role("link", name="手机号", exact=True).click()
        expect(page).to_have_url(re.compile(re.escape("/account/phone") + "$"))
        expect(page.get_by_text("已验证", exact=True)).to_be_visible()
        assert axe_violations(page) == []
        page.screenshot(path=artifacts / "phone-settings-phone.png", full_page=True)
        page.fill("#phone", SECOND)
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="发送验证码到新号码").click()
        expect(page).to_have_url(re.compile(re.escape("/account/phone/verify") + "$"))
        expect(page.get_by_role("heading", name="验证新手机号")).to_be_visible()
        expect(page.get_by_role("button", name="取消更换，继续使用原号码")).to_be_visible()
        assert axe_violations(page) == []
        _no_whole_number(page)
        page.screenshot(path=artifacts / "phone-verify-new-phone.png", full_page=True)

        page.fill("#code", _last_code(app, SECOND))
        page.get_by_role("button", name="验证", exact=True).click()
        expect(page.get_by_text("手机号已更换为 136****0002。")).to_be_visible()
        _no_whole_number(page)
        assert problems.all() == []
    finally:
        context.close()
