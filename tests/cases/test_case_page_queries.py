"""The case page as the case's mediator sees it: every panel of a case in mediation, in a bounded number of SQL
statements (it ran 18 before the panels shared their lookups; 10 once the evidence came joined to the case; 5 since
the case row says which panel tables hold rows for it, app/cases/facts.py)."""
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
    # 5 today: the session, the case (its parties, evidence, organisation and panel facts joined), the history (its
    # actors joined), the routing and the invitations: this case has no deadline extension, slot, record, agreement
    # or arbitration clause, so those panels ask nothing (10 statements before). Two statements of slack; a panel that
    # starts asking twice (or per row), or asks its empty table again, fails here.
    assert len(statements) <= 7, "\n\n".join(statements)


def test_the_panel_facts_of_every_demo_case_match_its_tables(app, demo):
    """Each registered table's bit is set exactly when the table has a row for the case (checked against a count per
    table), and a case loaded without the facts answers "may have" for every table."""
    from app.cases import facts
    from app.cases.models import Case
    from app.extensions import db

    tables = {"routing": "routing_decisions", "invitations": "invitations", "deadline_extensions": "deadline_extensions",
              "session_slots": "session_slots", "mediation_records": "mediation_records", "agreements": "agreements",
              "arbitration_clauses": "arbitration_clauses"}
    with app.app_context():
        assert set(facts._BITS) == set(tables)
        has_rows = {name: set(db.session.scalars(sa.select(sa.table(table, sa.column("case_id")).c.case_id)))
                    for name, table in tables.items()}
        cases = db.session.scalars(sa.select(Case).options(facts.with_panel_facts())).all()
        assert len(cases) > 10
        # the demo has rows in three of the tables (a bit wrongly cleared shows there), none in the others (a bit
        # wrongly set shows there); each table's EXISTS is over its own rows of this case
        assert sum(bool(rows) for rows in has_rows.values()) >= 3, {n: len(r) for n, r in has_rows.items()}
        for name, table in tables.items():
            sql = " ".join(str(sa.select(Case.id).where(facts._FACTS[name]())).split())
            assert f"FROM {table} WHERE {table}.case_id = cases.id" in sql, sql
        for case in cases:
            assert {n for n in tables if facts.may_have(case, n)} == {n for n in tables if case.id in has_rows[n]}
        db.session.expunge_all()
        plain = db.session.get(Case, cases[0].id)
        assert all(facts.may_have(plain, name) for name in tables)
        db.session.remove()


def test_a_panel_with_rows_still_shows_them_to_staff(app, demo, make_web):
    """A case with a signed agreement: its staff page still lists the agreement (the bit lets the query run)."""
    from app.agreements.models import Agreement
    from app.cases.models import Case
    from app.extensions import db

    with app.app_context():
        case = db.session.scalar(sa.select(Case).join(Agreement, Agreement.case_id == Case.id)
                                 .where(Agreement.status == "signed").limit(1))
        case_id, mediator = case.id, case.mediator.username
        db.session.remove()
    web = make_web()
    web.login(mediator)
    html = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "调解协议" in html and "已签署" in html, html[:2000]
