"""Hearings: the arbitrator who accepted the case schedules, cancels and records them; the session room becomes the
hearing room, hosted by the arbitrator, without the mediator and without the (confidential) mediation history."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.cases.models import Case
from app.core.time import utcnow
from app.escalation.models import Hearing
from app.extensions import db, socketio
from app.mediation.models import OutboxMessage
from app.mediation.room_models import RoomMessage
from tests.cases.test_funnel_journeys import step
from tests.escalation.test_arbitration_clause import display_name, sign
from tests.mediation.test_invitations import case_with_both_parties

NS = "/room"


def connect(app, web, case_id):
    return socketio.test_client(app, namespace=NS, auth={"case_id": case_id}, flask_test_client=web.client)


def received(client, name):
    return [e["args"][0] for e in client.get_received(NS) if e["name"] == name]


def beijing_input(delta: timedelta) -> str:
    return (utcnow() + timedelta(hours=8) + delta).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture()
def hearing_case(app, demo, make_web):
    """Mediation with a joint and a caucus message, failed; agreement signed; arbitration accepted by arbitrator2."""
    case_id, applicant, respondent, mediator = case_with_both_parties(app, make_web)
    clients = {k: connect(app, w, case_id) for k, w in (("a", applicant), ("m", mediator))}
    applicant_id = received(clients["a"], "state")[0]["user_id"]
    assert clients["a"].emit("send", {"body": "联合调解里的发言", "client_id": "j1"}, namespace=NS, callback=True)["ok"]
    assert clients["m"].emit("move", {"user_id": applicant_id, "room": f"caucus-{applicant_id}"}, namespace=NS,
                             callback=True)["ok"]
    assert clients["a"].emit("send", {"body": "背靠背底线三千元", "client_id": "c1"}, namespace=NS, callback=True)["ok"]
    for c in clients.values():
        c.disconnect(NS)
    assert step(mediator, case_id, "record_failure", reason="分歧较大，未能达成协议。").status_code == 302
    assert applicant.post(f"/cases/{case_id}/arbitration/clause", page=f"/cases/{case_id}").status_code == 302
    assert sign(applicant, case_id, display_name(app, "resident1")).status_code == 302
    assert sign(respondent, case_id, "李建国").status_code == 302
    assert step(applicant, case_id, "request_arbitration").status_code == 302
    arbitrator = make_web()
    arbitrator.login("arbitrator2")
    assert step(arbitrator, case_id, "accept_arbitration").status_code == 302
    return case_id, {"applicant": applicant, "respondent": respondent, "mediator": mediator, "arbitrator": arbitrator}


def _schedule(webs, case_id, delta=timedelta(days=3), **extra):
    return webs["arbitrator"].post(f"/cases/{case_id}/arbitration/hearings",
                                   {"starts_at": beijing_input(delta), **extra}, page=f"/cases/{case_id}")


def test_acceptance_makes_the_accepting_arbitrator_the_cases_arbitrator(app, hearing_case):
    case_id, _ = hearing_case
    with app.app_context():
        assert db.session.get(Case, case_id).arbitrator.username == "arbitrator2"


def test_the_arbitrator_schedules_a_hearing_and_the_parties_hear_of_it(app, hearing_case):
    case_id, webs = hearing_case
    resp = _schedule(webs, case_id, delta=-timedelta(hours=1))
    assert resp.status_code == 422 and "开庭时间必须晚于现在" in resp.get_data(as_text=True)
    assert webs["applicant"].post(f"/cases/{case_id}/arbitration/hearings",
                                  {"starts_at": beijing_input(timedelta(days=1))}, page=f"/cases/{case_id}").status_code == 403
    assert _schedule(webs, case_id).status_code == 302
    with app.app_context():
        hearing = db.session.scalar(sa.select(Hearing).where(Hearing.case_id == case_id))
        assert hearing.status == "scheduled" and hearing.place == "线上开庭（本平台在线庭审室）"
        notes = db.session.execute(sa.select(OutboxMessage.to, OutboxMessage.body).where(
            OutboxMessage.case_id == case_id, OutboxMessage.subject == "仲裁开庭通知",
            OutboxMessage.channel == "in_app")).all()
        parties = sa.select(User.id).where(User.username.in_(["resident1", "resident2"]))
        ids = {str(i) for i in db.session.scalars(parties)}
        assert {to for to, _ in notes} == ids
        assert all(f"/cases/{case_id}/room" in body and "芜湖仲裁委员会" in body and "北京时间" in body for _, body in notes)
    page = webs["respondent"].get(f"/cases/{case_id}").get_data(as_text=True)
    assert "进入在线庭审室" in page and "进入庭审室" in page and "安排开庭" not in page
    assert "安排开庭" in webs["arbitrator"].get(f"/cases/{case_id}").get_data(as_text=True)


def test_the_hearing_room_hides_the_mediation_from_the_arbitrator(app, hearing_case, make_web):
    case_id, webs = hearing_case
    assert _schedule(webs, case_id).status_code == 302
    arb = connect(app, webs["arbitrator"], case_id)
    assert arb.is_connected(NS)
    state = received(arb, "state")[0]
    assert state["side"] == "arbitrator" and state["host"] and state["open"]
    assert [r["id"] for r in state["rooms"]] == ["hearing"] and state["history"] == [] and state["offers"] == []
    assert next(p["label"] for p in state["participants"]) == "仲裁员 林仲裁员"
    assert all(p["side"] != "mediator" for p in state["participants"])
    assert arb.emit("history", {"after_id": 0}, namespace=NS, callback=True)["history"] == []

    party = connect(app, webs["applicant"], case_id)
    pstate = received(party, "state")[0]
    assert pstate["current_room"] == "hearing" and "hearing" in [r["id"] for r in pstate["rooms"]]
    assert {m["body"] for m in pstate["history"]} >= {"联合调解里的发言", "背靠背底线三千元"}  # their own history
    assert "庭审室" in [r["label"] for r in pstate["rooms"]]

    assert not connect(app, webs["mediator"], case_id).is_connected(NS)  # the mediator is no longer in the room
    assert webs["mediator"].get(f"/cases/{case_id}/room").status_code == 403
    page = webs["arbitrator"].get(f"/cases/{case_id}/room").get_data(as_text=True)
    assert "庭审室" in page and "仲裁员 林仲裁员" in page and "调解方案" not in page and "调解员工具" not in page
    for username in ("arbitrator1", "grid1"):  # another commission's arbitrator, a stranger
        outsider = make_web()
        outsider.login(username)
        assert outsider.get(f"/cases/{case_id}/room").status_code == 404
        assert not connect(app, outsider, case_id).is_connected(NS)


def test_offers_moves_and_flags_are_refused_in_the_hearing(app, hearing_case):
    case_id, webs = hearing_case
    arb, party = connect(app, webs["arbitrator"], case_id), connect(app, webs["applicant"], case_id)
    party_id = received(party, "state")[0]["user_id"]
    ack = party.emit("offer", {"amount": "3000", "instalments": "1"}, namespace=NS, callback=True)
    assert not ack["ok"] and "庭审中不能提出或答复调解方案" in ack["error"]
    ack = arb.emit("flag", {"kind": "violence"}, namespace=NS, callback=True)
    assert not ack["ok"] and "庭审中不能标记安全风险" in ack["error"]
    ack = arb.emit("move", {"user_id": party_id, "room": f"caucus-{party_id}"}, namespace=NS, callback=True)
    assert not ack["ok"] and "庭审中" in ack["error"]


def test_messages_in_the_hearing_room_reach_everyone_in_it(app, hearing_case):
    case_id, webs = hearing_case
    arb, party = connect(app, webs["arbitrator"], case_id), connect(app, webs["respondent"], case_id)
    received(party, "state")
    ack = arb.emit("send", {"body": "现在开庭。", "client_id": "h1"}, namespace=NS, callback=True)
    assert ack["ok"] and ack["message"]["room"] == "hearing"
    assert [m["body"] for m in received(party, "chat")] == ["现在开庭。"]
    ack = party.emit("send", {"room": "joint", "body": "被申请人陈述。", "client_id": "h2"}, namespace=NS, callback=True)
    assert ack["ok"] and ack["message"]["room"] == "hearing"
    with app.app_context():
        rooms = db.session.scalars(sa.select(RoomMessage.room).where(RoomMessage.body.like("%陈述%"))).all()
        assert rooms == ["hearing"]


def test_cancel_and_record(app, hearing_case):
    case_id, webs = hearing_case
    assert _schedule(webs, case_id).status_code == 302
    assert _schedule(webs, case_id, delta=timedelta(days=5)).status_code == 302
    with app.app_context():
        first, second = db.session.scalars(sa.select(Hearing.id).where(Hearing.case_id == case_id)
                                           .order_by(Hearing.id)).all()
    url = f"/cases/{case_id}/arbitration/hearings"
    assert webs["applicant"].post(f"{url}/{first}/cancel", page=f"/cases/{case_id}").status_code == 403
    assert webs["arbitrator"].post(f"{url}/{first}/cancel", page=f"/cases/{case_id}").status_code == 302
    resp = webs["arbitrator"].post(f"{url}/{second}/record", {"record_text": "双方到庭陈述。"}, page=f"/cases/{case_id}")
    assert resp.status_code == 409 and "开庭后才能记录" in resp.get_data(as_text=True)
    with app.app_context():
        db.session.get(Hearing, second).starts_at = utcnow() - timedelta(hours=2)
        db.session.commit()
    resp = webs["arbitrator"].post(f"{url}/{second}/record", {"record_text": ""}, page=f"/cases/{case_id}")
    assert resp.status_code == 422 and "请填写庭审笔录" in resp.get_data(as_text=True)
    resp = webs["arbitrator"].post(f"{url}/{second}/record", {"record_text": "双方到庭，申请人陈述请求，被申请人答辩。"},
                                   page=f"/cases/{case_id}")
    assert resp.status_code == 302
    with app.app_context():
        rows = {h.id: h for h in db.session.scalars(sa.select(Hearing).where(Hearing.case_id == case_id))}
        assert rows[first].status == "cancelled"
        assert rows[second].status == "held" and rows[second].recorded_at and "被申请人答辩" in rows[second].record_text
        cancelled = db.session.scalars(sa.select(OutboxMessage.subject).where(
            OutboxMessage.case_id == case_id, OutboxMessage.subject == "仲裁开庭取消")).all()
        assert len(cancelled) >= 2
    assert "被申请人答辩" in webs["respondent"].get(f"/cases/{case_id}").get_data(as_text=True)
