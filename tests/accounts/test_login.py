"""Registration and login, as a browser sees them (the sessions' security: tests/security/test_sessions.py)."""
from __future__ import annotations

import re
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
    resp = register(web)  # with a phone: its SMS code next (tests/accounts/test_phone_verification.py)
    assert resp.status_code == 302 and resp.headers["Location"] == "/account/phone/verify"
    assert "王芳" in web.get("/my/cases").get_data(as_text=True)
    from app.extensions import db

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "wangfang"))
        assert user.password_hash.startswith("scrypt:")
        assert GOOD["password"] not in user.password_hash
        assert user.role.value == "resident" and user.phone == "13905531111"
        assert user.phone_verified_at is None  # typed, not proven
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
