"""app/core/render_memo.py: inside rendering() a lookup answers once per key; outside it runs every time. The case
page's panels share the agreement versions and slot lookups."""
from __future__ import annotations

import re

from app.core.render_memo import per_render, rendering
from tests.conftest import sql_statements


def test_lookups_are_shared_only_inside_a_render(app):
    calls: list[int] = []

    @per_render(lambda case_id: case_id)
    def look(case_id: int) -> int:
        calls.append(case_id)
        return len(calls)

    with app.test_request_context():
        assert (look(1), look(1)) == (1, 2)  # a write path sees every change: no memo
        with rendering():
            assert (look(1), look(1), look(2), look(2)) == (3, 3, 4, 4)
            with rendering():  # nested: the same memo
                assert look(1) == 3
        assert look(1) == 5  # the memo ends with the render


def test_the_case_page_asks_for_the_agreement_once(app, demo, make_web):
    from app.cases.models import Case
    from app.demo import signed_agreement_case_id
    from app.extensions import db

    with app.app_context():
        case_id = signed_agreement_case_id()
        mediator = db.session.get(Case, case_id).mediator.username
        db.session.remove()
    web = make_web()
    web.login(mediator)
    with sql_statements(app) as statements:
        html = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "调解协议" in html
    # the statements reading agreement rows (the case's own statement only asks whether any exist, app/cases/facts.py)
    versions = [s for s in statements if re.match(r"\s*SELECT agreements\.", s)]
    # three panels (the agreement, its PDF, the court confirmation) read the signed agreement, the agreement panel
    # also the newest version: one query for all of them
    assert len(versions) == 1, "\n\n".join(versions)
