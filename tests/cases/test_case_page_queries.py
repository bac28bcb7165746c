"""The case page as the case's mediator sees it: every panel of a case in mediation, in a bounded number of SQL
statements (it ran 18 before the panels shared their lookups; 10 since the evidence came joined to the case)."""
from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import sql_statements

LEAK = "楼上卫生间漏水泡坏我家天花板"  # the demo's neighbour case, routed to a mediator automatically


def _mediated_case(app) -> tuple[int, str, str, str]:
    from app.cases.models import Case, CaseStatus, Stage
    from app.extensions import db

    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.title == LEAK))
        assert (case.stage, case.status) == (Stage.mediate, CaseStatus.in_progress)
        found = case.id, case.mediator.username, case.organisation.name, case.filed_by.display_name
        db.session.remove()
    return found


def test_the_mediator_sees_every_panel_in_a_bounded_number_of_statements(app, demo, make_web):
    case_id, mediator, organisation, filer = _mediated_case(app)
    web = make_web()
    web.login(mediator)
    with sql_statements(app) as statements:
        resp = web.get(f"/cases/{case_id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    # the facts, the routing explanation, the mediation panels and the timeline, as before
    assert organisation in html and "分派依据" in html and "调解期限" in html
    assert "调解时间" in html and "在线调解室" in html and "调解笔录" in html
    assert f"· {filer}" in html  # the timeline names who filed
    # 10 today: the session, the case (its parties, evidence and organisation joined), the history (its actors joined), the
    # routing, invitations, deadline extensions, slots, record, agreement versions, arbitration clause.
    # Two statements of slack; a panel that starts asking twice (or per row) fails here.
    assert len(statements) <= 13, "\n\n".join(statements)
