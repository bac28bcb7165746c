"""Where am I logged in? The list of open sessions, ending chosen ones after the password again (ASVS 5.0 7.5.2),
and the notice when the password changes (6.3.7)."""
from __future__ import annotations

import re

import sqlalchemy as sa

from app.accounts.models import User, UserSession
from app.extensions import db
from app.mediation.models import OutboxMessage

PHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.1 Mobile/15E148 Safari/604.1")
WECHAT_UA = ("Mozilla/5.0 (Linux; Android 13; V2183A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 MicroMessenger/8.0.42.2460(0x28002A58) WeChat/arm64")
CHECKBOX_RE = re.compile(r'name="sessions" value="(\d+)"')


def text(resp) -> str:
    return resp.get_data(as_text=True)


def logged_in(make_web, ua: str, username: str = "resident2"):
    web = make_web()
    web.client.environ_base["HTTP_USER_AGENT"] = ua
    web.login(username)
    return web


def test_the_list_shows_each_device_and_ends_the_chosen_one(app, demo, make_web):
    here = logged_in(make_web, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                               "Chrome/120.0.0.0 Safari/537.36")
    phone, wechat = logged_in(make_web, PHONE_UA), logged_in(make_web, WECHAT_UA)
    account = text(here.get("/account"))
    assert 'href="/account/sessions"' in account and 'href="/account/password"' in account
    page = text(here.get("/account/sessions"))
    assert "Chrome 120 · Windows 10" in page and "本设备" in page
    assert "Mobile Safari 17 · iOS 17 · iPhone" in page and "微信 · Chrome Mobile WebView 116 · Android 13" in page
    others = [int(i) for i in CHECKBOX_RE.findall(page)]
    assert len(others) == 2  # this device has no checkbox: it logs out with the logout button
    with app.app_context():
        ids = dict(db.session.execute(sa.select(UserSession.user_agent, UserSession.id).where(
            UserSession.ended_at.is_(None), UserSession.user_id == sa.select(User.id).where(
                User.username == "resident2").scalar_subquery())).all())
    phone_id = ids[PHONE_UA]

    nothing = here.post("/account/sessions", {"password": "jiefen-demo"})
    assert nothing.status_code == 422 and 'id="sessions-error">请选择要退出的设备。' in text(nothing)
    wrong = here.post("/account/sessions", {"sessions": [phone_id], "password": "not-it-at-all"})
    assert wrong.status_code == 422 and 'id="password-error">登录密码不正确。' in text(wrong)
    assert f'value="{phone_id}" checked' in text(wrong)  # the choice is kept
    assert phone.get("/my/cases").status_code == 200  # nothing ended yet

    done = here.post("/account/sessions", {"sessions": [phone_id], "password": "jiefen-demo"})
    assert done.status_code == 302
    assert "已退出 1 台设备上的登录" in text(here.get("/account/sessions"))
    ended = phone.get("/my/cases", follow_redirects=True)
    assert "/login" in ended.request.path and "已在您的另一台设备上退出" in text(ended)
    assert wechat.get("/my/cases").status_code == 200 and here.get("/my/cases").status_code == 200
    after = text(here.get("/account/sessions"))
    assert "iPhone" not in after and "Android 13" in after


def test_someone_elses_session_cannot_be_ended(app, demo, make_web):
    stranger = logged_in(make_web, PHONE_UA, "resident1")
    victim = logged_in(make_web, WECHAT_UA, "resident2")
    with app.app_context():
        victim_id = db.session.scalar(sa.select(UserSession.id).where(UserSession.user_agent == WECHAT_UA,
                                                                      UserSession.ended_at.is_(None)))
    resp = stranger.post("/account/sessions", {"sessions": [victim_id], "password": "jiefen-demo"},
                         page="/account/sessions")
    assert resp.status_code == 422  # not one of the choices offered
    assert victim.get("/my/cases").status_code == 200


def test_a_password_change_is_announced_in_the_app_and_by_sms(app, demo, make_web):
    web = logged_in(make_web, PHONE_UA, "resident1")
    resp = web.post("/account/password", {"current": "jiefen-demo", "password": "grey-heron-fishing-4",
                                          "confirm": "grey-heron-fishing-4"}, page="/account/password")
    assert resp.status_code == 302
    assert "账号密码已修改" in text(web.get("/notifications"))
    with app.app_context():
        phone = db.session.scalar(sa.select(User).where(User.username == "resident1")).phone
        sms = [m for m in db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms"))
               if m.to == phone and "密码已于" in m.body]
    assert len(sms) == 1 and "如果不是您本人操作" in sms[0].body


def test_wrong_passwords_here_count_against_the_login_limit(app, demo, make_web):
    web = make_web()
    web.post("/register", {"username": "devices_limit", "display_name": "周五", "password": "grey-heron-fishing-4",
                           "confirm": "grey-heron-fishing-4"}, page="/register")
    other = make_web()
    other.login("devices_limit", "grey-heron-fishing-4")
    [other_id] = [int(i) for i in CHECKBOX_RE.findall(text(web.get("/account/sessions")))]
    statuses = [web.post("/account/sessions", {"sessions": [other_id], "password": f"wrong-{i}"}).status_code
                for i in range(6)]
    assert statuses == [422] * 5 + [429]
    locked = web.post("/account/sessions", {"sessions": [other_id], "password": "grey-heron-fishing-4"})
    assert locked.status_code == 429 and 'id="password-error">该账号密码错误次数过多' in text(locked)
    assert other.get("/my/cases").status_code == 200
