"""Everyone hears of every escalation step: one case_transitioned handler tells each party with an account, and the
staff of the receiving body when a case arrives there (the commission's arbitrators, the court's clerks)."""
from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import Role, User
from app.cases.models import Case
from app.cases.signals import case_transitioned
from app.core.i18n import gettext
from app.escalation.hearing import party_users
from app.extensions import db

STEPS = ("request_arbitration", "accept_arbitration", "issue_award", "conclude_award", "file_lawsuit",
         "accept_filing", "return_filing", "resubmit_filing")
TO_STAFF = {"request_arbitration": Role.arbitrator, "file_lawsuit": Role.court_clerk,
            "resubmit_filing": Role.court_clerk}


def _body_name(case: Case) -> str:
    return case.arbitration_body.name if case.arbitration_body else gettext("仲裁机构")


def _court_name(case: Case) -> str:
    return case.court.name if case.court else gettext("人民法院")


def party_message(case: Case, action: str, reason: str | None) -> tuple[str, str]:
    """(subject, body) of the message to the parties, plain Chinese."""
    ref = gettext("案件 #%(id)s（%(title)s）", id=case.id, title=case.title)
    body, court = _body_name(case), _court_name(case)
    messages = {
        "request_arbitration": (gettext("已申请仲裁"), gettext("%(ref)s已向%(body)s申请仲裁，等待仲裁委员会受理。",
                                                          ref=ref, body=body)),
        "accept_arbitration": (gettext("仲裁申请已受理"), gettext("%(body)s已受理%(ref)s的仲裁申请，仲裁员将通知开庭时间。",
                                                           body=body, ref=ref)),
        "issue_award": (gettext("仲裁裁决已作出"), gettext("%(body)s已就%(ref)s作出仲裁裁决，请登录解纷平台查看裁决书。",
                                                      body=body, ref=ref)),
        "conclude_award": (gettext("仲裁案件已结案"), gettext("%(ref)s已按仲裁裁决结案。", ref=ref)),
        "file_lawsuit": (gettext("已向法院起诉"), gettext("%(ref)s已向%(court)s提交起诉材料，等待法院立案审查。",
                                                     ref=ref, court=court)),
        "accept_filing": (gettext("法院已立案"), gettext("%(court)s已受理%(ref)s，案号：%(number)s。",
                                                    court=court, ref=ref, number=case.court_case_number or "—")),
        "return_filing": (gettext("起诉材料被退回补正"), gettext("%(court)s退回了%(ref)s的起诉材料，理由：%(reason)s。"
                                                           "请补正后重新提交。", court=court, ref=ref,
                                                           reason=reason or "—")),
        "resubmit_filing": (gettext("起诉材料已重新提交"), gettext("%(ref)s的起诉材料已补正并重新提交%(court)s。",
                                                           ref=ref, court=court)),
    }
    return messages[action]


def staff_of(case: Case, role: Role) -> list[User]:
    org_id = case.arbitration_body_id if role == Role.arbitrator else case.court_id
    if org_id is None:
        return []
    return list(db.session.scalars(sa.select(User).where(User.role == role, User.organisation_id == org_id,
                                                         User.active.is_(True)).order_by(User.id)))


def staff_message(case: Case, action: str) -> tuple[str, str]:
    ref = gettext("案件 #%(id)s（%(title)s）", id=case.id, title=case.title)
    if action == "request_arbitration":
        return gettext("新的仲裁申请"), gettext("%(ref)s申请仲裁，请在仲裁收案中审查受理。", ref=ref)
    if action == "resubmit_filing":
        return gettext("补正后的起诉材料"), gettext("%(ref)s的起诉材料已补正并重新提交，请审查立案。", ref=ref)
    return gettext("新的起诉材料"), gettext("%(ref)s向本院提交起诉材料，请审查立案。", ref=ref)


def _on_transition(case: Case, transition=None, actor=None, event=None, **_):
    from app.mediation.operations import notify_user

    action = getattr(transition, "action", None)
    if action not in STEPS:
        return
    subject, body = party_message(case, action, event.reason if event is not None else None)
    for user in party_users(case):
        notify_user(user, subject, body, case)
    if action in TO_STAFF:
        subject, body = staff_message(case, action)
        for user in staff_of(case, TO_STAFF[action]):
            notify_user(user, subject, body, case)


case_transitioned.connect(_on_transition, weak=False)
