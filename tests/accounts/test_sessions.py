"""Registration, login and server-side sessions, as a browser sees them."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app.accounts.models import User, UserSession

COOKIE = "jiefen_session"
GOOD = {"username": "wangfang", "display_name": "王芳", "phone": "13905531111",
        "password": "correct-horse-1", "confirm": "correct-horse-1"}


def count(app, model, *where):
    from app.extensions import db

    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
        db.session.remove()
        return n


def field_error(html, field):
    """The error shown under a form field (the macro links it with aria-describedby)."""
    m = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    return m.group(1) if m else None


def register(web, **changes):
    return web.post("/register", {**GOOD, **changes}, page="/register")


# --- registration ------------------------------------------------------------------------
@pytest.mark.parametrize("changes, field, message", [
    ({"phone": "12345"}, "phone", "请输入有效的 11 位手机号码"),
    ({"phone": "23905531111"}, "phone", "请输入有效的 11 位手机号码"),
    ({"confirm": "correct-horse-2"}, "confirm", "两次输入的密码不一致"),
    ({"password": "short", "confirm": "short"}, "password", "密码至少 10 个字符"),
    ({"username": "王 芳"}, "username", "用户名只能包含字母、数字"),
])
def test_register_shows_the_error_next_to_the_field_and_saves_nothing(app, web, changes, field, message):
    resp = register(web, **changes)
    html = resp.get_data(as_text=True)
    assert resp.status_code in (200, 422) and "Location" not in resp.headers
    assert message in (field_error(html, field) or ""), html[:3000]
    assert count(app, User) == 0 and count(app, UserSession) == 0
    assert web.client.get("/my/cases").status_code == 302  # not logged in


def test_register_duplicate_username(app, make_web):
    first, second = make_web(), make_web()
    assert register(first).status_code == 302
    resp = register(second, display_name="另一个王芳", phone="13905532222")
    html = resp.get_data(as_text=True)
    assert resp.status_code in (200, 422)
    assert "该用户名已被使用" in (field_error(html, "username") or "")
    assert count(app, User) == 1 and count(app, User, User.display_name == "另一个王芳") == 0
    assert count(app, UserSession) == 1  # only the first registration's session


def test_register_logs_in_and_stores_a_scrypt_hash(app, web):
    resp = register(web)
    assert resp.status_code == 302 and resp.headers["Location"] == "/dashboard"
    assert "王芳" in web.get("/my/cases").get_data(as_text=True)
    from app.extensions import db

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "wangfang"))
        assert user.password_hash.startswith("scrypt:")
        assert GOOD["password"] not in user.password_hash
        assert user.role.value == "resident" and user.phone == "13905531111"
        db.session.remove()


# --- login -------------------------------------------------------------------------------
def test_wrong_password_is_refused_in_chinese(app, demo, web):
    for username in ("resident1", "nobody-here"):  # same answer for an unknown user
        resp = web.post("/login", {"username": username, "password": "wrong-password"}, page="/login")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422 and "Location" not in resp.headers
        assert field_error(html, "password") == "用户名或密码不正确。"
    assert count(app, UserSession) == 0
    resp = web.client.get("/my/cases")
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/login"


def test_session_cookie_changes_at_login(app, demo, web):
    web.get("/login")
    before = web.client.get_cookie(COOKIE)
    assert before is not None  # the anonymous session holds the CSRF token
    web.login("resident1")
    after = web.client.get_cookie(COOKIE)
    assert after.value != before.value
    assert after.http_only and after.same_site == "Lax"


def test_copied_cookie_is_dead_after_logout(app, demo, make_web):
    victim, thief = make_web(), make_web()
    victim.login("resident1")
    copied = victim.client.get_cookie(COOKIE).value
    thief.client.set_cookie(COOKIE, copied)
    assert thief.client.get("/my/cases").status_code == 200  # the copy works while the session is open
    resp = victim.logout()
    assert resp.status_code == 302
    assert victim.client.get("/my/cases").status_code == 302
    resp = thief.client.get("/my/cases")
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/login"
    assert count(app, UserSession, UserSession.ended_at.is_(None)) == 0


@pytest.mark.parametrize("target", [
    "//evil.com", "/\\evil.com", "\\\\evil.com", "https:evil.com", "https://evil.com", "http://evil.com/my/cases",
    "/\tevil.com", "/\t/evil.com", "/\n/evil.com", " //evil.com", "//evil.com/%2F..", "///evil.com",
    "javascript:alert(1)", "evil.com", "HTTPS://evil.com", "/\\/evil.com", "/\x00//evil.com",
])
def test_next_never_leads_off_site(app, demo, make_web, target):
    web = make_web()  # a fresh browser each time: a logged-in one would skip the login altogether
    resp = web.post("/login", {"username": "resident1", "password": demo}, page="/login",
                    query_string={"next": target})
    assert resp.status_code == 302
    location = resp.headers["Location"]
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc and location.startswith("/") and not location.startswith("//")
    assert "\\" not in location and "evil" not in location
    assert location == "/dashboard"
    assert web.client.get("/my/cases").status_code == 200  # the login itself did happen


def test_local_next_is_honoured(app, demo, make_web):
    web = make_web()
    resp = web.client.get("/my/cases")
    assert resp.status_code == 302
    login_url = resp.headers["Location"]
    assert urlsplit(login_url).path == "/login" and "next=" in login_url
    resp = web.post(login_url, {"username": "resident1", "password": demo}, page=login_url)
    assert resp.status_code == 302 and resp.headers["Location"] == "/my/cases"
    assert "物业费与停车位纠纷" in web.get("/my/cases").get_data(as_text=True)


# --- limits ------------------------------------------------------------------------------
def _age_sessions(app, **ago):
    from app.core.time import utcnow
    from app.extensions import db

    with app.app_context():
        rows = db.session.scalars(sa.select(UserSession).where(UserSession.ended_at.is_(None))).all()
        assert len(rows) == 1
        if "last_seen" in ago:
            rows[0].last_seen_at = utcnow() - ago["last_seen"]
        if "created" in ago:
            rows[0].created_at = utcnow() - ago["created"]
            rows[0].last_seen_at = utcnow()
        db.session.commit()
        db.session.remove()


def test_idle_session_is_logged_out_after_30_minutes(app, demo, web):
    web.login("resident1")
    _age_sessions(app, last_seen=timedelta(minutes=31))
    resp = web.client.get("/my/cases")
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/login"
    assert count(app, UserSession, UserSession.ended_at.is_not(None)) == 1


def test_recently_active_session_stays_and_is_refreshed(app, demo, web):
    from app.core.time import utcnow
    from app.extensions import db

    web.login("resident1")
    _age_sessions(app, last_seen=timedelta(minutes=29))
    assert web.client.get("/my/cases").status_code == 200
    with app.app_context():  # the request counted as activity: the idle clock restarted
        last_seen = db.session.scalar(sa.select(UserSession.last_seen_at))
        db.session.remove()
    assert utcnow() - last_seen < timedelta(minutes=1)


def test_session_ends_after_12_hours_even_when_active(app, demo, web):
    web.login("resident1")
    _age_sessions(app, created=timedelta(hours=12, minutes=1))
    resp = web.client.get("/my/cases")
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/login"
