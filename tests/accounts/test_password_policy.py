"""New passwords that fall to a guessing attack are refused, with the reason next to the field and nothing else
lost: common passwords (English and Chinese), keyboard walks, and the user's own details (ASVS 6.2.4, 6.2.11)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.extensions import db

FORM = {"username": "wangfang", "display_name": "王芳", "phone": "13905531111", "email": "wangfang@example.cn"}
REFUSED = "这个密码太容易被猜到"


def register(web, password: str):
    return web.post("/register", {**FORM, "password": password, "confirm": password}, page="/register")


@pytest.mark.parametrize("password", ["woaini1314520", "1qaz2wsx3edc", "password1234", "zhangsan123456",
                                      "wangfang1990", "13905531111a", "aaaaaaaaaaaa", "qwertyuiop12"])
def test_guessable_passwords_are_refused_at_registration(app, demo, web, password):
    resp = register(web, password)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and f'id="password-error">{REFUSED}' in page
    assert 'value="wangfang"' in page and 'value="王芳"' in page and 'value="13905531111"' in page  # kept
    with app.app_context():
        assert db.session.scalar(sa.select(User.id).where(User.username == "wangfang")) is None


@pytest.mark.parametrize("password", ["门前两棵枣树-2026", "correct-horse-1", "blue kettle sings at 7"])
def test_unpredictable_passwords_are_accepted(app, demo, web, password):
    assert register(web, password).status_code == 302


def test_a_new_password_is_checked_too(app, demo, make_web):
    web = make_web()
    web.login("resident1")
    resp = web.post("/account/password", {"current": "jiefen-demo", "password": "wangxiuying123",
                                          "confirm": "wangxiuying123"}, page="/account/password")
    assert resp.status_code == 422 and f'id="password-error">{REFUSED}' in resp.get_data(as_text=True)
    ok = web.post("/account/password", {"current": "jiefen-demo", "password": "grey-heron-fishing-4",
                                        "confirm": "grey-heron-fishing-4"}, page="/account/password")
    assert ok.status_code == 302
