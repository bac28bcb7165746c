"""A second factor at login (ASVS 5.0 6.3.3): enrol with the QR code's secret, log in with password then code,
a replayed or wrong code refused (and counted), removal with password and code, roles that must enrol first, and
the administrator's reset."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import sqlalchemy as sa

from app.accounts.models import TotpFactor, User, UserSession
from app.extensions import db

PASSWORD = "grey-heron-fishing-4"
SECRET_RE = re.compile(r'<code class="secret">([A-Z2-7]+)</code>')


def text(resp) -> str:
    return resp.get_data(as_text=True)


def register(make_web, username: str):
    web = make_web()
    resp = web.post("/register", {"username": username, "display_name": "两步", "password": PASSWORD,
                                  "confirm": PASSWORD}, page="/register")
    assert resp.status_code == 302
    return web


def code(secret: str, seconds: int = 0) -> str:
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=seconds))


CODES_RE = re.compile(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4})</code></li>")


def enrol(web, with_codes: bool = False):
    page = text(web.get("/account/mfa"))
    assert 'src="data:image/svg+xml' in page
    secret = SECRET_RE.search(page).group(1)
    done = web.post("/account/mfa", {"code": code(secret)})
    assert done.status_code == 200 and "请保存这 10 个恢复码" in text(done) and "两步验证已开启" in text(done)
    codes = CODES_RE.findall(text(done))
    assert len(set(codes)) == 10
    return (secret, codes) if with_codes else secret


def password_step(web, username: str):
    return web.post("/login", {"username": username, "password": PASSWORD}, page="/login")


def test_enrol_then_log_in_with_password_and_code(app, demo, make_web):
    web = register(make_web, "mfa_user1")
    assert 'href="/account/mfa"' in text(web.get("/account"))
    wrong_first = web.post("/account/mfa", {"code": "000000"}, page="/account/mfa")
    assert wrong_first.status_code == 422 and 'id="code-error">验证码不正确' in text(wrong_first)
    secret = enrol(web)
    assert "两步验证</a>：已开启" in text(web.get("/account"))
    with app.app_context():
        row = db.session.scalar(sa.select(TotpFactor).join(User).where(User.username == "mfa_user1"))
        raw = db.session.execute(sa.text("SELECT secret FROM totp_factors WHERE user_id = :u"),
                                 {"u": row.user_id}).scalar()
        assert row.confirmed_at and row.secret == secret and secret not in raw  # encrypted at rest

    browser = make_web()
    first = password_step(browser, "mfa_user1")
    assert first.status_code == 302 and first.headers["Location"].startswith("/login/code")
    assert browser.get("/my/cases").status_code == 302  # no session yet: the password alone is not enough
    with app.app_context():
        sessions = db.session.scalar(sa.select(sa.func.count()).select_from(UserSession).where(
            UserSession.user_id == row.user_id, UserSession.ended_at.is_(None)))
    assert sessions == 1  # only the enrolling browser's
    bad = browser.post("/login/code", {"code": "123 456" if code(secret) != "123456" else "654321"},
                       page="/login/code")
    assert bad.status_code == 422 and 'id="code-error">验证码不正确或已经用过' in text(bad)
    good = browser.post("/login/code", {"code": code(secret, 30)})  # the next step: a slow clock is allowed
    assert good.status_code == 302 and browser.get("/my/cases").status_code == 200

    replay = make_web()
    password_step(replay, "mfa_user1")
    again = replay.post("/login/code", {"code": code(secret, 30)}, page="/login/code")  # the same code again
    assert again.status_code == 422 and replay.get("/my/cases").status_code == 302


def test_wrong_codes_count_against_the_account_and_the_code_step_expires(app, demo, make_web):
    web = register(make_web, "mfa_user2")
    secret = enrol(web)
    browser = make_web()
    password_step(browser, "mfa_user2")
    statuses = [browser.post("/login/code", {"code": f"{n:06d}"}, page="/login/code").status_code
                for n in range(1, 7) if f"{n:06d}" != code(secret)][:6]
    assert statuses[:5] == [422] * 5 and statuses[5] == 429
    locked = browser.post("/login/code", {"code": code(secret)}, page="/login/code")
    assert locked.status_code == 429 and 'id="code-error">该账号密码错误次数过多' in text(locked)
    assert "手机丢失或更换？输入一个开启时保存的恢复码" in text(locked)  # the login's code step, again
    with browser.client.session_transaction() as state:  # five minutes after the password, the step is over
        state["mfa_pending"] = {**state["mfa_pending"], "at": state["mfa_pending"]["at"] - 301}
    late = browser.get("/login/code")
    assert late.status_code == 302 and late.headers["Location"].startswith("/login")
    assert "请重新输入用户名和密码" in text(browser.get(late.headers["Location"]))


def test_removing_needs_the_password_and_a_code_and_the_admin_can_reset(app, demo, make_web):
    web = register(make_web, "mfa_user3")
    secret = enrol(web)
    wrong = web.post("/account/mfa", {"password": "not-the-password", "code": code(secret, 30)}, page="/account/mfa")
    assert wrong.status_code == 422 and 'id="password-error">登录密码不正确' in text(wrong)
    ok = web.post("/account/mfa", {"password": PASSWORD, "code": code(secret, 30)}, page="/account/mfa")
    assert ok.status_code == 302
    browser = make_web()
    assert password_step(browser, "mfa_user3").headers["Location"] == "/dashboard"  # password alone again
    secret = enrol(web)
    out = app.test_cli_runner().invoke(args=["users", "reset-mfa", "mfa_user3", "--reason", "手机丢失，本人来电核实"])
    assert "second factor removed" in out.output
    assert password_step(make_web(), "mfa_user3").headers["Location"] == "/dashboard"


def test_a_role_that_must_use_a_second_factor_enrols_before_anything_else(app, demo, make_web):
    app.config["MFA_REQUIRED_ROLES"] = "mediator,admin"
    try:
        web = make_web()
        first = web.post("/login", {"username": "mediator3", "password": "jiefen-demo"}, page="/login")
        assert first.status_code == 302 and first.headers["Location"] == "/account/mfa"
        blocked = web.get("/mediator/inbox")
        assert blocked.status_code == 302 and blocked.headers["Location"] == "/account/mfa"
        assert "您的账号需要开启两步验证" in text(web.get("/account/mfa"))
        secret = enrol(web)
        assert web.get("/mediator/inbox").status_code == 200
        cannot = web.post("/account/mfa", {"password": "jiefen-demo", "code": code(secret, 30)}, page="/account/mfa")
        assert cannot.status_code == 422 and "必须使用两步验证" in text(cannot)
        resident = make_web()
        resident.login("resident1")  # not a listed role: the password is enough
        assert resident.get("/my/cases").status_code == 200
    finally:
        app.config["MFA_REQUIRED_ROLES"] = ""


def test_a_recovery_code_logs_in_once_when_the_phone_is_lost(app, demo, make_web):
    from app.accounts.models import MfaRecoveryCode

    web = register(make_web, "mfa_user4")
    _secret, codes = enrol(web, with_codes=True)
    with app.app_context():
        hashes = db.session.scalars(sa.select(MfaRecoveryCode.code_hash)).all()
        assert len(hashes) >= 10 and not any(c in h for c in codes for h in hashes)  # only hashes are kept
    browser = make_web()
    password_step(browser, "mfa_user4")
    used = browser.post("/login/code", {"code": codes[3].upper()}, page="/login/code",  # as read off paper
                        follow_redirects=True)
    assert used.status_code == 200 and "还剩 9 个" in text(used) and browser.get("/my/cases").status_code == 200
    again = make_web()
    password_step(again, "mfa_user4")
    spent = again.post("/login/code", {"code": codes[3]}, page="/login/code")
    assert spent.status_code == 422 and again.get("/my/cases").status_code == 302
    other = again.post("/login/code", {"code": codes[4]})
    assert other.status_code == 302


LOCKED = 'id="code-error">该账号密码错误次数过多，已暂时锁定，请 1 分钟后再试。'


def test_a_lock_out_while_removing_shows_the_removal_page_with_the_code_kept(app, demo, make_web):
    web = register(make_web, "mfa_user5")
    secret = enrol(web)
    for _ in range(5):
        wrong = web.post("/account/mfa", {"password": "not-the-password", "code": "123456"}, page="/account/mfa")
        assert wrong.status_code == 422 and 'id="password-error">登录密码不正确' in text(wrong)
    typed = code(secret, 30)
    locked = web.post("/account/mfa", {"password": PASSWORD, "code": typed}, page="/account/mfa")
    page = text(locked)
    assert locked.status_code == 429 and LOCKED in page
    assert "<h2>关闭两步验证</h2>" in page and 'name="password"' in page      # the removal form, not /login/code
    assert "恢复码" not in page and "返回我的账号" in page
    assert f'value="{typed}"' in page and PASSWORD not in page               # the code stays, the password never
    assert "两步验证</a>：已开启" in text(web.get("/account"))                 # nothing was checked or removed


def test_a_lock_out_while_enrolling_shows_the_same_qr_code_and_the_code_kept(app, demo, make_web):
    web = register(make_web, "mfa_user6")
    secret = SECRET_RE.search(text(web.get("/account/mfa"))).group(1)
    for _ in range(5):  # the account's counter is shared with the password change form
        wrong = web.post("/account/password", {"current": "not-the-password", "password": "new-heron-fishing-5",
                                               "confirm": "new-heron-fishing-5"}, page="/account/password")
        assert wrong.status_code == 422
    typed = code(secret)
    locked = web.post("/account/mfa", {"code": typed}, page="/account/mfa")
    page = text(locked)
    assert locked.status_code == 429 and LOCKED in page
    assert SECRET_RE.search(page).group(1) == secret and 'src="data:image/svg+xml' in page  # the same enrolment
    assert "开启两步验证</button>" in page and "恢复码" not in page
    assert f'value="{typed}"' in page
    with app.app_context():
        row = db.session.scalar(sa.select(TotpFactor).join(User).where(User.username == "mfa_user6"))
        assert row.secret == secret and row.confirmed_at is None                 # not enrolled by a refused post
