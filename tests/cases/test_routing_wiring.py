"""Routing in the app: automatic assignment with its explanation, triage, one change on request,
overrides with a reason, conflicts of interest and related cases."""
from __future__ import annotations

import re

import sqlalchemy as sa

from app.accounts.models import MediatorProfile, User
from app.cases.models import Case, CaseEvent, RoutingDecision
from tests.cases.test_funnel_journeys import file_dispute, load, step


def decisions(app, case_id):
    from app.extensions import db

    with app.app_context():
        rows = db.session.scalars(sa.select(RoutingDecision).where(RoutingDecision.case_id == case_id)
                                  .order_by(RoutingDecision.id)).all()
        return [(d.kind, d.mediator.username if d.mediator else None, d.reason, d.related) for d in rows]


def mediator_username(app, case_id):
    from app.extensions import db

    with app.app_context():
        case = db.session.get(Case, case_id)
        return case.mediator.username if case.mediator else None


def test_vague_text_goes_to_triage_and_the_org_admin_assigns(app, demo, make_web):
    resident, orgadmin = make_web(), make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "想请人评评理", "contract", "说来话长，想找个懂行的人帮我们评评理，看看到底谁对谁错。")
    step(resident, case_id, "request_mediation")
    assert load(app, case_id)[:2] == ("mediate", "awaiting_assignment")
    assert decisions(app, case_id)[0][0] == "triage"
    page = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "等待安排调解员" in page and "您无需操作" in page and "需要工作人员判断" not in page  # plain words for residents

    orgadmin.login("orgadmin1")
    board = orgadmin.get("/org/cases").get_data(as_text=True)
    assert "待人工分派" in board and "想请人评评理" in board and "需要工作人员判断" in board  # the reason, for staff
    page = orgadmin.get(f"/org/cases/{case_id}/assign").get_data(as_text=True)
    mediator_id = re.search(r'name="mediator_id" value="(\d+)"[^>]*>\s*刘德明', page).group(1)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    resp = orgadmin.post(f"/org/cases/{case_id}/assign", {"mediator_id": mediator_id, "version": version})
    assert resp.status_code == 302
    assert load(app, case_id)[:2] == ("mediate", "in_progress")
    assert decisions(app, case_id)[-1][:2] == ("override", "mediator2")


def test_resident_may_ask_once_for_another_mediator(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "邻居家狗天天叫", "neighbour", "隔壁邻居养的狗每天半夜狂叫，影响老人休息，沟通多次无果。")
    step(resident, case_id, "request_mediation")
    first = mediator_username(app, case_id)
    assert first is not None
    assert step(resident, case_id, "request_other_mediator").status_code == 302
    second = mediator_username(app, case_id)
    assert second not in (None, first)
    assert [d[0] for d in decisions(app, case_id)] == ["auto", "resident_request"]
    page = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "steps/request_other_mediator" not in page and "已申请过一次更换调解员" in page
    again = step(resident, case_id, "request_other_mediator")
    assert again.status_code == 409 and "已申请过一次更换调解员" in again.get_data(as_text=True)
    assert mediator_username(app, case_id) == second


def test_org_admin_override_needs_a_reason_and_is_recorded(app, demo, make_web):
    resident, orgadmin = make_web(), make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "楼道堆放杂物", "neighbour", "对门邻居长期在楼道堆放杂物和旧家具，堵住通道，存在消防隐患。")
    step(resident, case_id, "request_mediation")
    assert mediator_username(app, case_id) == "mediator1"
    orgadmin.login("orgadmin1")
    page = orgadmin.get(f"/org/cases/{case_id}/assign").get_data(as_text=True)
    assert "改派" in page and "当前调解员" in page
    mediator_id = re.search(r'name="mediator_id" value="(\d+)"[^>]*>\s*刘德明', page).group(1)
    url = f"/org/cases/{case_id}/assign"
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    missing = orgadmin.post(url, {"mediator_id": mediator_id, "version": version})
    body = missing.get_data(as_text=True)
    assert missing.status_code == 422 and 'id="reason-error">“改派调解员”需要填写说明或理由' in body
    resp = orgadmin.post(url, {"mediator_id": mediator_id, "version": version, "reason": "张桂兰本周休假。"})
    assert resp.status_code == 302
    assert mediator_username(app, case_id) == "mediator2"
    assert decisions(app, case_id)[-1][:3] == ("override", "mediator2", "张桂兰本周休假。")
    from app.extensions import db

    with app.app_context():
        event = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case_id)
                                   .order_by(CaseEvent.seq.desc())).first()
        assert (event.action, event.reason) == ("reassign_mediator", "张桂兰本周休假。")


def test_a_mediator_related_to_a_party_is_never_assigned(app, demo, make_web):
    from app.extensions import db

    with app.app_context():
        mediator1 = db.session.scalar(sa.select(User).where(User.username == "mediator1"))
        db.session.get(MediatorProfile, mediator1.id).relatives = ["赵大伟"]
        db.session.commit()
    resident, orgadmin = make_web(), make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "邻居占用公共过道", "neighbour", "邻居赵大伟在两家之间的公共过道搭建棚子，堵住我家出入通道。",
                           respondent="赵大伟")
    step(resident, case_id, "request_mediation")
    assert mediator_username(app, case_id) not in (None, "mediator1")
    orgadmin.login("orgadmin1")
    page = orgadmin.get(f"/org/cases/{case_id}/assign").get_data(as_text=True)
    if "张桂兰" in page:  # shown, but disabled with the reason
        assert re.search(r'value="\d+" disabled>\s*张桂兰', page) and "调解员与当事人有亲属关系" in page


def test_a_second_case_against_the_same_party_is_flagged_as_related(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    first = file_dispute(resident, "装修噪音", "neighbour", "楼下邻居孙某装修每天早上七点开始电钻施工，严重影响休息。",
                         respondent="孙某某")
    step(resident, first, "request_mediation")
    second = file_dispute(resident, "装修渗水", "neighbour", "楼下邻居孙某装修时破坏了管道，导致我家墙面渗水发霉。",
                          respondent="孙某某")
    step(resident, second, "request_mediation")
    related = decisions(app, second)[-1][3]
    assert any(r["case_id"] == first for r in related)
    mediator = make_web()
    mediator.login(mediator_username(app, second))
    page = mediator.get(f"/cases/{second}").get_data(as_text=True)
    assert "可能相关的案件" in page and f"#{first}" in page
    page = resident.get(f"/cases/{second}").get_data(as_text=True)
    assert "可能相关的案件" not in page  # other cases are the organisation's business, not the resident's
