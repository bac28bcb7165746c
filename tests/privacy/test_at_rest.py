"""After a realistic journey (registration with a phone, filing with both parties' numbers, mediation requested so
that invitations go out), no column of any table holds one of those numbers in the clear; blind indexes find them."""
from __future__ import annotations

import sqlalchemy as sa

from app.cases.models import CaseParty
from app.core.crypto import blind_index
from tests.accounts.test_login import register
from tests.cases.test_funnel_journeys import file_dispute, step

REGISTERED_PHONE = "13905531111"   # tests/accounts/test_login.py GOOD
APPLICANT_PHONE = "13905531234"    # tests/cases/test_funnel_journeys.file_dispute
RESPONDENT_PHONE = "13905539876"
APPLICANT_ID = "11010519491231002X"
RESPONDENT_ID = "34020219850315123X"
SECRETS = (REGISTERED_PHONE, APPLICANT_PHONE, RESPONDENT_PHONE, APPLICANT_ID, RESPONDENT_ID)


def text_columns(engine) -> list[tuple[str, str]]:
    """(table, column) for every column of every table whose type holds text (JSON included)."""
    inspector = sa.inspect(engine)
    out = []
    for table in inspector.get_table_names():
        for column in inspector.get_columns(table):
            type_name = str(column["type"]).upper()
            if any(word in type_name for word in ("CHAR", "TEXT", "JSON", "CLOB", "TSVECTOR")):
                out.append((table, column["name"]))
    return out


def plaintext_hits(app, needles) -> list[str]:
    from app.extensions import db

    hits = []
    with app.app_context(), db.engine.connect() as conn:
        for table, column in text_columns(db.engine):
            t = sa.table(table, sa.column(column))
            as_text = sa.cast(t.c[column], sa.Text)
            for needle in needles:
                found = conn.execute(sa.select(sa.func.count()).select_from(t)
                                     .where(sa.func.lower(as_text).contains(needle.lower(), autoescape=True)))
                if found.scalar():
                    hits.append(f"{table}.{column}: {needle}")
    return hits


def test_no_number_is_stored_in_the_clear_after_a_journey(app, demo, make_web):
    newcomer, resident = make_web(), make_web()
    assert register(newcomer).status_code == 302
    resident.login("resident1")
    case_id = file_dispute(resident, "楼上漏水殃及我家天花板", "neighbour", "楼上卫生间漏水，我家天花板发霉，协商无果。",
                           applicant_id_number=APPLICANT_ID, **{"respondent1-id_number": RESPONDENT_ID})
    assert step(resident, case_id, "request_mediation").status_code == 302

    from app.extensions import db
    from app.mediation.models import OutboxMessage

    with app.app_context():  # the journey did store them (readable through the ORM) ...
        parties = db.session.scalars(sa.select(CaseParty).where(CaseParty.case_id == case_id)).all()
        assert {p.phone for p in parties} == {APPLICANT_PHONE, RESPONDENT_PHONE}
        assert {p.id_number for p in parties} == {APPLICANT_ID, RESPONDENT_ID}
        sms = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.case_id == case_id,
                                                                OutboxMessage.channel == "sms")).all()
        assert RESPONDENT_PHONE in {m.to for m in sms}  # the invitation goes out by SMS
        db.session.remove()
    assert plaintext_hits(app, SECRETS) == []  # ... but only encrypted


def test_the_blind_index_finds_the_party_however_the_number_is_written(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "邻居装修噪音", "neighbour", "邻居装修每天早上七点开始电钻，协商多次无果。",
                           applicant_id_number=APPLICANT_ID, **{"respondent1-id_number": RESPONDENT_ID})
    from app.extensions import db

    with app.app_context():
        by_id = db.session.scalars(sa.select(CaseParty).where(
            CaseParty.id_number_bidx == blind_index("id_number", "340202 19850315 123x"))).all()
        assert [(p.case_id, p.name) for p in by_id] == [(case_id, "李建国")]
        by_phone = db.session.scalar(sa.select(CaseParty.name).where(
            CaseParty.case_id == case_id, CaseParty.phone_bidx == blind_index("phone", "+86 139-0553-9876")))
        assert by_phone == "李建国"
        party = by_id[0]
        party.id_number = None  # cleared (e.g. by retention): the index goes with it
        db.session.commit()
        assert db.session.scalar(sa.select(CaseParty.id_number_bidx).where(CaseParty.id == party.id)) is None
        db.session.remove()
