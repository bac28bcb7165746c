"""Registration is limited per IP (REGISTER_RATE_LIMIT): the next form comes back with the reason by the username
and what was typed kept."""
from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from tests.conftest import Web


@pytest.fixture()
def low_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTER_RATE_LIMIT", "2/hour")


def test_the_third_registration_from_one_address_in_an_hour_is_refused_and_keeps_the_form(app, low_limit):
    web = Web(app)
    web.client.environ_base["REMOTE_ADDR"] = "10.{}.{}.{}".format(*secrets.token_bytes(3))

    def register(name: str):
        data = {"username": name, "display_name": "赵磊", "phone": "", "password": "correct-horse-battery-7",
                "confirm": "correct-horse-battery-7"}
        return web.post("/register", data, page="/register")

    assert register("limit_one").status_code == 302
    web.logout()
    assert register("limit_two").status_code == 302
    web.logout()
    refused = register("limit_three")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "同一网络注册的账号太多了，请 60 分钟后再试。您填写的内容已保留。" in page and 'value="limit_three"' in page
    from app.extensions import db

    with app.app_context():
        assert db.session.scalar(sa.select(User.id).where(User.username == "limit_three")) is None
        db.session.remove()
