"""The session room at the socket level (Flask-SocketIO's test client, the same handlers as in production):
who may join, caucus privacy, offers, reconnect, safety flag; and the room page itself."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db, socketio
from app.mediation.room_models import Offer, RoomMessage
from tests.mediation.test_invitations import case_with_both_parties

NS = "/room"


@pytest.fixture()
def room_case(app, demo, make_web):
    """resident1 against 李建国 (resident2 accepted the invitation), in mediation with a mediator: three logged-in webs."""
    case_id, applicant, respondent, mediator = case_with_both_parties(app, make_web)
    return case_id, {"applicant": applicant, "respondent": respondent, "mediator": mediator}


def connect(app, web, case_id):
    return socketio.test_client(app, namespace=NS, auth={"case_id": case_id}, flask_test_client=web.client)


def received(client, name):
    return [e["args"][0] for e in client.get_received(NS) if e["name"] == name]


def joined(app, webs, case_id):
    clients = {k: connect(app, w, case_id) for k, w in webs.items()}
    states = {k: received(c, "state")[0] for k, c in clients.items()}
    return clients, states


def test_parties_and_mediator_join_and_see_each_others_messages(app, room_case):
    case_id, webs = room_case
    clients, states = joined(app, webs, case_id)
    assert all(c.is_connected(NS) for c in clients.values())
    assert states["applicant"]["side"] == "applicant" and states["respondent"]["side"] == "respondent"
    assert [r["id"] for r in states["applicant"]["rooms"]] == ["joint", f"caucus-{states['applicant']['user_id']}"]
    assert len(states["mediator"]["rooms"]) == 3  # joint + one caucus per party

    ack = clients["applicant"].emit("send", {"body": "您好，我想先说明漏水的情况。", "client_id": "a1"}, namespace=NS,
                                    callback=True)
    assert ack["ok"] and ack["message"]["room"] == "joint"
    for who in ("respondent", "mediator"):
        got = received(clients[who], "chat")
        assert [m["body"] for m in got] == ["您好，我想先说明漏水的情况。"]
        assert got[0]["sender"].startswith("申请人")
    with app.app_context():
        stored = db.session.scalars(sa.select(RoomMessage).where(RoomMessage.case_id == case_id)).all()
        assert [(m.room, m.body) for m in stored] == [("joint", "您好，我想先说明漏水的情况。")]


def test_an_outsider_cannot_join(app, room_case, make_web):
    case_id, _ = room_case
    for username in ("admin", "orgadmin1", "court1"):
        outsider = make_web()
        outsider.login(username)
        assert not connect(app, outsider, case_id).is_connected(NS), username
        resp = outsider.get(f"/cases/{case_id}/room")
        assert resp.status_code in (403, 404), username
    anonymous = make_web()
    assert not connect(app, anonymous, case_id).is_connected(NS)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RoomMessage)) == 0


def test_a_caucus_message_never_reaches_the_other_party(app, room_case):
    case_id, webs = room_case
    clients, states = joined(app, webs, case_id)
    applicant_id = states["applicant"]["user_id"]
    ack = clients["mediator"].emit("move", {"user_id": applicant_id, "room": f"caucus-{applicant_id}"}, namespace=NS,
                                   callback=True)
    assert ack["ok"] and ack["room"] == f"caucus-{applicant_id}"
    for c in clients.values():
        c.get_received(NS)
    ack = clients["applicant"].emit("send", {"body": "底线是三千元，别告诉对方。", "client_id": "s1"}, namespace=NS,
                                    callback=True)
    assert ack["ok"] and ack["message"]["room"] == f"caucus-{applicant_id}"  # a party speaks where they were put
    assert [m["body"] for m in received(clients["mediator"], "chat")] == ["底线是三千元，别告诉对方。"]
    assert received(clients["respondent"], "chat") == []
    # Asking for the caucus explicitly changes nothing: a party only ever has the joint room and their own caucus.
    sneaky = connect(app, webs["respondent"], case_id)
    state = received(sneaky, "state")[0]
    assert all("底线" not in m["body"] for m in state["history"])
    assert all(r["id"] != f"caucus-{applicant_id}" for r in state["rooms"])
    assert all("底线" not in m["body"] for m in sneaky.emit("history", {"after_id": 0}, namespace=NS, callback=True)["history"])
    # The respondent cannot post into the applicant's caucus either.
    ack = sneaky.emit("send", {"room": f"caucus-{applicant_id}", "body": "我也要看", "client_id": "x"}, namespace=NS,
                      callback=True)
    assert ack["ok"] and ack["message"]["room"] != f"caucus-{applicant_id}"


def test_an_offer_accepted_by_both_sides_shows_as_accepted_to_everyone(app, room_case):
    case_id, webs = room_case
    clients, _ = joined(app, webs, case_id)
    due = (date.today() + timedelta(days=90)).isoformat()
    ack = clients["mediator"].emit("offer", {"room": "joint", "amount": "3000", "instalments": "3",
                                             "pay_by": due, "apology": True}, namespace=NS, callback=True)
    assert ack["ok"], ack
    offer_id = ack["offer"]["id"]
    assert ack["offer"]["text"] == f"支付 3,000.00 元，分 3 期，于 {due} 前付清；赔礼道歉"
    for who in ("applicant", "respondent"):
        ack = clients[who].emit("respond", {"offer_id": offer_id, "answer": "accept"}, namespace=NS, callback=True)
        assert ack["ok"], ack
    assert ack["offer"]["status"] == "accepted"
    for c in clients.values():
        offers = received(c, "offer")
        assert offers[-1]["id"] == offer_id and offers[-1]["status"] == "accepted"
    with app.app_context():
        assert db.session.get(Offer, offer_id).status == "accepted"


def test_a_partys_own_offer_needs_only_the_other_side_and_a_refusal_rejects(app, room_case):
    case_id, webs = room_case
    clients, _ = joined(app, webs, case_id)
    ack = clients["applicant"].emit("offer", {"amount": "5000"}, namespace=NS, callback=True)
    first = ack["offer"]["id"]
    refused = clients["applicant"].emit("respond", {"offer_id": first, "answer": "accept"}, namespace=NS, callback=True)
    assert not refused["ok"] and "等待对方答复" in refused["error"]
    counter = clients["respondent"].emit("offer", {"amount": "2000", "replaces_id": first}, namespace=NS, callback=True)
    assert counter["ok"]
    with app.app_context():
        assert db.session.get(Offer, first).status == "rejected"  # a counter-offer answers the offer it replaces
    ack = clients["applicant"].emit("respond", {"offer_id": counter["offer"]["id"], "answer": "reject"}, namespace=NS,
                                    callback=True)
    assert ack["offer"]["status"] == "rejected"


def test_bad_offer_input_names_the_field_and_stores_nothing(app, room_case):
    case_id, webs = room_case
    clients, _ = joined(app, webs, case_id)
    cases = [({"amount": "五千"}, "amount", "金额请填写数字"), ({"amount": "-1"}, "amount", "0 到 1 亿"),
             ({"amount": "100", "instalments": "0"}, "instalments", "1 到 120"),
             ({"amount": "100", "pay_by": "2020-01-01"}, "pay_by", "不能早于今天"),
             ({"amount": "100", "pay_by": "31/12/2026"}, "pay_by", "年-月-日"), ({}, "amount", "至少填写")]
    for data, field, text in cases:
        ack = clients["applicant"].emit("offer", data, namespace=NS, callback=True)
        assert not ack["ok"] and ack["field"] == field and text in ack["error"], (data, ack)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Offer)) == 0


def test_a_reconnect_restores_the_history_and_a_resend_is_not_a_copy(app, room_case):
    case_id, webs = room_case
    clients, _ = joined(app, webs, case_id)
    for i in range(3):
        clients["mediator"].emit("send", {"room": "joint", "body": f"第{i + 1}条", "client_id": f"m{i}"}, namespace=NS,
                                 callback=True)
    clients["applicant"].disconnect(namespace=NS)
    again = connect(app, webs["applicant"], case_id)
    history = received(again, "state")[0]["history"]
    assert [m["body"] for m in history] == ["第1条", "第2条", "第3条"]
    first = again.emit("send", {"body": "网络不好，重发一次", "client_id": "dup-1"}, namespace=NS, callback=True)
    second = again.emit("send", {"body": "网络不好，重发一次", "client_id": "dup-1"}, namespace=NS, callback=True)
    assert first["message"]["id"] == second["message"]["id"]
    after = again.emit("history", {"after_id": history[-1]["id"]}, namespace=NS, callback=True)["history"]
    assert [m["body"] for m in after] == ["网络不好，重发一次"]


def test_empty_or_too_long_messages_are_refused(app, room_case):
    case_id, webs = room_case
    clients, _ = joined(app, webs, case_id)
    assert clients["applicant"].emit("send", {"body": "   "}, namespace=NS, callback=True)["error"] == "请输入内容。"
    ack = clients["applicant"].emit("send", {"body": "字" * 2001}, namespace=NS, callback=True)
    assert not ack["ok"] and ack["field"] == "body" and "2000" in ack["error"]


def test_safety_flag_closes_the_joint_room_for_good(app, room_case):
    case_id, webs = room_case
    clients, states = joined(app, webs, case_id)
    refused = clients["applicant"].emit("flag", {"kind": "violence"}, namespace=NS, callback=True)
    assert not refused["ok"] and refused["status"] == 403
    assert not clients["mediator"].emit("flag", {"kind": ""}, namespace=NS, callback=True)["ok"]
    assert clients["mediator"].emit("flag", {"kind": "violence", "note": "申请人称曾被推搡"}, namespace=NS,
                                    callback=True)["ok"]
    applicant_id = states["applicant"]["user_id"]
    assert received(clients["applicant"], "joint_closed")[0]["room"] == f"caucus-{applicant_id}"
    ack = clients["applicant"].emit("send", {"body": "我在哪里？", "client_id": "q"}, namespace=NS, callback=True)
    assert ack["message"]["room"] == f"caucus-{applicant_id}"
    assert all(m["body"] != "我在哪里？" for m in received(clients["respondent"], "chat"))
    ack = clients["mediator"].emit("send", {"room": "joint", "body": "大家好"}, namespace=NS, callback=True)
    assert not ack["ok"] and "联合调解已关闭" in ack["error"]
    ack = clients["mediator"].emit("move", {"user_id": applicant_id, "room": "joint"}, namespace=NS, callback=True)
    assert not ack["ok"] and "联合调解已关闭" in ack["error"]
    # A video call between the two parties is refused as well; with the mediator it still works.
    respondent_id = states["respondent"]["user_id"]
    ack = clients["applicant"].emit("signal", {"to": respondent_id, "data": {"type": "offer", "sdp": "x"}},
                                    namespace=NS, callback=True)
    assert not ack["ok"]
    ack = clients["applicant"].emit("signal", {"to": states["mediator"]["user_id"], "data": {"type": "offer", "sdp": "x"}},
                                    namespace=NS, callback=True)
    assert ack["ok"]
    assert received(clients["mediator"], "signal")[0] == {"from": applicant_id, "data": {"type": "offer", "sdp": "x"}}


def test_the_room_page_renders_for_participants_only(app, room_case, make_web):
    case_id, webs = room_case
    for who in ("applicant", "respondent", "mediator"):
        html = webs[who].get(f"/cases/{case_id}/room").get_data(as_text=True)
        assert "调解室" in html and "socket.io.min.js" in html and "room.js" in html
        assert "<script>" not in html  # CSP: no inline script
    assert "调解员工具" in webs["mediator"].get(f"/cases/{case_id}/room").get_data(as_text=True)
    assert "调解员工具" not in webs["applicant"].get(f"/cases/{case_id}/room").get_data(as_text=True)
    assert "进入调解室" in webs["applicant"].get(f"/cases/{case_id}").get_data(as_text=True)
    other = make_web()
    other.login("resident2")  # a party of this case: fine; now someone who is not
    stranger = make_web()
    stranger.login("grid1")
    assert stranger.get(f"/cases/{case_id}/room").status_code == 404


def test_script_in_a_message_is_stored_as_text(app, room_case):
    case_id, webs = room_case
    clients, _ = joined(app, webs, case_id)
    ack = clients["applicant"].emit("send", {"body": "<script>alert(1)</script>{{ 7*7 }}"}, namespace=NS, callback=True)
    assert ack["message"]["body"] == "<script>alert(1)</script>{{ 7*7 }}"


def test_a_connection_sending_too_fast_is_slowed_down_and_nothing_extra_is_stored(app, room_case, monkeypatch):
    monkeypatch.setitem(app.config, "ROOM_EVENT_BURST", 5)
    monkeypatch.setitem(app.config, "ROOM_EVENTS_PER_SECOND", 0.001)
    case_id, webs = room_case
    clients, _ = joined(app, webs, case_id)
    acks = [clients["applicant"].emit("send", {"body": f"刷屏{i}", "client_id": f"f{i}"}, namespace=NS, callback=True)
            for i in range(8)]
    assert [a["ok"] for a in acks] == [True] * 5 + [False] * 3
    assert acks[-1] == {"ok": False, "error": "发送太频繁了，请稍等几秒再发。", "status": 429}
    moved = clients["applicant"].emit("flag", {}, namespace=NS, callback=True)   # every event shares the budget
    assert moved["status"] == 429
    assert clients["mediator"].emit("send", {"room": "joint", "body": "请大家慢一点"}, namespace=NS,
                                    callback=True)["ok"]                        # per connection: others go on
    with app.app_context():
        stored = db.session.scalars(sa.select(RoomMessage.body).where(RoomMessage.case_id == case_id)).all()
        assert sorted(stored) == sorted([f"刷屏{i}" for i in range(5)] + ["请大家慢一点"])
