"""Judicial confirmation (司法确认) of a signed agreement: the joint application, the competent court, the clerk's
decision, the countdown and the reminders.

人民调解法 art. 33 and 民事诉讼法 art. 205: both parties apply together within 30 days of the agreement taking
effect, to the basic people's court where the mediation organisation is located. One party applies here, the
other joins; only then is it submitted to the court. Operations flush, never commit."""
from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.accounts.models import Organisation, OrgType, Role, User
from app.agreements.content import current_agreement, pdf_data
from app.agreements.models import Agreement, ConfirmationApplication
from app.agreements.pdf import signed_pdf_bytes
from app.cases.models import Case
from app.cases.operations import append_event
from app.core import jobs
from app.core.errors import DomainError
from app.core.i18n import N_, gettext
from app.core.time import utcnow
from app.core.web import localtime
from app.extensions import db
from app.mediation.models import OutboxMessage
from app.mediation.operations import notify_user

CONFIRMATION_DAYS = 30
REMINDER_DAYS = (23, 28)  # after signing: a week left, then two days left
PENDING = ("awaiting", "submitted")
AT_COURT = ("submitted", "confirmed", "rejected")
PARTY_ROLES = ("applicant", "respondent")
# Marked with N_, translated where shown: gettext(STATUS_LABELS[status]).
STATUS_LABELS = {"awaiting": N_("等待对方当事人确认"), "submitted": N_("已提交法院，等待审查"), "confirmed": N_("已确认有效"),
                 "rejected": N_("已驳回"), "withdrawn": N_("已撤回")}


class ConfirmationRefused(DomainError):
    """An application, a joining, a withdrawal or a decision that cannot be made now; the message says why."""

    status_code = 409


# --- the agreement, its deadline, the court -----------------------------------------------------
def signed_agreement(case: Case) -> Agreement | None:
    """The case's current agreement if it is fully signed (in effect), else None."""
    agreement = current_agreement(case)
    signed = agreement is not None and agreement.status == "signed" and agreement.signed_at is not None
    return agreement if signed else None


def deadline_of(agreement: Agreement) -> datetime:
    return agreement.signed_at + timedelta(days=CONFIRMATION_DAYS)


def days_left(agreement: Agreement, now: datetime | None = None) -> int:
    """Whole days (rounded up) until the 30 days run out; 0 or less once they have."""
    remaining = (deadline_of(agreement) - (now or utcnow())).total_seconds()
    return math.ceil(remaining / 86400) if remaining > 0 else 0


def competent_court(case: Case) -> Organisation | None:
    """The court whose region covers the mediation organisation's (longest region-code prefix wins)."""
    org = case.organisation
    if org is None or not org.region_code:
        return None
    courts = db.session.scalars(sa.select(Organisation).where(Organisation.type == OrgType.court)
                                .order_by(Organisation.id)).all()
    covering = [c for c in courts if c.region_code and org.region_code.startswith(c.region_code)]
    return max(covering, key=lambda c: len(c.region_code), default=None)


# --- who is who -------------------------------------------------------------------------------------
def signer_roles(agreement: Agreement) -> dict[int, str]:
    """{user id: applicant|respondent} of the parties who signed the agreement."""
    return {s.user_id: s.role for s in agreement.signatures if s.role in PARTY_ROLES}


def _party_side(case: Case, agreement: Agreement, user: User) -> str:
    """The side the user signed the agreement for; 403 for anyone else."""
    if not user.is_authenticated or not case.is_party(user):
        raise DomainError(gettext("只有本案当事人可以申请司法确认。"), 403)
    side = signer_roles(agreement).get(user.id)
    if side is None:
        raise DomainError(gettext("只有在调解协议上签名的当事人可以申请司法确认。"), 403)
    return side


def require_party(case: Case, user: User) -> None:
    if not user.is_authenticated or not case.is_party(user):
        raise DomainError(gettext("只有本案当事人可以申请司法确认。"), 403)


def is_court_clerk_of(application: ConfirmationApplication, user: User) -> bool:
    return (user.is_authenticated and user.role == Role.court_clerk
            and user.organisation_id is not None and user.organisation_id == application.court_id)


def clerk_may_view(case: Case, user: User) -> bool:
    """A clerk of the court a submitted (or decided) application for this case is addressed to."""
    if not user.is_authenticated or user.role != Role.court_clerk or user.organisation_id is None:
        return False
    return case.id in set(db.session.scalars(clerk_case_ids(user.organisation_id)))


def may_read_application(case: Case, user: User) -> bool:
    """The parties, the case's mediator, and the clerks of the court once it is submitted there."""
    is_mediator = case.mediator_id is not None and case.mediator_id == user.id
    return user.is_authenticated and (case.is_party(user) or is_mediator or clerk_may_view(case, user))


def clerk_case_ids(court_id: int | None) -> sa.Select:
    """Ids of cases with an application submitted to (or decided by) this court: for Case.visible_to."""
    return sa.select(ConfirmationApplication.case_id).where(ConfirmationApplication.court_id == court_id,
                                                           ConfirmationApplication.status.in_(AT_COURT))


# --- applications -----------------------------------------------------------------------------------
def applications_of(agreement: Agreement) -> list[ConfirmationApplication]:
    return db.session.scalars(sa.select(ConfirmationApplication)
                              .where(ConfirmationApplication.agreement_id == agreement.id)
                              .order_by(ConfirmationApplication.id.desc())).all()


def current_application(agreement: Agreement | None) -> ConfirmationApplication | None:
    """The latest application for this agreement that was not withdrawn (pending or decided)."""
    if agreement is None:
        return None
    return next((a for a in applications_of(agreement) if a.status != "withdrawn"), None)


def _check_window(agreement: Agreement, now: datetime) -> None:
    if now > deadline_of(agreement):
        raise ConfirmationRefused(gettext(
            "已超过 30 日申请期限：调解协议于 %(signed)s 生效，应在 %(due)s 前申请司法确认，现已不能在线申请。"
            "协议仍然有效；对方不履行的，您可以就协议的履行向人民法院起诉。",
            signed=localtime(agreement.signed_at), due=localtime(deadline_of(agreement))))


def apply(case: Case, user: User, now: datetime | None = None) -> ConfirmationApplication:
    """One party applies; the other side is asked to join. 409 if late, unsigned or already applied."""
    now = now or utcnow()
    require_party(case, user)
    agreement = signed_agreement(case)
    if agreement is None:
        raise ConfirmationRefused(gettext("调解协议尚未经各方签署生效，暂不能申请司法确认。"))
    _party_side(case, agreement, user)
    _check_window(agreement, now)
    existing = current_application(agreement)
    if existing is not None:
        raise ConfirmationRefused({
            "awaiting": gettext("已有一份司法确认申请等待对方当事人确认，不能重复申请。"),
            "submitted": gettext("司法确认申请已提交人民法院，正在审查，不能重复申请。"),
            "confirmed": gettext("人民法院已裁定确认本调解协议有效，无需再次申请。"),
            "rejected": gettext("人民法院已裁定驳回对本调解协议的司法确认申请，不能就同一协议再次申请。"),
        }[existing.status])
    court = competent_court(case)
    if court is None:
        raise ConfirmationRefused(gettext(
            "未找到调解组织所在地的基层人民法院，暂不能在线申请司法确认。请联系调解员，或直接到人民法院提出申请。"))
    application = ConfirmationApplication(case_id=case.id, agreement_id=agreement.id, court_id=court.id,
                                          status="awaiting", applied_by_id=user.id, applied_at=now,
                                          deadline_at=deadline_of(agreement))
    db.session.add(application)
    db.session.flush()
    append_event(case, user, "confirmation_applied", (case.stage, case.status), court.name)
    for other in _other_side(agreement, user):
        notify_user(other, f"【解纷】请确认司法确认申请：{case.title}",
                    f"{user.display_name}已申请由{court.name}确认双方签署的调解协议有效。司法确认须双方共同申请："
                    f"请在 {localtime(deadline_of(agreement))} 前登录解纷平台，在案件页面确认加入申请。", case)
    return application


def _other_side(agreement: Agreement, user: User) -> list[User]:
    """The party signers on the side opposite to user's."""
    roles = signer_roles(agreement)
    mine = roles.get(user.id)
    ids = [uid for uid, role in roles.items() if role != mine]
    return db.session.scalars(sa.select(User).where(User.id.in_(ids)).order_by(User.id)).all() if ids else []


def join(case: Case, user: User, now: datetime | None = None) -> ConfirmationApplication:
    """The other side joins the pending application: it is submitted to the court."""
    now = now or utcnow()
    require_party(case, user)
    agreement = signed_agreement(case)
    application = current_application(agreement)
    if agreement is None or application is None or application.status != "awaiting":
        raise ConfirmationRefused(gettext("没有等待您确认的司法确认申请。"))
    side = _party_side(case, agreement, user)
    if side == signer_roles(agreement).get(application.applied_by_id):
        raise ConfirmationRefused(gettext("司法确认须由双方共同申请：请等待对方当事人确认加入。"))
    _check_window(agreement, now)
    application.joined_by_id, application.joined_at, application.status = user.id, now, "submitted"
    db.session.flush()
    court = application.court
    append_event(case, user, "confirmation_joined", (case.stage, case.status), court.name)
    for party in _party_users(application):
        notify_user(party, f"【解纷】司法确认申请已提交法院：{case.title}",
                    f"双方已共同申请司法确认，申请已提交{court.name}。法院审查后会在案件页面告知结果。", case)
    for clerk in _clerks(court):
        notify_user(clerk, f"【解纷】新的司法确认申请：{case.title}",
                    f"案件 #{case.id} 的双方当事人共同申请确认调解协议有效，请在法院收案页面审查。", case)
    return application


def withdraw(case: Case, user: User) -> ConfirmationApplication:
    """The party who applied withdraws it before the court decides."""
    require_party(case, user)
    application = current_application(signed_agreement(case))
    if application is None or application.status not in PENDING:
        raise ConfirmationRefused(gettext("没有可以撤回的司法确认申请（法院已作出裁定的申请不能撤回）。"))
    if application.applied_by_id != user.id:
        raise DomainError(gettext("只有提出申请的当事人可以撤回申请。"), 403)
    application.status = "withdrawn"
    db.session.flush()
    append_event(case, user, "confirmation_withdrawn", (case.stage, case.status))
    for party in _party_users(application):
        if party.id != user.id:
            notify_user(party, f"【解纷】司法确认申请已撤回：{case.title}",
                        f"{user.display_name}撤回了司法确认申请。", case)
    return application


def decide(application: ConfirmationApplication, clerk: User, confirm: bool, reasons: str | None,
           now: datetime | None = None) -> ConfirmationApplication:
    """The court's ruling: confirmed valid (裁定确认有效) or rejected with reasons (裁定驳回)."""
    if not is_court_clerk_of(application, clerk):
        raise DomainError(gettext("您要找的页面不存在，或您无权查看。"), 404)
    if application.status != "submitted":
        raise ConfirmationRefused(gettext("该申请已处理或已撤回，不能再作裁定。"))
    reasons = (reasons or "").strip() or None
    if not confirm and not reasons:
        raise DomainError(gettext("驳回申请须写明理由。"), 422)
    application.status = "confirmed" if confirm else "rejected"
    application.decided_by_id, application.decided_at = clerk.id, now or utcnow()
    application.reasons = reasons
    db.session.flush()
    case = db.session.get(Case, application.case_id)
    court = application.court.name
    append_event(case, clerk, "confirmation_confirmed" if confirm else "confirmation_rejected",
                 (case.stage, case.status), reasons or court)
    if confirm:
        subject, body = (f"【解纷】调解协议已经司法确认：{case.title}",
                         f"{court}已裁定确认双方的调解协议有效。一方拒绝履行或者未全部履行的，"
                         f"对方当事人可以向人民法院申请强制执行。")
    else:
        subject, body = (f"【解纷】司法确认申请被驳回：{case.title}",
                         f"{court}裁定驳回司法确认申请。理由：{reasons}。当事人可以通过调解方式变更原调解协议"
                         f"或者达成新的调解协议，也可以向人民法院提起诉讼。")
    for user in _party_users(application) + ([case.mediator] if case.mediator else []):
        notify_user(user, subject, body, case)
    return application


def _party_users(application: ConfirmationApplication) -> list[User]:
    """The applicant and, once joined, the other party (each once)."""
    users = [application.applied_by] + ([application.joined_by] if application.joined_by else [])
    return list({u.id: u for u in users}.values())


def _clerks(court: Organisation) -> list[User]:
    return db.session.scalars(sa.select(User).where(User.role == Role.court_clerk, User.active.is_(True),
                                                    User.organisation_id == court.id).order_by(User.id)).all()


def court_inbox(court_id: int | None) -> list[ConfirmationApplication]:
    """Applications before this court: submitted ones (oldest first), then decided ones (newest first)."""
    rows = db.session.scalars(sa.select(ConfirmationApplication).where(
        ConfirmationApplication.court_id == court_id, ConfirmationApplication.status.in_(AT_COURT))).all()
    waiting = sorted((a for a in rows if a.status == "submitted"), key=lambda a: (a.joined_at, a.id))
    decided = sorted((a for a in rows if a.status != "submitted"), key=lambda a: (a.decided_at, a.id),
                     reverse=True)
    return waiting + decided


# --- what pages and the application document show ---------------------------------------------
def chinese_date(value: datetime | None) -> str:
    """A naive UTC datetime as its Beijing date, written 2026年11月30日."""
    if value is None:
        return ""
    return localtime(value, "%Y年%m月%d日").replace("年0", "年").replace("月0", "月")


SIDE_BY_LABEL = {"申请人": "applicant", "被申请人": "respondent"}


def application_data(application: ConfirmationApplication) -> dict:
    """Plain data for the application (申请书): both parties as applicants, the request, the facts, the court."""
    agreement = db.session.get(Agreement, application.agreement_id)
    content = pdf_data(agreement)
    roles = signer_roles(agreement)
    applied_side, joined_side = roles.get(application.applied_by_id), roles.get(application.joined_by_id)
    applicants = []
    for party in content["parties"]:
        side = SIDE_BY_LABEL.get(party["role"])
        at = (application.applied_at if side == applied_side else
              application.joined_at if side is not None and side == joined_side else None)
        applicants.append({**party, "mediation_role": party["role"],
                           "confirmed_at": localtime(at) if at else ""})
    return {
        "application": {"id": application.id, "status": application.status,
                        "status_label": gettext(STATUS_LABELS[application.status]),
                        "submitted": application.joined_at is not None,
                        "date": chinese_date(application.joined_at or application.applied_at)},
        "court": {"name": application.court.name},
        "case": {"id": content["case"]["id"], "title": content["case"]["title"]},
        "organisation": content["organisation"]["name"], "mediator": content["mediator"]["name"],
        "applicants": applicants,
        "agreement": {"title": content["title"], "number": content["number"],
                      "signed_on": content["signed_on"] or chinese_date(agreement.signed_at),
                      "version": content["version"], "content_hash": content["content_hash"],
                      "facts": content["facts"], "terms": content["terms"],
                      "pdf_sha256": _signed_pdf_sha256(agreement)},
    }


def _signed_pdf_sha256(agreement: Agreement) -> str | None:
    """The SHA-256 of the signed agreement PDF the application refers to (None while it is being made)."""
    pdf = signed_pdf_bytes(agreement)
    return hashlib.sha256(pdf).hexdigest() if pdf else None


def party_lines(agreement: Agreement, application: ConfirmationApplication | None) -> list[dict]:
    """Each party signer: name, side and where they stand (applied, joined, still to act)."""
    applied_side = signer_roles(agreement).get(application.applied_by_id) if application else None
    lines = []
    for s in agreement.signatures:
        if s.role not in PARTY_ROLES:
            continue
        if application is not None and s.role == applied_side:
            state = gettext("已申请（%(at)s）", at=localtime(application.applied_at))
        elif application is not None and application.joined_at is not None:
            state = gettext("已确认加入（%(at)s）", at=localtime(application.joined_at))
        elif application is not None:
            state = gettext("待确认加入申请")
        else:
            state = gettext("尚未申请")
        lines.append({"user_id": s.user_id, "name": s.user.display_name,
                      "side_label": gettext("申请人") if s.role == "applicant" else gettext("被申请人"),
                      "state": state})
    return lines


def next_step(agreement: Agreement, application: ConfirmationApplication | None, user: User,
              now: datetime | None = None) -> str:
    """What this user does next: apply, join, wait_other, wait_court, confirmed, rejected, expired or none."""
    mine = signer_roles(agreement).get(user.id)
    if application is not None and application.status in AT_COURT:
        return "wait_court" if application.status == "submitted" and mine else application.status
    if mine is None:
        return "none"
    if days_left(agreement, now) <= 0:
        return "expired"
    if application is None:
        return "apply"
    return "wait_other" if mine == signer_roles(agreement).get(application.applied_by_id) else "join"


# --- reminders --------------------------------------------------------------------------------------
def schedule_confirmation_reminders(agreement: Agreement, now: datetime | None = None) -> list[datetime]:
    """Queue the reminders (23 and 28 days after signing) that are still to come; returns their times.

    Call once when the agreement becomes fully signed (after the mediator's signature), before the commit."""
    now = now or utcnow()
    due_times = []
    for days in REMINDER_DAYS:
        due = agreement.signed_at + timedelta(days=days)
        if due > now:
            jobs.enqueue_at(due, remind_confirmation, agreement.id, CONFIRMATION_DAYS - days)
            due_times.append(due)
    return due_times


def send_reminders(agreement_id: int, days: int, now: datetime | None = None) -> list[User]:
    """In-app notices to the parties who have not applied or joined yet; returns who was told.

    Nothing once the application is submitted or decided, the 30 days are over, or a newer agreement replaced
    this one; a user already told for these days is not told twice."""
    now = now or utcnow()
    agreement = db.session.get(Agreement, agreement_id)
    if agreement is None or agreement.status != "signed" or now > deadline_of(agreement):
        return []
    case = db.session.get(Case, agreement.case_id)
    if signed_agreement(case) is None or signed_agreement(case).id != agreement.id:
        return []
    application = current_application(agreement)
    if application is not None and application.status != "awaiting":
        return []
    subject = f"【解纷】申请司法确认还剩 {days} 天：{case.title}"
    told = []
    for user in _not_yet_applied(agreement, application):
        if _already_told(case, user, subject):
            continue
        notify_user(user, subject, _reminder_body(agreement, application, days), case)
        told.append(user)
    db.session.flush()
    return told


def _not_yet_applied(agreement: Agreement, application: ConfirmationApplication | None) -> list[User]:
    roles = signer_roles(agreement)
    if application is not None:
        applied_side = roles.get(application.applied_by_id)
        roles = {uid: role for uid, role in roles.items() if role != applied_side}
    return db.session.scalars(sa.select(User).where(User.id.in_(list(roles))).order_by(User.id)).all()


def _already_told(case: Case, user: User, subject: str) -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.case_id == case.id, OutboxMessage.channel == "in_app", OutboxMessage.to == str(user.id),
        OutboxMessage.subject == subject)) > 0


def _reminder_body(agreement: Agreement, application: ConfirmationApplication | None, days: int) -> str:
    due = localtime(deadline_of(agreement))
    if application is not None:
        return (f"{application.applied_by.display_name}已申请司法确认，等待您确认加入。申请期限还剩 {days} 天"
                f"（{due} 截止），请登录解纷平台，在案件页面确认。")
    return (f"调解协议经人民法院司法确认后，对方不履行的可以直接申请强制执行。双方须在协议生效后 30 日内共同申请，"
            f"还剩 {days} 天（{due} 截止）。如需申请，请登录解纷平台，在案件页面提出。")


@jobs.job
def remind_confirmation(agreement_id: int, days_left: int) -> None:
    """The reminder job: idempotent enough (see send_reminders)."""
    send_reminders(agreement_id, days_left)
    db.session.commit()
