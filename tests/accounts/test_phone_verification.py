"""验证手机号: a number typed at registration or on the account page is the account's only once the 6-digit code sent
to it by SMS is typed back (10 minutes, 5 tries, once; a newer code replaces the older; sends limited per account,
number and IP). A new number replaces the old one only when its code is confirmed; the old number is told by SMS,
the account in the app; account events and the security log record it. Never a whole number on a page."""
from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import AccountEvent, PhoneVerification, User
from app.extensions import db
from app.mediation.models import OutboxMessage

PASSWORD = "grey-heron-fishing-4"
FIRST, SECOND, THIRD = "13611220001", "13611220002", "13611220003"
CODE_RE = re.compile(r"验证码 (\d{6})")
EXPIRED = "验证码已失效"


@pytest.fixture(autouse=True)
def fresh_send_limits(app):
    """The send limits count in the limiter's storage (memory in tests, shared by the whole run): start empty."""
    from app.extensions import limiter

    limiter.reset()
    yield


@pytest.fixture()
def security_log(caplog):
    caplog.set_level(logging.INFO, logger="security")

    def read(event: str) -> list[dict[str, str]]:
        found = [dict(part.split("=", 1) for part in r.getMessage().split(" "))
                 for r in caplog.records if r.name == "security"]
        return [e for e in found if e["event"] == event]

    return read


def text(resp) -> str:
    return resp.get_data(as_text=True)


def error_by(html: str, field: str) -> str:
    m = re.search(rf'<p class="error" id="{field}-error"[^>]*>([^<]*)</p>', html)
    return m.group(1) if m else ""


def register(make_web, username: str, phone: str = FIRST, next_url: str | None = None):
    web = make_web()
    resp = web.post("/register" + (f"?next={next_url}" if next_url else ""),
                    {"username": username, "display_name": "周芷若", "phone": phone, "password": PASSWORD,
                     "confirm": PASSWORD}, page="/register")
    assert resp.status_code == 302, text(resp)[:1500]
    return web, resp


def sms_to(app, phone: str) -> list[str]:
    """Bodies of the SMS queued for this number, oldest first."""
    with app.app_context():
        bodies = [m.body for m in db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms")
                                                     .order_by(OutboxMessage.id)) if m.to == phone]
        db.session.remove()
    return bodies


def codes_to(app, phone: str) -> list[str]:
    return [CODE_RE.search(b).group(1) for b in sms_to(app, phone) if "解纷账号" in b and CODE_RE.search(b)]


def account(app, username: str) -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        db.session.expunge(user)
    return user


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def age_codes(app, minutes: int) -> None:
    with app.app_context():
        for row in db.session.scalars(sa.select(PhoneVerification)):
            row.created_at -= timedelta(minutes=minutes)
            row.expires_at -= timedelta(minutes=minutes)
        db.session.commit()
        db.session.remove()


def verify(web, code: str, next_url: str | None = None):
    url = "/account/phone/verify" + (f"?next={next_url}" if next_url else "")
    return web.post(url, {"code": code}, page=url)


def resend(web):
    return web.post("/account/phone/verify/send", page="/account/phone/verify")


def account_events(app) -> list[tuple]:
    with app.app_context():
        rows = [(e.actor.username, e.target.username, e.action, e.reason)
                for e in db.session.scalars(sa.select(AccountEvent).order_by(AccountEvent.id))]
        db.session.remove()
    return rows


# --- at registration ------------------------------------------------------------------------------------------------

def test_registration_asks_for_the_code_and_the_right_one_verifies_the_phone(app, make_web, security_log):
    web, resp = register(make_web, "zhiruo")
    assert resp.headers["Location"] == "/account/phone/verify"
    assert account(app, "zhiruo").phone_verified_at is None
    [code] = codes_to(app, FIRST)
    [body] = sms_to(app, FIRST)
    assert "验证解纷账号绑定的手机号" in body and "10 分钟内有效" in body
    with app.app_context():  # only an HMAC of the code is kept, and the number encrypted
        [row] = db.session.scalars(sa.select(PhoneVerification)).all()
        raw = db.session.execute(sa.text("SELECT phone, code_hmac FROM phone_verifications")).one()
        assert row.phone == FIRST and row.purpose == "verify" and FIRST not in raw.phone and code not in raw.code_hmac
        db.session.remove()

    page = web.get("/account/phone/verify")
    html = text(page)
    assert page.status_code == 200 and "<h1>验证手机号</h1>" in html and "注册成功" in html
    assert "验证码已发送到 136****0001，10 分钟内有效。" in html and 'name="code"' in html
    assert "重新发送验证码" in html and "以后再验证" in html and FIRST not in html

    done = verify(web, code)
    assert done.status_code == 302 and done.headers["Location"] == "/account"
    page = text(web.get("/account"))
    assert "手机号 136****0001 已验证。" in page and "：已验证" in page and FIRST not in page
    user = account(app, "zhiruo")
    assert user.phone == FIRST and user.phone_verified_at is not None
    assert account_events(app) == [("zhiruo", "zhiruo", "phone_verified", "本人输入了发到该号码的短信验证码")]
    from app.accounts.admin_ops import verify_chain

    with app.app_context():
        assert verify_chain() == (1, None)
    assert [e["user_id"] for e in security_log("phone_verified")] == [str(user.id)]
    assert security_log("phone_code_sent")[0]["purpose"] == "verify"
    # Nothing left to verify: the page goes back to the account's phone page.
    assert web.get("/account/phone/verify").headers["Location"] == "/account/phone"


def test_the_code_may_be_typed_with_full_width_digits_and_spaces(app, make_web):
    web, _ = register(make_web, "fullwidth")
    code = codes_to(app, FIRST)[0]
    typed = code[:3].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + " " + code[3:]
    assert verify(web, typed).status_code == 302
    assert account(app, "fullwidth").phone_verified_at is not None


def test_registration_works_when_verification_is_skipped_and_the_phone_stays_unverified(app, make_web):
    web, resp = register(make_web, "skipper", next_url="/my/cases")
    assert resp.headers["Location"] == "/account/phone/verify?next=/my/cases"
    html = text(web.get(resp.headers["Location"]))
    assert 'href="/my/cases">以后再验证</a>' in html
    assert web.get("/my/cases").status_code == 200  # logged in, working
    page = text(web.get("/account"))
    assert "：未验证" in page and 'href="/account/phone"' in page
    phone_page = text(web.get("/account/phone"))
    assert "136****0001" in phone_page and "未验证" in phone_page and 'href="/account/phone/verify"' in phone_page
    assert FIRST not in phone_page
    # Later, from the account page: the code sent at registration still works within its 10 minutes.
    assert verify(web, codes_to(app, FIRST)[0]).status_code == 302
    assert account(app, "skipper").phone_verified_at is not None


def test_registration_without_a_phone_goes_on_as_before(app, make_web):
    web, resp = register(make_web, "nophone", phone="")
    assert resp.headers["Location"] == "/dashboard"
    assert web.get("/account/phone/verify").headers["Location"] == "/account/phone"
    assert "账号还没有绑定手机号" in text(web.get("/account/phone"))


def test_a_wrong_code_is_said_next_to_the_field_and_five_end_the_code(app, make_web, security_log):
    web, _ = register(make_web, "typo")
    code = codes_to(app, FIRST)[0]
    resp = verify(web, "12ab")
    assert resp.status_code == 422 and error_by(text(resp), "code") == "验证码是 6 位数字。"
    for attempt in range(1, 6):
        resp = verify(web, wrong(code))
        html = text(resp)
        assert resp.status_code == 422 and 'aria-invalid="true"' in html
        assert (EXPIRED if attempt == 5 else "验证码不正确。") in error_by(html, "code")
    resp = verify(web, code)  # five wrong tries ended it, even for the right one
    assert resp.status_code == 422 and EXPIRED in error_by(text(resp), "code")
    assert account(app, "typo").phone_verified_at is None
    failed = security_log("phone_code_failed")
    assert [(e["reason"], e["tries"]) for e in failed] == [("wrong_code", str(n)) for n in range(1, 5)] + [
        ("expired", "5"), ("expired", "5")]
    assert "向 136****0001 发送验证码" in text(web.get("/account/phone/verify"))  # the way on: a new code


def test_an_expired_code_is_refused_and_a_new_one_replaces_the_old(app, make_web):
    web, _ = register(make_web, "latecomer")
    first = codes_to(app, FIRST)[0]
    age_codes(app, 9)
    assert "验证码不正确" in error_by(text(verify(web, wrong(first))), "code")  # still alive at 9 minutes
    age_codes(app, 2)
    resp = verify(web, first)
    assert resp.status_code == 422 and EXPIRED in error_by(text(resp), "code")

    sent = resend(web)
    assert sent.status_code == 302 and sent.headers["Location"] == "/account/phone/verify"
    assert "验证码已发送到 136****0001" in text(web.get("/account/phone/verify"))
    resend(web)
    second, third = codes_to(app, FIRST)[1:]
    if second != third:  # one in a million they are equal; an older code is no longer the one to type
        assert "验证码不正确" in error_by(text(verify(web, second)), "code")
    assert verify(web, third).status_code == 302
    assert account(app, "latecomer").phone_verified_at is not None


def test_a_used_code_proves_nothing_again(app, make_web):
    web, _ = register(make_web, "onceonly")
    code = codes_to(app, FIRST)[0]
    assert verify(web, code).status_code == 302
    again = verify(web, code)
    assert again.status_code == 302 and again.headers["Location"] == "/account/phone"  # nothing waits for a code

    from app.accounts import phone
    from app.core import sms_codes

    with app.app_context():  # the row itself: a code works once
        row = db.session.scalar(sa.select(PhoneVerification))
        assert row.used_at is not None
        assert sms_codes.check(row, phone._subject(row), code) is sms_codes.Outcome.no_longer_valid
        db.session.rollback()
        db.session.remove()


def test_resending_is_limited_per_account_and_per_number(app, make_web, security_log):
    web, _ = register(make_web, "impatient")  # the registration's code is the first of five an hour
    for _ in range(4):
        assert resend(web).status_code == 302
    refused = resend(web)
    html = text(refused)
    assert refused.status_code == 429
    assert error_by(html, "send-code") == "验证码发送次数过多，请 60 分钟后再试。"
    assert len(codes_to(app, FIRST)) == 5 and FIRST not in html
    assert security_log("rate_limited")[-1]["scope"] == "phone-code-account"

    # Another account with the same number (anyone can type it) gets no more codes sent to it: not an SMS pump.
    other, resp = register(make_web, "copycat")
    assert resp.headers["Location"] == "/account/phone/verify"
    assert "验证码发送次数过多" in text(other.get("/account/phone/verify"))
    assert resend(other).status_code == 429
    assert len(codes_to(app, FIRST)) == 5
    assert security_log("rate_limited")[-1]["scope"] == "phone-code-number"
    # The codes already sent still work.
    assert verify(web, codes_to(app, FIRST)[-1]).status_code == 302


# --- changing the number ---------------------------------------------------------------------------------------------

def _verified(app, make_web, username: str):
    web, _ = register(make_web, username)
    assert verify(web, codes_to(app, FIRST)[-1]).status_code == 302
    return web


def change(web, phone: str, password: str = PASSWORD):
    return web.post("/account/phone", {"phone": phone, "password": password}, page="/account/phone")


def test_a_new_number_takes_effect_only_when_its_code_is_typed_and_the_old_number_is_told(app, make_web,
                                                                                           security_log):
    web = _verified(app, make_web, "mover")
    page = text(web.get("/account/phone"))
    assert "账号绑定的手机号：136****0001" in page and "已验证" in page and "更换手机号" in page

    same = change(web, FIRST)
    assert same.status_code == 422 and error_by(text(same), "phone") == "这就是账号现在绑定的号码。"
    bad = change(web, SECOND, "not-my-password")
    assert bad.status_code == 422 and error_by(text(bad), "password") == "登录密码不正确。"
    assert security_log("reauth_failed") and codes_to(app, SECOND) == []

    sent = change(web, SECOND)
    assert sent.status_code == 302 and sent.headers["Location"] == "/account/phone/verify"
    [code] = codes_to(app, SECOND)
    assert "更换为本号码" in sms_to(app, SECOND)[0]
    user = account(app, "mover")
    assert user.phone == FIRST and user.phone_verified_at is not None  # nothing changed yet
    html = text(web.get("/account/phone/verify"))
    assert "<h1>验证新手机号</h1>" in html and "136****0002" in html and "取消更换" in html
    assert SECOND not in html and FIRST not in html
    assert "正在更换为 136****0002" in text(web.get("/account"))

    resp = verify(web, wrong(code))
    assert resp.status_code == 422 and "验证码不正确" in error_by(text(resp), "code")
    assert account(app, "mover").phone == FIRST

    done = verify(web, code)
    assert done.status_code == 302 and done.headers["Location"] == "/account"
    assert "手机号已更换为 136****0002。" in text(web.get("/account"))
    user = account(app, "mover")
    assert user.phone == SECOND and user.phone_verified_at is not None
    told = [b for b in sms_to(app, FIRST) if "更换为其他号码" in b]
    assert len(told) == 1 and SECOND not in told[0] and "12348" in told[0]  # the old number, not told the new one
    inbox = text(web.get("/notifications"))
    assert "账号手机号已更换" in inbox and "由 136****0001 更换为 136****0002" in inbox
    assert FIRST not in inbox and SECOND not in inbox
    assert [e[2] for e in account_events(app)] == ["phone_verified", "phone_changed"]
    from app.accounts.admin_ops import verify_chain

    with app.app_context():
        assert verify_chain() == (2, None)
    assert [e["user_id"] for e in security_log("phone_changed")] == [str(user.id)]
    assert [e["purpose"] for e in security_log("phone_code_sent")] == ["verify", "change"]
    # The new number is the one that recovers the account now.
    assert make_web().post("/password/forgot", {"username": "mover", "phone": SECOND},
                           page="/password/forgot").status_code == 302
    assert any("重设登录密码" in b for b in sms_to(app, SECOND))


def test_a_change_can_be_cancelled_and_its_code_then_changes_nothing(app, make_web):
    web = _verified(app, make_web, "hesitant")
    assert change(web, SECOND).status_code == 302
    code = codes_to(app, SECOND)[0]
    page = text(web.get("/account/phone"))
    assert "正在更换为 136****0002" in page
    cancelled = web.post("/account/phone/cancel", page="/account/phone")
    assert cancelled.status_code == 302 and "已取消更换手机号" in text(web.get("/account/phone"))
    assert verify(web, code).status_code == 302  # nothing waits for a code: back to the phone page
    user = account(app, "hesitant")
    assert user.phone == FIRST and user.phone_verified_at is not None
    assert [b for b in sms_to(app, FIRST) if "更换为其他号码" in b] == []


def test_a_newer_change_replaces_the_older_and_adding_a_first_number_works_too(app, make_web):
    web, _ = register(make_web, "latephone", phone="")
    assert change(web, SECOND).status_code == 302
    assert change(web, THIRD).status_code == 302
    old, new = codes_to(app, SECOND)[0], codes_to(app, THIRD)[0]
    assert "136****0003" in text(web.get("/account/phone/verify"))
    if old != new:
        assert "验证码不正确" in error_by(text(verify(web, old)), "code")
    assert verify(web, new).status_code == 302
    user = account(app, "latephone")
    assert user.phone == THIRD and user.phone_verified_at is not None
    assert "已于" in text(web.get("/notifications")) and "绑定手机号 136****0003" in text(web.get("/notifications"))


def test_the_password_limit_covers_the_change_form(app, make_web):
    web = _verified(app, make_web, "guesser")
    for _ in range(5):
        assert change(web, SECOND, "wrong-password").status_code == 422
    locked = change(web, SECOND)
    assert locked.status_code == 429 and "已暂时锁定" in error_by(text(locked), "password")
    assert codes_to(app, SECOND) == []


def test_verifying_a_number_takes_it_from_another_account_that_had_verified_it(app, make_web):
    first = _verified(app, make_web, "oldholder")
    newcomer, _ = register(make_web, "newholder")  # the carrier gave the number to someone else
    assert verify(newcomer, codes_to(app, FIRST)[-1]).status_code == 302
    assert account(app, "newholder").phone_verified_at is not None
    assert account(app, "oldholder").phone_verified_at is None
    assert "手机号已被另一个账号验证" in text(first.get("/notifications"))


def test_any_other_number_set_on_an_account_is_unverified(app, make_web):
    """phone_verified_at follows phone (accounts.models), whatever code sets the number."""
    web, _ = register(make_web, "follower")
    assert verify(web, codes_to(app, FIRST)[0]).status_code == 302
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "follower"))
        user.phone = FIRST  # the same number again: still proven
        assert user.phone_verified_at is not None and user.phone_verified
        user.phone = SECOND
        assert user.phone_verified_at is None and not user.phone_verified
        db.session.rollback()
        db.session.remove()


def test_existing_accounts_are_unverified_after_the_migration(app, tmp_path):
    from flask_migrate import downgrade, upgrade

    from app.demo import seed_demo
    from tests.conftest import scratch_app

    with scratch_app(tmp_path, "phoneverify") as scratch, scratch.app_context():
        upgrade()
        seed_demo("jiefen-demo")
        db.session.commit()
        db.session.remove()
        downgrade(revision="f5f81dc50d28")
        upgrade()
        rows = db.session.execute(sa.text("SELECT phone, phone_verified_at FROM users")).all()
        assert rows and all(r.phone_verified_at is None for r in rows)
        db.session.remove()
