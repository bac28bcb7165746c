"""Mediation deadlines: one month (labour: 15 days) from the mediator's assignment, overdue cases first on the
org admin's board, and extensions only with both parties' recorded consent."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from app.cases.models import Case, CaseEvent
from app.extensions import db
from app.mediation.models import OutboxMessage
from app.mediation.schedule_models import DeadlineExtension
from tests.cases.test_funnel_journeys import file_dispute, mediator_of, step

LEAK = "楼上卫生间漏水泡坏我家天花板"  # the demo's neighbour case: resident1 against resident2, with mediator1


def beijing_today() -> date:
    return (datetime.now(UTC) + timedelta(hours=8)).date()


def _case(app, case_id=None, title=None):
    with app.app_context():
        case = (db.session.get(Case, case_id) if case_id
                else db.session.scalar(sa.select(Case).where(Case.title == title)))
        db.session.expunge(case)
        return case


def _set_due(app, case_id, due: date):
    with app.app_context():
        db.session.execute(sa.update(Case).where(Case.id == case_id).values(mediation_due_on=due))
        db.session.commit()


def _user_id(app, username):
    from app.accounts.models import User

    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == username))


def test_the_due_date_arithmetic_counts_beijing_calendar_days(app):
    from app.mediation.deadlines import due_date

    # 17:00 UTC on 31 March is 01:00 on 1 April in Beijing: one month of people's mediation ends on 1 May.
    assert due_date(datetime(2026, 3, 31, 17, 0), 30) == date(2026, 5, 1)
    assert due_date(datetime(2026, 3, 31, 15, 59), 30) == date(2026, 4, 30)
    assert due_date(datetime(2026, 2, 20, 3, 0), 15) == date(2026, 3, 7)  # labour: 15 days, across February


def test_assignment_starts_one_month_for_peoples_mediation(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "邻居装修噪音每天早上七点开始", "neighbour", "楼下邻居装修，每天早上七点就开始电钻，协商无果。")
    assert step(resident, case_id, "request_mediation").status_code == 302
    case = _case(app, case_id)
    assert case.status.value == "in_progress" and case.mediation_started_at is not None
    assert case.mediation_due_on == beijing_today() + timedelta(days=30)
    page = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "调解期限" in page and (beijing_today() + timedelta(days=30)).isoformat() in page and "还剩 30 天" in page


def test_a_labour_case_gets_fifteen_days_and_reassignment_keeps_the_clock(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "饭店拖欠两个月工资", "labour_wages", "我在一家饭店做服务员，老板拖欠两个月工资共八千元。",
                           respondent="某餐饮有限公司", **{"respondent1-kind": "organisation"})
    assert step(resident, case_id, "request_mediation").status_code == 302
    case = _case(app, case_id)
    assert case.status.value == "in_progress"
    started, due = case.mediation_started_at, case.mediation_due_on
    assert due == beijing_today() + timedelta(days=15)
    assert resident.post(f"/cases/{case_id}/steps/request_other_mediator",
                         {"version": str(case.version)}, page=f"/cases/{case_id}").status_code in (302, 409)
    after = _case(app, case_id)
    assert (after.mediation_started_at, after.mediation_due_on) == (started, due)


def test_the_org_board_shows_an_overdue_case_first(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "楼道堆放杂物堵住消防通道", "neighbour", "对门邻居长期在楼道堆放纸箱杂物，堵住消防通道，劝说无效。")
    assert step(resident, case_id, "request_mediation").status_code == 302
    assert mediator_of(app, case_id) == "mediator1"
    _set_due(app, case_id, beijing_today() - timedelta(days=4))

    admin = make_web()
    admin.login("orgadmin1")
    html = admin.get("/org/cases").get_data(as_text=True)
    assert "1 件已超期" in html
    table = html[html.index("<tbody>"):]
    rows = re.findall(r"<tr[^>]*>.*?</tr>", table, re.S)
    assert "楼道堆放杂物" in rows[0] and 'class="overdue"' in rows[0] and "已超期 4 天" in rows[0]
    assert any(LEAK in r and "还剩 30 天" in r for r in rows[1:])  # the demo case on time comes after it

    mediator = make_web()
    mediator.login("mediator1")
    inbox = mediator.get("/mediator/inbox").get_data(as_text=True)
    assert "1 件已超期" in inbox and "已超期 4 天" in inbox
    assert inbox.index("楼道堆放杂物") < inbox.index(LEAK)
    page = mediator.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "已超期 4 天" in page and "is-overdue" in page


def _propose(web, case_id, new_due: date | str, reason="双方正在核对维修费用，需要时间委托第三方评估。"):
    return web.post(f"/cases/{case_id}/deadline/extend", {"new_due_on": str(new_due), "reason": reason},
                    page=f"/cases/{case_id}")


def _answer_url(app, case_id):
    with app.app_context():
        ext = db.session.scalar(sa.select(DeadlineExtension).where(DeadlineExtension.case_id == case_id)
                                .order_by(DeadlineExtension.id.desc()))
        return f"/cases/{case_id}/deadline/{ext.id}/answer", ext.status


def _events(app, case_id):
    with app.app_context():
        return db.session.scalars(sa.select(CaseEvent.action).where(CaseEvent.case_id == case_id)
                                  .order_by(CaseEvent.seq)).all()


def test_an_extension_needs_both_parties(app, demo, make_web):
    case = _case(app, title=LEAK)
    due = case.mediation_due_on
    mediator, applicant, respondent = make_web(), make_web(), make_web()
    mediator.login("mediator1")
    applicant.login("resident1")
    respondent.login("resident2")
    assert "申请延长调解期限" in mediator.get(f"/cases/{case.id}").get_data(as_text=True)
    new_due = due + timedelta(days=20)
    assert _propose(mediator, case.id, new_due).status_code == 302
    url, status = _answer_url(app, case.id)
    assert status == "pending"
    page = applicant.get(f"/cases/{case.id}").get_data(as_text=True)
    assert new_due.isoformat() in page and "同意延长" in page and "委托第三方评估" in page

    assert applicant.post(url, {"agreed": "yes"}, page=f"/cases/{case.id}").status_code == 302
    assert _case(app, case.id).mediation_due_on == due  # one party is not enough
    assert "同意延长" not in applicant.get(f"/cases/{case.id}").get_data(as_text=True)  # answered: no buttons
    assert applicant.post(url, {"agreed": "yes"}, page=f"/cases/{case.id}").status_code == 409

    assert respondent.post(url, {"agreed": "yes"}, page=f"/cases/{case.id}").status_code == 302
    assert _case(app, case.id).mediation_due_on == new_due
    assert _answer_url(app, case.id)[1] == "agreed"
    assert _events(app, case.id)[-1] == "deadline_extended"
    page = mediator.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "各方同意延长调解期限" in page and f"还剩 {(new_due - beijing_today()).days} 天" in page
    with app.app_context():
        told = db.session.scalars(sa.select(OutboxMessage.to).where(
            OutboxMessage.case_id == case.id, OutboxMessage.channel == "in_app",
            OutboxMessage.subject.contains("调解期限已延长"))).all()
    assert sorted(told) == sorted(str(_user_id(app, u)) for u in ("resident1", "resident2", "mediator1"))


def test_a_refusal_refuses_the_extension_and_tells_the_mediator(app, demo, make_web):
    case = _case(app, title=LEAK)
    mediator, respondent = make_web(), make_web()
    mediator.login("mediator1")
    respondent.login("resident2")
    assert _propose(mediator, case.id, case.mediation_due_on + timedelta(days=10)).status_code == 302
    url, _ = _answer_url(app, case.id)
    assert respondent.post(url, {"agreed": "no"}, page=f"/cases/{case.id}").status_code == 302
    assert _answer_url(app, case.id)[1] == "refused"
    assert _case(app, case.id).mediation_due_on == case.mediation_due_on
    assert _events(app, case.id)[-1] == "deadline_extension_refused"
    with app.app_context():
        told = db.session.scalars(sa.select(OutboxMessage.body).where(
            OutboxMessage.channel == "in_app", OutboxMessage.to == str(_user_id(app, "mediator1")),
            OutboxMessage.subject.contains("未获同意"))).all()
    assert told and "李建国不同意" in told[0]
    assert "未获同意" in mediator.get(f"/cases/{case.id}").get_data(as_text=True)


def test_only_the_mediator_may_propose(app, demo, make_web):
    case = _case(app, title=LEAK)
    for username in ("resident1", "orgadmin1", "mediator3"):
        web = make_web()
        web.login(username)
        resp = _propose(web, case.id, case.mediation_due_on + timedelta(days=5))
        assert resp.status_code == (404 if username == "mediator3" else 403), username
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DeadlineExtension)) == 0


def test_a_bad_date_is_explained_next_to_the_field(app, demo, make_web):
    case = _case(app, title=LEAK)
    mediator = make_web()
    mediator.login("mediator1")
    reason = "被申请人出差，下周才能参加调解。"
    cases = [(case.mediation_due_on, "新的调解期限须晚于当前期限"),
             (case.mediation_due_on + timedelta(days=31), "每次最多延长 30 日"),
             ("2026-13-45", "日期格式不正确"),
             ("", "请选择新的调解期限")]
    for value, message in cases:
        resp = _propose(mediator, case.id, value, reason)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422, value
        error = re.search(r'<p class="error" id="new_due_on-error">([^<]*)</p>', html)
        assert error and message in error.group(1), (value, html[:3000])
        assert reason in html  # nothing lost
    resp = _propose(mediator, case.id, case.mediation_due_on + timedelta(days=5), "")
    assert resp.status_code == 422 and "请说明需要延长调解期限的原因" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DeadlineExtension)) == 0
