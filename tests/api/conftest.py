"""The court API's fixture: a client with a bearer token of the demo court (芜湖市镜湖区人民法院)."""
from __future__ import annotations

import pytest

from tests.api.test_api import Api, issue


@pytest.fixture()
def court_api(app, demo):
    return Api(app, issue(app)[1])
