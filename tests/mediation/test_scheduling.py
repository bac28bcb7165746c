"""Scheduling a session through the web: the mediator proposes, the parties pick, the slot is confirmed,
reminders are scheduled (in-process timers or RQ's scheduler) and sent once; the .ics download."""
from __future__ import annotations

import secrets
from datetime import UTC, timedelta

import icalendar
import pytest
import sqlalchemy as sa

from app.cases.models import CaseEvent
from app.core.time import utcnow
from app.extensions import db
from app.mediation.models import OutboxMessage
from app.mediation.schedule_models import SessionSlot, SlotPick, SlotReminder
from tests.cases.test_funnel_journeys import mediator_of, step
from tests.mediation.test_invitations import _user_id, case_with_both_parties
from tests.services import TEST_REDIS

APPLICANT_PHONE, RESPONDENT_PHONE = "13905531234", "13905539876"


def _at(days=0, hours=0, minutes=0):
    """A start time: (naive UTC, the datetime-local value a browser in Beijing sends)."""
    utc = (utcnow() + timedelta(days=days, hours=hours, minutes=minutes)).replace(second=0, microsecond=0)
    return utc, (utc + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")


_mediation = case_with_both_parties


def _propose(mediator, case_id, *starts, minutes="90"):
    data = {f"starts-{i}": s for i, s in enumerate(starts)}
    url = f"/cases/{case_id}/schedule"
    return mediator.post(url, {**data, "minutes": minutes}, page=url)


def _pick(web, case_id, slot_id):
    return web.post(f"/cases/{case_id}/schedule/pick", {"slot_id": str(slot_id)},
                    page=f"/cases/{case_id}/schedule")


def _rows(app, model, **where):
    with app.app_context():
        rows = db.session.scalars(sa.select(model).filter_by(**where).order_by(model.id)).all()
        db.session.expunge_all()
        return rows


def _outbox(app, case_id):
    return _rows(app, OutboxMessage, case_id=case_id)


def _events(app, case_id):
    return [(e.action, e.reason) for e in _rows(app, CaseEvent, case_id=case_id)]


@pytest.fixture(params=["inprocess", "redis"])
def job_backend(request, app, monkeypatch):
    """Run on both job backends; with Redis, on db 15 and a queue of its own, cleaned up after."""
    if request.param == "inprocess":
        yield None
        return
    import redis

    conn = redis.Redis.from_url(TEST_REDIS)
    try:
        conn.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    name = f"jiefen-test-{secrets.token_hex(4)}"
    monkeypatch.setitem(app.config, "REDIS_URL", TEST_REDIS)
    monkeypatch.setitem(app.config, "JOBS_QUEUE", name)
    before = set(conn.keys("*"))
    yield name
    made = set(conn.keys("*")) - before
    if made:
        conn.delete(*made)
    conn.srem("rq:queues", f"rq:queue:{name}")
    conn.close()


def test_both_parties_pick_the_same_slot_and_it_is_confirmed(app, demo, make_web, job_backend):
    case_id, applicant, respondent, mediator = _mediation(app, make_web)
    page = mediator.get(f"/cases/{case_id}/schedule").get_data(as_text=True)
    assert "提出待选时间" in page and 'type="datetime-local"' in page
    (a_utc, a_local), (b_utc, b_local) = _at(days=3), _at(days=4, hours=2)
    resp = _propose(mediator, case_id, a_local, b_local)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    slot_a, slot_b = _rows(app, SessionSlot, case_id=case_id)
    # typed in Beijing time, stored in UTC
    assert (slot_a.starts_at, slot_b.starts_at, slot_a.minutes) == (a_utc, b_utc, 90)
    told = [m for m in _outbox(app, case_id) if "请选择调解时间" in m.subject]
    assert {m.to for m in told} == {str(_user_id(app, "resident1")), str(_user_id(app, "resident2"))}

    # the applicant picks A, then moves to B; one pick per party
    assert "请选择时间" in applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    assert _pick(applicant, case_id, slot_a.id).status_code == 302
    assert _pick(applicant, case_id, slot_b.id).status_code == 302
    picks = _rows(app, SlotPick, case_id=case_id)
    assert [(p.user_id, p.slot_id) for p in picks] == [(_user_id(app, "resident1"), slot_b.id)]
    assert _rows(app, SessionSlot, id=slot_b.id)[0].confirmed_at is None  # the respondent has not picked yet
    page = mediator.get(f"/cases/{case_id}/schedule").get_data(as_text=True)
    assert "尚未选择时间" in page and "王秀英" in page  # who picked what, and who has not

    resp = _pick(respondent, case_id, slot_b.id)
    assert resp.status_code == 302
    assert "调解会议已确定" in respondent.get(resp.headers["Location"]).get_data(as_text=True)
    slot_a, slot_b = _rows(app, SessionSlot, case_id=case_id)
    assert slot_b.confirmed_at is not None and slot_b.cancelled_at is None
    assert slot_a.cancelled_at is not None  # the other open slot is withdrawn
    reminders = _rows(app, SlotReminder, slot_id=slot_b.id)
    assert {r.kind: b_utc - r.due_at for r in reminders} == {
        "24h": timedelta(hours=24), "1h": timedelta(hours=1)}
    assert all(r.sent_at is None for r in reminders)

    confirmed = [m for m in _outbox(app, case_id) if "调解时间已确定" in m.subject]
    mediator_id = str(_user_id(app, mediator_of(app, case_id)))
    assert {m.to for m in confirmed if m.channel == "in_app"} == {
        str(_user_id(app, "resident1")), str(_user_id(app, "resident2")), mediator_id}
    assert {m.to for m in confirmed if m.channel == "sms"} == {APPLICANT_PHONE, RESPONDENT_PHONE}
    b_shown = (b_utc + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    room = f"http://127.0.0.1:5000/cases/{case_id}/room"
    assert all(b_shown in m.body and room in m.body for m in confirmed)
    assert ("session_scheduled", f"{b_shown}（北京时间），90 分钟") in _events(app, case_id)

    for who in (applicant, respondent, mediator):  # the case page shows the time and the calendar link
        page = who.get(f"/cases/{case_id}").get_data(as_text=True)
        assert b_shown in page and f"/cases/{case_id}/schedule/{slot_b.id}.ics" in page
    assert "安排调解会议" in applicant.get(f"/cases/{case_id}").get_data(as_text=True)  # in the history

    if job_backend:  # RQ: both reminders wait in the scheduler's registry for their exact time
        from rq import Queue
        from rq.registry import ScheduledJobRegistry

        with app.app_context():
            from app.core.jobs import _redis

            queue = Queue(job_backend, connection=_redis(app.config["REDIS_URL"]))
            registry = ScheduledJobRegistry(queue=queue)
            times = sorted(registry.get_scheduled_time(j) for j in registry.get_job_ids())
            jobs = [queue.fetch_job(j) for j in registry.get_job_ids()]
        assert times == sorted(r.due_at.replace(tzinfo=UTC) for r in reminders)
        assert {j.func_name for j in jobs} == {"app.mediation.scheduling.send_reminder"}
        assert sorted(j.args for j in jobs) == sorted((r.id,) for r in reminders)


def _confirmed(app, make_web, days=3):
    case_id, applicant, respondent, mediator = _mediation(app, make_web)
    start, local = _at(days=days)
    assert _propose(mediator, case_id, local).status_code == 302
    (slot,) = _rows(app, SessionSlot, case_id=case_id)
    assert _pick(applicant, case_id, slot.id).status_code == 302
    assert _pick(respondent, case_id, slot.id).status_code == 302
    return case_id, slot.id, start, (applicant, respondent, mediator)


def test_the_ics_file(app, demo, make_web):
    case_id, slot_id, start, (applicant, respondent, mediator) = _confirmed(app, make_web)
    for who in (applicant, respondent, mediator):
        resp = who.get(f"/cases/{case_id}/schedule/{slot_id}.ics")
        assert resp.status_code == 200
        assert resp.headers["Content-Type"].startswith("text/calendar")
        assert resp.headers["Content-Disposition"].startswith("attachment") and ".ics" in resp.headers[
            "Content-Disposition"]
        assert resp.headers["Cache-Control"] == "no-store"
        cal = icalendar.Calendar.from_ical(resp.data)
        (event,) = cal.walk("VEVENT")
        assert event.decoded("DTSTART") == start.replace(tzinfo=UTC)
        assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=90)
        assert str(event["UID"]) == f"slot-{slot_id}@jiefen"
        assert str(event["SUMMARY"]) == "调解会议：楼上漏水殃及我家天花板"
        assert f"http://127.0.0.1:5000/cases/{case_id}/room" in str(event["DESCRIPTION"])
        (alarm,) = event.walk("VALARM")
        assert alarm.decoded("TRIGGER") == timedelta(hours=-1)
    outsider = make_web()
    outsider.login("grid1")
    resp = outsider.get(f"/cases/{case_id}/schedule/{slot_id}.ics")
    assert resp.status_code == 404 and b"VCALENDAR" not in resp.data
    # a slot is only served through its own case
    with app.app_context():
        from app.cases.models import Case

        other = db.session.scalar(sa.select(Case.id).where(Case.id != case_id, Case.mediator_id.is_not(None)))
    assert mediator.get(f"/cases/{other}/schedule/{slot_id}.ics").status_code == 404


def test_bad_times_are_refused_next_to_the_field_and_nothing_is_stored(app, demo, make_web):
    case_id, _, _, mediator = _mediation(app, make_web)
    _, past = _at(minutes=-30)
    _, soon = _at(days=1)
    resp = _propose(mediator, case_id, soon, past)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "调解时间必须晚于现在" in html and 'id="starts-1-error"' in html and "未保存" in html
    assert f'value="{soon}"' in html and f'value="{past}"' in html  # what was typed is kept
    _, far = _at(days=91)
    assert "只能安排 90 天以内的时间" in _propose(mediator, case_id, far).get_data(as_text=True)
    assert "请填写完整的日期和时间" in _propose(mediator, case_id, "明天下午").get_data(as_text=True)
    assert "请至少填写一个时间" in _propose(mediator, case_id).get_data(as_text=True)
    resp = _propose(mediator, case_id, soon, minutes="10")
    assert resp.status_code == 422 and "时长应为 15 至 480 之间的整数" in resp.get_data(as_text=True)
    assert _rows(app, SessionSlot, case_id=case_id) == []

    six = [_at(days=2 + i)[1] for i in range(6)]
    resp = _propose(mediator, case_id, *six)
    assert resp.status_code == 422 and "最多同时提出 5 个待选时间" in resp.get_data(as_text=True)
    assert _rows(app, SessionSlot, case_id=case_id) == []
    assert _propose(mediator, case_id, *six[:2]).status_code == 302
    resp = _propose(mediator, case_id, *six[2:])  # 2 open + 4 more: the 6th is one too many
    assert resp.status_code == 422 and "已有 2 个，这次最多再提 3 个" in resp.get_data(as_text=True)
    assert len(_rows(app, SessionSlot, case_id=case_id)) == 2


def test_who_may_propose_pick_and_cancel(app, demo, make_web):
    case_id, applicant, respondent, mediator = _mediation(app, make_web)
    _, local = _at(days=2)
    resp = _propose(applicant, case_id, local)
    assert resp.status_code == 403 and "只有本案的调解员可以安排调解时间" in resp.get_data(as_text=True)
    assert _rows(app, SessionSlot, case_id=case_id) == []
    assert _propose(mediator, case_id, local).status_code == 302
    (slot,) = _rows(app, SessionSlot, case_id=case_id)
    resp = _pick(mediator, case_id, slot.id)
    assert resp.status_code == 403 and "只有案件当事人可以选择调解时间" in resp.get_data(as_text=True)
    resp = respondent.post(f"/cases/{case_id}/schedule/{slot.id}/cancel", {"reason": "不想去"},
                           page=f"/cases/{case_id}/schedule")
    assert resp.status_code == 403
    resp = _pick(applicant, case_id, 999999)
    assert resp.status_code == 422 and "请选择一个时间" in resp.get_data(as_text=True)
    outsider = make_web()
    outsider.login("grid1")
    assert outsider.get(f"/cases/{case_id}/schedule").status_code == 404

    # once the case has left mediation nothing more can be scheduled: 409 with the reason
    assert step(applicant, case_id, "withdraw", reason="已私下和解").status_code == 302
    resp = _propose(mediator, case_id, _at(days=5)[1])
    assert resp.status_code == 409 and "不能安排调解时间" in resp.get_data(as_text=True)
    resp = _pick(respondent, case_id, slot.id)
    assert resp.status_code == 409 and "不能安排调解时间" in resp.get_data(as_text=True)
    assert [s.id for s in _rows(app, SessionSlot, case_id=case_id)] == [slot.id]


def _run_due(app):
    result = app.test_cli_runner().invoke(args=["jobs", "run-due"])
    assert result.exit_code == 0, result.output
    return result.output


def _make_due(app, slot_id, kind):
    with app.app_context():
        reminder = db.session.scalar(sa.select(SlotReminder).filter_by(slot_id=slot_id, kind=kind))
        reminder.due_at = utcnow() - timedelta(minutes=1)  # as if a day had passed
        db.session.commit()
        return reminder.id


def test_run_due_sends_a_due_reminder_once(app, demo, make_web):
    case_id, slot_id, start, _ = _confirmed(app, make_web)
    assert "0 reminder(s) sent" in _run_due(app)  # nothing due yet
    reminder_id = _make_due(app, slot_id, "24h")
    before = len(_outbox(app, case_id))
    assert "1 reminder(s) sent" in _run_due(app)
    new = _outbox(app, case_id)[before:]
    assert len(new) == 5  # in-app to both parties and the mediator, SMS to both phone numbers
    assert {m.channel for m in new} == {"in_app", "sms"} and all("调解会议提醒" in m.subject for m in new)
    shown = (start + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    room = f"http://127.0.0.1:5000/cases/{case_id}/room"
    assert all(shown in m.body and room in m.body for m in new)
    assert _rows(app, SlotReminder, id=reminder_id)[0].sent_at is not None
    assert "0 reminder(s) sent" in _run_due(app)
    assert len(_outbox(app, case_id)) == before + 5
    # the job itself is idempotent too (a timer or worker that fires after the catch-up sends nothing)
    from app.mediation.scheduling import send_reminder

    with app.app_context():
        send_reminder(reminder_id)
    assert len(_outbox(app, case_id)) == before + 5


def test_the_mediator_cancels_a_confirmed_session_and_proposes_again(app, demo, make_web):
    case_id, slot_id, start, (applicant, respondent, mediator) = _confirmed(app, make_web)
    url = f"/cases/{case_id}/schedule/{slot_id}/cancel"
    resp = mediator.post(url, {"reason": "  "}, page=f"/cases/{case_id}/schedule")
    assert resp.status_code == 422 and "请填写取消原因" in resp.get_data(as_text=True)
    assert _rows(app, SessionSlot, id=slot_id)[0].cancelled_at is None
    before = len(_outbox(app, case_id))
    assert mediator.post(url, {"reason": "调解员临时出差"}, page=f"/cases/{case_id}/schedule").status_code == 302
    slot = _rows(app, SessionSlot, id=slot_id)[0]
    assert slot.cancelled_at is not None and _rows(app, SlotPick, case_id=case_id) == []
    told = _outbox(app, case_id)[before:]
    assert len(told) == 5 and all("已取消" in m.subject and "调解员临时出差" in m.body for m in told)
    assert _events(app, case_id)[-1][0] == "session_cancelled"
    page = applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "调解员尚未安排时间" in page
    _make_due(app, slot_id, "1h")  # its reminders lapse: nothing is sent for a cancelled session
    assert "0 reminder(s) sent" in _run_due(app)
    assert _propose(mediator, case_id, _at(days=6)[1]).status_code == 302
    assert "请选择时间" in respondent.get(f"/cases/{case_id}").get_data(as_text=True)
