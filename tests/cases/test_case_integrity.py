"""Optimistic locking, CHECK constraints and the hash-chained history."""
from __future__ import annotations

import itertools
import re
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.cases.models import Case, CaseEvent
from tests.cases.test_funnel_journeys import file_dispute


def _edit_payload(page_html: str, **changes) -> dict:
    version = re.search(r'name="version"[^>]*value="(\d+)"', page_html) or re.search(
        r'value="(\d+)"[^>]*name="version"', page_html)
    data = {
        "title": "邻居装修噪音", "category": "neighbour", "description": "邻居装修每天早上七点开始电钻施工，影响休息。",
        "amount": "", "region_code": "340202001001", "respondent1-kind": "person", "respondent1-name": "李建国",
        "version": version.group(1),
    }
    data.update(changes)
    return data


def test_second_of_two_concurrent_edits_gets_409_and_nothing_is_overwritten(app, demo, make_web):
    first, second = make_web(), make_web()
    first.login("resident1")
    case_id = file_dispute(first, "邻居装修噪音", "neighbour", "邻居装修每天早上七点开始电钻施工，影响休息。")
    second.login("resident1")
    page_a = first.get(f"/cases/{case_id}/edit").get_data(as_text=True)
    page_b = second.get(f"/cases/{case_id}/edit").get_data(as_text=True)
    ok = first.post(f"/cases/{case_id}/edit", _edit_payload(page_a, title="邻居装修噪音（周末也施工）"))
    assert ok.status_code == 302
    conflict = second.post(f"/cases/{case_id}/edit", _edit_payload(page_b, title="被覆盖的标题"))
    assert conflict.status_code == 409
    assert "已被他人修改" in conflict.get_data(as_text=True)
    from app.extensions import db

    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.title == "邻居装修噪音（周末也施工）"
        seen = int(re.search(r'name="version"[^>]*value="(\d+)"', page_a).group(1))
        assert case.version == seen + 1  # one edit landed, the other did not
        edits = db.session.scalars(sa.select(CaseEvent.action).where(CaseEvent.case_id == case_id)).all()
        assert edits.count("edit") == 1


def test_racing_writers_on_the_same_row_one_gets_stale_data(app, demo):
    """Two sessions load version n and both flush: the ORM's version check refuses the second."""
    from sqlalchemy.orm import Session
    from sqlalchemy.orm.exc import StaleDataError

    from app.extensions import db

    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.title == "退租后房东不退押金"))
        engine = db.engine
    s1, s2 = Session(engine), Session(engine)
    c1, c2 = s1.get(Case, case_id), s2.get(Case, case_id)
    c1.title, c2.title = "甲的修改", "乙的修改"
    s1.commit()
    with pytest.raises(StaleDataError):
        s2.commit()
    s2.rollback()
    s1.close(), s2.close()
    with app.app_context():
        assert db.session.get(Case, case_id).title == "甲的修改"


def test_stale_step_form_is_refused_with_409(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "楼道堆物", "neighbour", "邻居长期在楼道堆放纸箱，有消防隐患。")
    resp = resident.post(f"/cases/{case_id}/steps/withdraw", {"version": "0"}, page=f"/cases/{case_id}")
    assert resp.status_code == 409 and "已被他人修改" in resp.get_data(as_text=True)


@pytest.mark.parametrize("assignment,constraint", [
    ("stage = 'mediate', status = 'awaiting_assignment'", "mediation_org"),
    ("stage = 'arbitrate', status = 'filed'", "arbitration_body"),
    ("stage = 'litigate', status = 'filed'", "ck_cases_court"),
    ("status = 'settled'", "stage_status"),
    ("category = NULL", "category_after_consult"),
    ("amount = -1", "amount_non_negative"),
    ("closed_at = CURRENT_TIMESTAMP", "closed_at"),
    ("stage = 'closed', status = 'settled'", "closed_at"),
])
def test_check_constraints_refuse_inconsistent_rows(app, demo, assignment, constraint):
    from app.extensions import db

    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.title == "退租后房东不退押金"))
        with pytest.raises(IntegrityError) as err:
            with db.engine.begin() as conn:
                # nosemgrep: sql-built-from-strings -- assignment is one of the fixed parametrize cases
                conn.execute(sa.text(f"UPDATE cases SET {assignment} WHERE id = :id"), {"id": case_id})
        assert constraint in str(err.value)


def test_litigate_accepted_needs_a_court_number(app, demo):
    from app.extensions import db

    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.title == "朋友借款两万元到期不还"))
        with pytest.raises(IntegrityError, match="court_case_number"):
            with db.engine.begin() as conn:
                conn.execute(sa.text("UPDATE cases SET status = 'accepted' WHERE id = :id"), {"id": case_id})


def test_audit_verify_passes_then_names_the_first_broken_link(app, demo):
    from app.extensions import db

    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "OK" in result.output
    with app.app_context():
        event = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.action == "record_settlement")).one()
        target = (event.case_id, event.seq, event.id)
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE case_events SET reason = '篡改后的内容' WHERE id = :id"), {"id": event.id})
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"case {target[0]} event seq {target[1]} (id {target[2]})" in result.output
    assert "altered" in result.output


def test_deleting_an_event_in_the_middle_breaks_the_chain(app, demo):
    from app.cases.operations import verify_chain
    from app.extensions import db

    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.title == "朋友借款两万元到期不还"))
        event = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                              CaseEvent.action == "auto_assign")).one()
        with db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM case_events WHERE id = :id"), {"id": event.id})
        checked, broken = verify_chain()
        assert broken and f"case {event.case_id} event seq {event.seq + 1}" in broken


def test_each_event_links_to_the_previous_one(app, demo):
    from app.core.audit import GENESIS
    from app.extensions import db

    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.title == "车位被邻居长期占用"))
        events = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)).all()
        assert [e.action for e in events] == ["file", "request_mediation", "auto_assign", "record_settlement"]
        assert events[0].prev_hash == GENESIS
        for before, after in itertools.pairwise(events):
            assert after.prev_hash == before.hash
        assert (events[-1].from_stage, events[-1].to_stage, events[-1].to_status) == ("mediate", "closed", "settled")


def test_concurrent_steps_on_one_case_do_not_fork_the_chain(app, demo, make_web):
    """Two clerks' decisions racing: exactly one succeeds and the history stays a single chain."""
    from app.extensions import db

    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.title == "朋友借款两万元到期不还"))
    clerks = [make_web(), make_web()]
    for c in clerks:
        c.login("court1")
        c.get(f"/cases/{case_id}")
    results = []

    def decide(web, i):
        results.append(web.post(f"/cases/{case_id}/steps/accept_filing",
                                {"version": "5", "court_case_number": f"(2026)皖0202民初{100 + i}号"}).status_code)

    threads = [threading.Thread(target=decide, args=(c, i)) for i, c in enumerate(clerks)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results)[0] == 302 and results.count(302) == 1, results
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
