"""Every escalation step tells each party with an account, and the receiving body's staff when a case arrives there."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from app.accounts.models import Organisation, User
from app.cases import operations
from app.cases.models import PartyKind, PartyRole
from app.cases.operations import CaseData, PartyData
from app.cases.rules import current_rules
from app.extensions import db
from app.mediation.models import OutboxMessage


def _users():
    return {u.username: u for u in db.session.scalars(sa.select(User))}


def _file(users, category, title):
    r1, r2 = users["resident1"], users["resident2"]
    parties = [PartyData(role=PartyRole.applicant, kind=PartyKind.person, name=r1.display_name, user_id=r1.id,
                         region_code="340202001001"),
               PartyData(role=PartyRole.respondent, kind=PartyKind.person, name=r2.display_name, user_id=r2.id,
                         region_code="340202001001")]
    data = CaseData(title=title, description="双方发生纠纷，协商不成。", category=category, amount=Decimal("9000"),
                    region_code="340202001001", has_arbitration_agreement=True)
    return operations.file_case(r1, data, parties, current_rules())


def _inbox(case, user):
    """What the user's notifications page lists for this case: (subject, body) in order."""
    return db.session.execute(sa.select(OutboxMessage.subject, OutboxMessage.body).where(
        OutboxMessage.case_id == case.id, OutboxMessage.channel == "in_app", OutboxMessage.to == str(user.id))
        .order_by(OutboxMessage.id)).all()


def _step(case, action, user, reason=None, **data):
    operations.transition(case, action, user, current_rules(), reason=reason, data=data)
    db.session.flush()


def test_each_step_of_a_labour_case_reaches_both_parties_and_the_receiving_staff(ctx, demo):
    users = _users()
    case = _file(users, "labour_wages", "饭店拖欠工资")
    court = db.session.scalar(sa.select(Organisation).where(Organisation.name.like("%法院%")).order_by(Organisation.id))
    _step(case, "request_arbitration", users["resident1"])
    assert [s for s, _ in _inbox(case, users["arbitrator1"])] == ["新的仲裁申请"]
    assert _inbox(case, users["arbitrator2"]) == []  # another commission
    _step(case, "accept_arbitration", users["arbitrator1"])
    _step(case, "issue_award", users["arbitrator1"], reason="裁决被申请人支付工资9000元。")
    _step(case, "file_lawsuit", users["resident1"], court_id=court.id)
    _step(case, "return_filing", users["court1"], reason="请补充被申请人的身份证号码")
    _step(case, "resubmit_filing", users["resident1"])
    _step(case, "accept_filing", users["court1"], court_case_number="（2026）皖0202民初123号")
    expected = ["已申请仲裁", "仲裁申请已受理", "仲裁裁决已作出", "已向法院起诉", "起诉材料被退回补正",
                "起诉材料已重新提交", "法院已立案"]
    for who in ("resident1", "resident2"):
        got = _inbox(case, users[who])
        assert [s for s, _ in got if s in expected] == expected, who
        bodies = dict(got)
        assert "镜湖区劳动人事争议仲裁委员会" in bodies["已申请仲裁"]
        assert "请补充被申请人的身份证号码" in bodies["起诉材料被退回补正"]
        assert "（2026）皖0202民初123号" in bodies["法院已立案"] and court.name in bodies["法院已立案"]
    assert [s for s, _ in _inbox(case, users["court1"])] == ["新的起诉材料", "补正后的起诉材料"]


def test_an_accepted_award_closes_the_case_and_everyone_hears_of_it(ctx, demo):
    users = _users()
    case = _file(users, "construction", "装修工期延误")
    _step(case, "request_arbitration", users["resident1"])
    assert [s for s, _ in _inbox(case, users["arbitrator2"])] == ["新的仲裁申请"]
    _step(case, "accept_arbitration", users["arbitrator2"])
    assert case.arbitrator_id == users["arbitrator2"].id
    _step(case, "issue_award", users["arbitrator2"], reason="裁决被申请人支付违约金。")
    _step(case, "conclude_award", users["resident2"])
    for who in ("resident1", "resident2"):
        subjects = [s for s, _ in _inbox(case, users[who])]
        assert subjects[-2:] == ["仲裁裁决已作出", "仲裁案件已结案"], who
        assert "芜湖仲裁委员会" in dict(_inbox(case, users[who]))["仲裁申请已受理"]
