"""`flask seed-bulk`: valid hash chains, every constraint kept, plausible data; the fast serialiser equals canonical."""
from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from app.analytics import bulk, queries
from app.analytics.queries import Scope
from app.cases.models import STATUSES_BY_STAGE, Case, CaseEvent, CaseParty
from app.core.audit import canonical
from app.extensions import db


def _fast(e: CaseEvent) -> str:
    return bulk.fast_canonical(e.case_id, e.seq, e.actor_id, e.action, e.from_stage, e.from_status, e.to_stage,
                               e.to_status, e.reason, e.created_at.isoformat(timespec="microseconds"))


def test_fast_canonical_is_byte_identical_to_canonical():
    awkward = CaseEvent(case_id=12, seq=3, actor_id=None, action="record_failure", from_stage="mediate",
                        from_status="in_progress", to_stage="mediate", to_status="failed",
                        reason='他说"不行"\\，\n换行\t和 emoji 😀', created_at=datetime(2024, 2, 29, 23, 59, 1))
    plain = CaseEvent(case_id=1, seq=1, actor_id=7, action="file", from_stage=None, from_status=None,
                      to_stage="assess", to_status="assessed", reason=None, created_at=datetime(2025, 1, 1, 0, 0, 0, 5))
    for event in (awkward, plain):
        assert _fast(event).encode("utf-8") == canonical(event.payload())


def test_seed_bulk_makes_valid_chains_and_plausible_cases(app):
    from app.cases.operations import verify_chain

    with app.app_context():
        # Small chunks, two worker processes and the index drop/rebuild: PostgreSQL takes the path of a big load.
        stats = bulk.seed_bulk(2000, seed=7, processes=2, chunk=600, rebuild_indexes_from=1000)
        assert stats["cases"] == 2000 and stats["parties"] == 4000
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 2000
        checked, broken = verify_chain()
        assert broken is None and checked == stats["events"] > 2000
        for event in db.session.scalars(sa.select(CaseEvent).order_by(CaseEvent.id).limit(300)):
            assert _fast(event).encode("utf-8") == canonical(event.payload())
        # every case's last event is its state; every state is one the funnel knows
        last = db.session.execute(sa.text(
            "SELECT c.stage, c.status, e.to_stage, e.to_status FROM cases c JOIN case_events e ON e.case_id = c.id "
            "WHERE e.seq = (SELECT MAX(seq) FROM case_events x WHERE x.case_id = c.id)")).all()
        assert len(last) == 2000
        assert all((stage, status) == (to_stage, to_status) for stage, status, to_stage, to_status in last)
        states = db.session.execute(sa.select(Case.stage, Case.status).distinct()).all()
        assert all(status in STATUSES_BY_STAGE[stage] for stage, status in states)  # the CHECK constraint's rule
        _assert_references_exist()
        _assert_realistic()
        _assert_filings_and_confirmations(stats)
        _assert_searchable()
        _assert_search_vectors_equal_the_literal()
        _assert_personal_data_encrypted()
        _assert_indexes_rebuilt()


def _assert_references_exist() -> None:
    """Foreign keys hold (PostgreSQL loads without per-row FK triggers: the generator must be right)."""
    for sql in ("SELECT COUNT(*) FROM case_events e LEFT JOIN cases c ON c.id = e.case_id WHERE c.id IS NULL",
                "SELECT COUNT(*) FROM case_parties p LEFT JOIN cases c ON c.id = p.case_id WHERE c.id IS NULL",
                "SELECT COUNT(*) FROM cases c LEFT JOIN users u ON u.id = c.mediator_id "
                "WHERE c.mediator_id IS NOT NULL AND u.id IS NULL",
                "SELECT COUNT(*) FROM cases c LEFT JOIN organisations o ON o.id = c.organisation_id "
                "WHERE c.organisation_id IS NOT NULL AND o.id IS NULL",
                "SELECT COUNT(*) FROM satisfaction_ratings s JOIN cases c ON c.id = s.case_id WHERE c.stage <> 'closed'"):
        assert db.session.scalar(sa.text(sql)) == 0, sql


def _assert_realistic() -> None:
    roles = db.session.execute(sa.select(CaseParty.role, sa.func.count()).group_by(CaseParty.role)).all()
    assert {r.value: n for r, n in roles} == {"applicant": 2000, "respondent": 2000}
    repeat = db.session.scalar(sa.text(
        "SELECT MAX(n) FROM (SELECT name, COUNT(*) AS n FROM case_parties WHERE kind = 'organisation' "
        "GROUP BY name) t"))
    assert repeat >= 5  # some employers face many claims
    funnel = {s["key"]: s["count"] for s in queries.funnel(Scope())}
    assert funnel["consults"] == 2000
    assert 0.5 < funnel["settled"] / funnel["mediated"] < 0.8
    regions = {r["key"] for r in queries.by_dimension(Scope(), "region")}
    assert regions <= set(bulk.COUNTIES) and len(regions) == len(bulk.COUNTIES)
    months = queries.by_dimension(Scope(), "month")
    assert 34 <= len(months) <= 37
    categories = queries.by_dimension(Scope(), "category")
    assert categories[0]["key"] == "neighbour"


def _assert_filings_and_confirmations(stats: dict) -> None:
    """Ids follow filing order; every case at court has its submissions, the last one matching the case's status;
    agreements only for settled cases, applications naming an agreement of the same case."""
    q = lambda sql: db.session.scalar(sa.text(sql))  # noqa: E731
    assert q("SELECT COUNT(*) FROM cases a JOIN cases b ON b.id = a.id + 1 WHERE b.created_at < a.created_at") == 0
    assert stats["filings"] == q("SELECT COUNT(*) FROM court_filings") > 0
    last = db.session.execute(sa.text(
        "SELECT c.status, f.status, f.court_id = c.court_id FROM cases c JOIN court_filings f ON f.case_id = c.id "
        "WHERE c.stage = 'litigate' AND f.seq = (SELECT MAX(seq) FROM court_filings x WHERE x.case_id = c.id)")).all()
    assert len(last) == q("SELECT COUNT(*) FROM cases WHERE stage = 'litigate'") > 0
    expected = {"filed": "submitted", "returned": "returned", "accepted": "accepted"}
    assert all(filing == expected[case] and same_court for case, filing, same_court in last)
    assert q("SELECT COUNT(*) FROM agreements a JOIN cases c ON c.id = a.case_id WHERE c.status <> 'settled'") == 0
    assert stats["confirmations"] == q("SELECT COUNT(*) FROM confirmation_applications") > 0
    assert q("SELECT COUNT(*) FROM confirmation_applications x JOIN agreements a ON a.id = x.agreement_id "
             "WHERE a.case_id <> x.case_id") == 0
    assert q("SELECT COUNT(DISTINCT status) FROM confirmation_applications") >= 3


def _assert_searchable() -> None:
    """On PostgreSQL the bulk cases carry search vectors: a respondent's name finds exactly its cases."""
    from app.cases.search import search_cases

    name, org = db.session.execute(sa.text(
        "SELECT p.name, c.organisation_id FROM case_parties p JOIN cases c ON c.id = p.case_id "
        "WHERE p.kind = 'organisation' AND c.organisation_id IS NOT NULL ORDER BY p.id LIMIT 1")).one()
    expected = list(db.session.scalars(sa.text(
        "SELECT c.id FROM cases c WHERE c.organisation_id = :org AND EXISTS (SELECT 1 FROM case_parties p "
        "WHERE p.case_id = c.id AND p.name = :name) ORDER BY c.created_at DESC, c.id DESC LIMIT 20"),
        {"org": org, "name": name}))
    found = [row.id for row in search_cases(organisation_id=org, query=name).rows]
    assert expected and found == expected


def _assert_search_vectors_equal_the_literal() -> None:
    """PostgreSQL assembles the vectors from staged parts (bulk_pools, bulk_sql): for every case with a court case
    number and a sample of the others, the vector equals what app/cases/search.py computes from the case's texts."""
    from app.cases.search import tsvector_literal

    if db.engine.dialect.name != "postgresql":
        return
    rows = db.session.execute(sa.text(
        "SELECT c.id, c.title, c.description, c.court_case_number, a.name, r.name FROM cases c "
        "JOIN case_parties a ON a.case_id = c.id AND a.role = 'applicant' "
        "JOIN case_parties r ON r.case_id = c.id AND r.role = 'respondent' "
        "WHERE c.court_case_number IS NOT NULL OR mod(c.id, 10) = 0 ORDER BY c.id")).all()
    assert len(rows) > 200 and any(row.court_case_number for row in rows)
    for case_id, title, description, number, applicant, respondent in rows:
        same = db.session.scalar(sa.text("SELECT search_vector = CAST(:v AS tsvector) FROM cases WHERE id = :id"),
                                 {"v": tsvector_literal(title, description, number, applicant, respondent),
                                  "id": case_id})
        assert same, case_id


def _assert_personal_data_encrypted() -> None:
    """Phones and credit codes are stored encrypted with their blind indexes; the ORM reads them back in clear."""
    from app.core.crypto import blind_index

    raw = db.session.execute(sa.text(
        "SELECT phone, phone_bidx FROM case_parties WHERE role = 'applicant' ORDER BY id LIMIT 1")).one()
    assert raw.phone.startswith("v1.") and len(raw.phone_bidx) == 64
    applicants = db.session.scalars(sa.select(CaseParty).where(CaseParty.role == "applicant").limit(50)).all()
    assert all(len(p.phone) == 11 and p.phone.startswith("13") for p in applicants)
    assert all(p.phone_bidx == blind_index("phone", p.phone) for p in applicants)
    coded = db.session.scalars(sa.select(CaseParty).where(CaseParty.id_number_bidx.is_not(None)).limit(50)).all()
    assert coded and all(p.kind.value == "organisation" and p.id_number.startswith("91340200") for p in coded)
    assert all(p.id_number_bidx == blind_index("id_number", p.id_number) for p in coded)
    assert db.session.scalar(sa.text("SELECT COUNT(*) FROM case_parties WHERE id_number LIKE '9134%'")) == 0


def _assert_indexes_rebuilt() -> None:
    """Every index the models declare is there again after a load that dropped them (PostgreSQL)."""
    if db.engine.dialect.name != "postgresql":
        return
    present = set(db.session.scalars(sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")))
    declared = {index.name for table in ("cases", "case_events", "case_parties")
                for index in db.metadata.tables[table].indexes}
    assert declared and declared <= present


@pytest.mark.parametrize("in_database", [True, False], ids=["sql", "python"])
def test_search_vectors_built_from_parts_equal_the_whole_literal(app, in_database):
    """Both generators (PostgreSQL's INSERT ... SELECT and Python's COPY) build a case's vector from remembered parts;
    PostgreSQL reads it as the literal of the case's whole text (title, description, court case number and both
    names) would be."""
    from app.cases.operations import verify_chain
    from app.cases.search import tsvector_literal

    with app.app_context():
        stats = bulk.seed_bulk(300, seed=3, in_database=in_database)
        assert verify_chain() == (stats["events"], None)
        if db.engine.dialect.name != "postgresql":
            return
        rows = db.session.execute(sa.text(
            "SELECT c.id, c.title, c.description, c.court_case_number, a.name, r.name FROM cases c "
            "JOIN case_parties a ON a.case_id = c.id AND a.role = 'applicant' "
            "JOIN case_parties r ON r.case_id = c.id AND r.role = 'respondent' ORDER BY c.id")).all()
        assert len(rows) == 300
        for case_id, title, description, number, applicant, respondent in rows:
            same = db.session.scalar(sa.text("SELECT search_vector = CAST(:v AS tsvector) FROM cases WHERE id = :id"),
                                     {"v": tsvector_literal(title, description, number, applicant, respondent),
                                      "id": case_id})
            assert same, case_id
