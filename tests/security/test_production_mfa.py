"""Production requires a second factor of every staff role unless MFA_REQUIRED_ROLES says otherwise (ProdConfig): a
mediator who logs in with a password only is sent to enrol before anything else; a resident is not."""
from __future__ import annotations

import os
import re

import pytest

BASE = {"base_url": "https://jiefen.example"}


def password_login(application, username: str, password: str):
    client = application.test_client()
    page = client.get("/login", **BASE)
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page.get_data(as_text=True)).group(1)
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       headers={"Referer": "https://jiefen.example/login"}, **BASE)
    return client, resp


@pytest.mark.skipif("MFA_REQUIRED_ROLES" in os.environ, reason="ProdConfig reads MFA_REQUIRED_ROLES at import")
def test_production_without_mfa_required_roles_makes_a_mediator_enrol_first(app, demo, make_second_app):
    from app.config import ProdConfig

    assert ProdConfig.MFA_REQUIRED_ROLES == "mediator,org_admin,admin,court_clerk,arbitrator"
    prod = make_second_app("production")  # no MFA_REQUIRED_ROLES override: the class default
    client, first = password_login(prod, "mediator1", demo)
    assert first.status_code == 302 and first.headers["Location"].endswith("/account/mfa")
    blocked = client.get("/mediator/inbox", **BASE)
    assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/account/mfa")
    resident, resp = password_login(prod, "resident1", demo)
    assert resp.status_code == 302 and not resp.headers["Location"].endswith("/account/mfa")
    assert resident.get("/my/cases", **BASE).status_code == 200


def test_an_explicitly_empty_list_lets_staff_in_with_a_password(app, demo, make_second_app):
    prod = make_second_app("production", MFA_REQUIRED_ROLES="")
    client, resp = password_login(prod, "mediator1", demo)
    assert resp.status_code == 302 and not resp.headers["Location"].endswith("/account/mfa")
    assert client.get("/mediator/inbox", **BASE).status_code == 200
