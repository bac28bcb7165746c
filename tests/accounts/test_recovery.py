"""忘记密码: a code by SMS to the phone on the account, then a new password; the answers never tell whether an
account exists, a code expires, works once and takes five tries, and requests are limited per account."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from app.accounts.models import PasswordReset, User, UserSession
from app.extensions import db
from app.mediation.models import OutboxMessage

PASSWORD, NEW = "first-heron-pass-1", "grey-heron-fishing-4"
SENT = "如果用户名和手机号码与账号相符，验证码已发送到该手机"


def text(resp) -> str:
    return resp.get_data(as_text=True)


def register(make_web, username: str, phone: str):
    web = make_web()
    resp = web.post("/register", {"username": username, "display_name": "孙悟空", "phone": phone, "password": PASSWORD,
                                  "confirm": PASSWORD}, page="/register")
    assert resp.status_code == 302, text(resp)[:1500]
    return web


def codes_sent_to(app, phone: str) -> list[str]:
    with app.app_context():
        bodies = [m.body for m in db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms")
                                                     .order_by(OutboxMessage.id)) if m.to == phone]
    return [re.search(r"验证码 (\d{6})", b).group(1) for b in bodies if "重设登录密码" in b]


def ask(web, username: str, phone: str):
    return web.post("/password/forgot", {"username": username, "phone": phone}, page="/password/forgot")


def reset(web, code: str, password: str = NEW):
    return web.post("/password/reset", {"code": code, "password": password, "confirm": password}, page="/password/reset")


def test_a_code_by_sms_sets_a_new_password_and_ends_every_session(app, demo, make_web):
    phone = "13612340001"
    other_device = register(make_web, "forgetful1", phone)
    web = make_web()
    assert 'href="/password/forgot"' in text(web.get("/login"))
    asked = ask(web, "forgetful1", phone)
    assert asked.status_code == 302 and asked.headers["Location"] == "/password/reset"
    assert SENT in text(web.get("/password/reset"))
    [code] = codes_sent_to(app, phone)

    wrong = reset(web, "000000" if code != "000000" else "111111")
    assert wrong.status_code == 422 and 'id="code-error">验证码不正确。' in text(wrong)
    weak = reset(web, code, "sunwukong2024")  # built on the account's own name (孙悟空)
    assert weak.status_code == 422 and 'id="password-error">这个密码太容易被猜到' in text(weak)
    done = reset(web, code)
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert "密码已重设" in text(web.get("/login"))

    assert make_web().post("/login", {"username": "forgetful1", "password": PASSWORD}, page="/login").status_code == 422
    fresh = make_web()
    fresh.login("forgetful1", NEW)
    assert "账号密码已修改" in text(fresh.get("/notifications"))
    assert "/login" in other_device.get("/my/cases", follow_redirects=True).request.path
    with app.app_context():
        uid = db.session.scalar(sa.select(User.id).where(User.username == "forgetful1"))
        [row] = db.session.scalars(sa.select(PasswordReset).where(PasswordReset.user_id == uid))
        assert row.used_at is not None and row.attempts == 1 and code not in row.code_hmac
        reasons = db.session.scalars(sa.select(UserSession.end_reason).where(UserSession.user_id == uid)).all()
        assert "password" in reasons


def test_the_answers_do_not_tell_whether_the_account_exists(app, demo, make_web):
    register(make_web, "forgetful2", "13612340002")
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    answers = []
    for username, phone in (("nobody-here", "13612340002"), ("forgetful2", "13999999999")):
        web = make_web()
        resp = ask(web, username, phone)
        page = text(web.get("/password/reset"))
        tries = [text(reset(web, f"{n:06d}")) for n in range(1, 6)]
        answers.append((resp.status_code, resp.headers["Location"], SENT in page,
                        ["验证码不正确" in t for t in tries], ["验证码已失效" in t for t in tries]))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == before  # nothing sent
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PasswordReset)) == 0
    # ... and a real account with a real code answers wrong tries the same way.
    web = make_web()
    ask(web, "forgetful2", "13612340002")
    [code] = codes_sent_to(app, "13612340002")
    wrong = [f"{n:06d}" for n in range(1, 7) if f"{n:06d}" != code][:5]
    real = [text(reset(web, c)) for c in wrong]
    assert answers[0] == answers[1] == (302, "/password/reset", True, [True] * 4 + [False], [False] * 4 + [True])
    assert [("验证码不正确" in t, "验证码已失效" in t) for t in real] == [(True, False)] * 4 + [(False, True)]
    assert "验证码已失效" in text(reset(web, code))  # five wrong tries end the code, even for the right one


def test_a_code_expires_works_once_and_a_new_request_replaces_it(app, demo, make_web):
    phone = "13612340003"
    register(make_web, "forgetful3", phone)
    earlier, web = make_web(), make_web()
    ask(earlier, "forgetful3", phone)
    ask(web, "forgetful3", phone)  # on another phone or browser: the earlier code stops working
    first, second = codes_sent_to(app, phone)
    assert "验证码已失效" in text(reset(earlier, first))
    with app.app_context():
        row = db.session.scalars(sa.select(PasswordReset).order_by(PasswordReset.id.desc())).first()
        row.expires_at -= timedelta(minutes=11)
        db.session.commit()
    assert "验证码已失效" in text(reset(web, second))
    ask(web, "forgetful3", phone)
    third = codes_sent_to(app, phone)[-1]
    assert reset(web, third).status_code == 302
    gone = web.get("/password/reset")  # the token left the browser's session with the reset
    assert gone.status_code == 302 and gone.headers["Location"] == "/password/forgot"
    with app.app_context():  # and its row is used: the code never works again
        assert db.session.scalars(sa.select(PasswordReset).order_by(PasswordReset.id.desc())).first().used_at


def test_requests_are_limited_per_account(app, demo, make_web):
    phone = "13612340004"
    register(make_web, "forgetful4", phone)
    statuses = [ask(make_web(), "forgetful4", phone).status_code for _ in range(4)]
    assert statuses == [302, 302, 302, 429]
    refused = ask(make_web(), "forgetful4", phone)
    assert refused.status_code == 429 and 'id="username-error">获取验证码的次数过多' in text(refused)
    assert len(codes_sent_to(app, phone)) == 3
    assert ask(make_web(), "forgetful5-other", phone).status_code == 302  # another account name is not limited
