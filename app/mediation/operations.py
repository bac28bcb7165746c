"""Invitations to mediation, and the messages they queue in the outbox. Listens to the funnel (case_transitioned);
never commits."""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app.accounts.models import Role, User
from app.cases import facts
from app.cases.models import Case, CaseParty, CaseStatus, Stage
from app.cases.operations import append_event
from app.cases.signals import case_transitioned
from app.core import sms_codes
from app.core.crypto import normalise_phone
from app.core.errors import DomainError
from app.core.i18n import gettext
from app.core.masking import mask_phone
from app.core.sms_codes import Outcome
from app.core.time import utcnow
from app.core.validators import phone_error
from app.extensions import db
from app.mediation.models import Invitation, InvitationCode, OutboxMessage

log = logging.getLogger(__name__)
INVITATION_DAYS = 7
ASSIGN_ACTIONS = ("auto_assign", "assign_mediator")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(token: str) -> str:
    """The one-time link, always on BASE_URL: never built from the request's Host header, which a sender controls."""
    return current_app.config["BASE_URL"].rstrip("/") + f"/invitations/{token}"


def queue(channel: str, to: str, subject: str, body: str, case: Case | None = None) -> OutboxMessage:
    message = OutboxMessage(channel=channel, to=to, subject=subject, body=body,
                            case_id=case.id if case else None, created_at=utcnow())
    db.session.add(message)
    if channel == "in_app":
        _forget_badge(to)
    return message


def _forget_badge(user_id: str) -> None:
    """A message to the person making this request: their nav badge (loaded with the session) is stale now."""
    from flask import has_request_context
    from flask_login import current_user

    from app.accounts.operations import forget_session_extra
    from app.notifications.operations import UNREAD

    if has_request_context() and current_user.is_authenticated and str(current_user.id) == user_id:
        forget_session_extra(current_user._get_current_object(), UNREAD)


def notify_user(user: User, subject: str, body: str, case: Case | None = None) -> None:
    """Tell a user in the app (their notifications page), and by e-mail too when they gave an address."""
    queue("in_app", str(user.id), subject, body, case)
    if user.email:
        queue("email", user.email, subject, body, case)


def _notify_applicants(case: Case, subject: str, body: str) -> None:
    """Messages to the applicant side: the filer and every applicant linked to a user."""
    user_ids = {case.filed_by_id} | {p.user_id for p in case.applicants if p.user_id}
    for user in db.session.scalars(sa.select(User).where(User.id.in_(user_ids)).order_by(User.id)):
        notify_user(user, subject, body, case)


# --- inviting ------------------------------------------------------------------------------
def invite_respondents(case: Case, now: datetime | None = None) -> list[tuple[Invitation, str]]:
    """One invitation per respondent not yet invited (or whose invitation is still open); returns (invitation, token)."""
    now = now or utcnow()
    already = set(db.session.scalars(sa.select(Invitation.party_id).where(Invitation.case_id == case.id)))
    made = [_invite(case, party, now) for party in case.respondents if party.id not in already]
    db.session.flush()
    return made


def _invite(case: Case, party: CaseParty, now: datetime) -> tuple[Invitation, str]:
    """A new invitation for the party with its one-time link, queued to the party's phone, e-mail and account."""
    token = secrets.token_urlsafe(32)
    inv = Invitation(case_id=case.id, party_id=party.id, token_hash=hash_token(token), created_at=now,
                     expires_at=now + timedelta(days=INVITATION_DAYS))
    db.session.add(inv)
    link = invitation_link(token)
    applicant = case.applicants[0].name if case.applicants else case.filed_by.display_name
    subject = f"【解纷】调解邀请：{case.title}"
    body = (f"{party.name}，您好：{applicant}就“{case.title}”向调解组织申请调解，调解员已受理。"
            f"调解遵循自愿原则，请在{INVITATION_DAYS}日内打开链接查看并答复是否同意调解：{link}")
    if party.phone:
        queue("sms", party.phone, subject, body, case)
    if party.email:
        queue("email", party.email, subject, body, case)
    if party.user_id:
        queue("in_app", str(party.user_id), subject, body, case)
    return inv, token


def _on_transition(case: Case, transition=None, actor=None, event=None, **_) -> None:
    if transition is not None and transition.action in ASSIGN_ACTIONS:
        invite_respondents(case)


case_transitioned.connect(_on_transition, weak=False)


# --- answering -------------------------------------------------------------------------------
def find_invitation(token: str) -> Invitation | None:
    return db.session.scalar(sa.select(Invitation).where(Invitation.token_hash == hash_token(token)))


def usable(inv: Invitation | None, now: datetime | None = None) -> bool:
    return inv is not None and inv.pending and (now or utcnow()) < inv.expires_at


# Why an account may not answer an invitation (answer_refusal); the views explain each in words. A resident whose
# account has another number (or none), or this number not yet verified, may still answer once they prove they hold
# the invited one (CODE_PROVES).
STAFF, OTHER_ACCOUNT, NO_PHONE, OTHER_PHONE = "staff", "other_account", "no_phone", "other_phone"
UNVERIFIED_PHONE = "unverified_phone"
CODE_PROVES = (NO_PHONE, OTHER_PHONE, UNVERIFIED_PHONE)


def answer_refusal(inv: Invitation, user: User) -> str | None:
    """Why this user may not answer for the invited party (None: they may). The link alone is not enough: only a
    resident answers, and when the party has a phone number on file (the SMS went there) the account's must match
    and have been verified by an SMS code (app/accounts/phone.py: anyone can type any number at registration), or
    the resident must have typed a code sent to that number for this invitation (send_code, check_code)."""
    if user.role != Role.resident:
        return STAFF
    party = inv.party
    if party.user_id is not None:
        return None if party.user_id == user.id else OTHER_ACCOUNT
    invited = normalise_phone(party.phone or "")
    if not invited:
        return None  # invited by e-mail or in person only: nothing to compare
    own = normalise_phone(user.phone or "")
    if (own == invited and user.phone_verified_at is not None) or number_proven(inv, user):
        return None
    if own == invited:
        return UNVERIFIED_PHONE
    return OTHER_PHONE if own else NO_PHONE


def invited_number(inv: Invitation) -> str:
    """The number the invitation went to, masked (139****9876): never shown whole to whoever holds the link."""
    return mask_phone(normalise_phone(inv.party.phone or ""))


# --- proving the invited number by a code (app/core/sms_codes.py, as a password reset code) ----------------------
CODE_MINUTES, CODE_ATTEMPTS = sms_codes.CODE_MINUTES, sms_codes.CODE_ATTEMPTS  # 10 minutes, 5 tries, used once
# Codes sent within CODE_SEND_WINDOW: CODE_SENDS per account asking, so that someone else holding the link cannot use
# up the respondent's own sends; and CODE_SENDS_TOTAL per invitation, whoever asks, so that the party's phone is not
# an SMS pump. One other person uses at most 3 of the 10: the respondent still has their own 3.
CODE_SENDS, CODE_SENDS_TOTAL, CODE_SEND_WINDOW = 3, 10, timedelta(hours=1)


@dataclass(frozen=True)
class SendLimit:
    """A refused code request: which limit (scope, as in the security log), how many a window, how long to wait."""

    scope: str
    sends: int
    wait: timedelta

    @property
    def per_account(self) -> bool:
        return self.scope == "invitation-code-account"


def _code_subject(row: InvitationCode) -> str:
    return f"invitation-code:{row.invitation_id}:{row.user_id}:{row.salt}"


def _codes(inv: Invitation, user: User) -> sa.Select:
    return sa.select(InvitationCode).where(InvitationCode.invitation_id == inv.id, InvitationCode.user_id == user.id)


def number_proven(inv: Invitation, user: User) -> bool:
    """This account typed a right code for this invitation (in this transaction: the answer goes with it)."""
    return db.session.scalar(sa.select(_codes(inv, user).where(InvitationCode.used_at.is_not(None)).exists())) or False


def current_code(inv: Invitation, user: User, now: datetime | None = None) -> InvitationCode | None:
    """The newest code this account asked for, while it can still be typed (older ones were replaced by it)."""
    row = db.session.scalar(_codes(inv, user).order_by(InvitationCode.id.desc()).limit(1))
    return row if row is not None and sms_codes.usable(row, now) else None


def send_wait(inv: Invitation, user: User, now: datetime | None = None) -> SendLimit | None:
    """The limit that stops another code for this invitation and account now (None: it may be sent)."""
    now = now or utcnow()
    recent = sa.select(InvitationCode.created_at).where(InvitationCode.invitation_id == inv.id,
                                                        InvitationCode.created_at > now - CODE_SEND_WINDOW)
    for scope, sends, query in (
            ("invitation-code-account", CODE_SENDS, recent.where(InvitationCode.user_id == user.id)),
            ("invitation-code", CODE_SENDS_TOTAL, recent)):
        times = db.session.scalars(query.order_by(InvitationCode.created_at.desc()).limit(sends)).all()
        if len(times) >= sends:
            return SendLimit(scope, sends, times[-1] + CODE_SEND_WINDOW - now)
    return None


def send_code(inv: Invitation, user: User, now: datetime | None = None) -> SendLimit | None:
    """Send a 6-digit code by SMS to the party's number on file for this account to type; it replaces the account's
    older codes. Returns None when sent, or the limit that refused it (CODE_SENDS for this account or CODE_SENDS_TOTAL
    for the invitation within CODE_SEND_WINDOW) with how long to wait."""
    now = now or utcnow()
    # Concurrent requests for one invitation queue behind this lock (PostgreSQL), so the limits hold between them.
    db.session.execute(sa.select(Invitation.id).where(Invitation.id == inv.id).with_for_update())
    limit = send_wait(inv, user, now)
    if limit is not None:
        return limit
    code = sms_codes.new_code()
    row = InvitationCode(invitation_id=inv.id, user_id=user.id, salt=secrets.token_hex(16), created_at=now,
                         expires_at=sms_codes.expires(now), attempts=0)
    row.code_hmac = sms_codes.code_hmac(_code_subject(row), code)
    db.session.add(row)
    case = inv.case
    queue("sms", inv.party.phone, gettext("【解纷】调解邀请验证码"),
          gettext("【解纷】您正在答复调解邀请（%(title)s），验证码 %(code)s，%(minutes)s 分钟内有效。"
                  "如非本人操作，请忽略本短信；工作人员不会向您索要验证码，请勿告诉他人。",
                  title=case.title, code=code, minutes=CODE_MINUTES), case)
    db.session.flush()
    log.info("invitation %s: code sent to the party's number for user %s", inv.id, user.id)
    return None


def code_tries(inv: Invitation, user: User) -> int:
    """Wrong tries of this account's newest code for the invitation (0 when it has none): for the security log."""
    row = db.session.scalar(_codes(inv, user).order_by(InvitationCode.id.desc()).limit(1))
    return row.attempts if row is not None else 0


def check_code(inv: Invitation, user: User, code: str, now: datetime | None = None) -> Outcome:
    """Check a typed code against this account's newest one; a right code is used up and proves the number (the
    caller answers in the same transaction). A wrong one counts against CODE_ATTEMPTS."""
    now = now or utcnow()
    row = db.session.scalar(_codes(inv, user).order_by(InvitationCode.id.desc()).limit(1))
    if row is None:
        return Outcome.no_longer_valid
    outcome = sms_codes.check(row, _code_subject(row), code, now)
    if outcome is not Outcome.done:
        return outcome
    log.info("invitation %s: the party's number proven by user %s", inv.id, user.id)
    return Outcome.done


def accept(inv: Invitation, user: User) -> None:
    """Link the respondent party to the user, so that the case is theirs to see; record it."""
    if answer_refusal(inv, user) is not None:  # the views check first and explain; this guards other callers
        raise PermissionError("This account may not answer this invitation.")
    now = utcnow()
    inv.answer, inv.answered_at, inv.answered_by_id = "accepted", now, user.id
    inv.party.user_id = user.id
    case = inv.case
    append_event(case, user, "respondent_accepted", (case.stage, case.status))
    _notify_applicants(case, f"【解纷】被申请人已同意调解：{case.title}",
                       f"{inv.party.name}已同意参加调解，调解员将与各方联系安排调解。")


def decline(inv: Invitation, user: User, reason: str | None) -> None:
    """Mediation is voluntary: record the refusal and tell the applicant; the case stays where it is."""
    if answer_refusal(inv, user) is not None:
        raise PermissionError("This account may not answer this invitation.")
    now = utcnow()
    reason = (reason or "").strip() or None
    inv.answer, inv.answered_at, inv.answered_by_id, inv.reason = "declined", now, user.id, reason
    case = inv.case
    append_event(case, user, "respondent_declined", (case.stage, case.status), reason)
    _notify_applicants(case, f"【解纷】被申请人不同意调解：{case.title}",
                       f"{inv.party.name}不同意调解。调解遵循自愿原则，调解员将记录调解未成；"
                       "之后您可以申请仲裁（有仲裁协议或属劳动争议时）或向人民法院起诉。")


def expire_invitations(now: datetime | None = None) -> list[Invitation]:
    """Mark unanswered invitations past their 7 days as expired and tell the applicant."""
    now = now or utcnow()
    stale = db.session.scalars(sa.select(Invitation).where(Invitation.answer.is_(None),
                                                           Invitation.expires_at <= now)
                               .order_by(Invitation.id)).all()
    for inv in stale:
        inv.answer, inv.answered_at = "expired", now
        case = inv.case
        if case.stage != Stage.mediate:  # settled or withdrawn meanwhile: nobody needs telling
            continue
        append_event(case, None, "invitation_expired", (case.stage, case.status))
        _notify_applicants(case, f"【解纷】被申请人逾期未答复：{case.title}",
                           f"{inv.party.name}在{INVITATION_DAYS}日内未答复调解邀请，视为不同意调解。"
                           "调解员将记录调解未成；之后您可以申请仲裁（有仲裁协议或属劳动争议时）或向人民法院起诉。")
    db.session.flush()
    return stale


# --- correcting the number an invitation went to --------------------------------------------------------------
class CorrectionRefused(DomainError):
    """A correction the platform cannot make; `field` names the form field the message belongs next to (None: the
    whole request is refused, with its own status)."""

    status_code = 422

    def __init__(self, message: str, field: str | None = None, status_code: int | None = None):
        super().__init__(message, status_code)
        self.field = field


def can_correct_phone(case: Case, user: User) -> bool:
    """The case's mediator or an admin of the organisation handling its mediation: the people the respondent tells
    that the number on file is not theirs. Never a resident (nor the platform admin, who does not handle cases)."""
    if not user.is_authenticated:
        return False
    if user.role == Role.mediator:
        return case.mediator_id == user.id
    if user.role == Role.org_admin:
        return case.organisation_id is not None and case.organisation_id == user.organisation_id
    return False


def latest_invitations(case: Case) -> dict[int, Invitation]:
    """Each invited party's newest invitation (earlier ones were revoked when the number was corrected), by party id."""
    if not facts.may_have(case, "invitations"):
        return {}
    rows = db.session.scalars(sa.select(Invitation).where(Invitation.case_id == case.id).order_by(Invitation.id))
    return {inv.party_id: inv for inv in rows}


def correction_refusal(case: Case, inv: Invitation, newest_id: int | None = None) -> str | None:
    """Why the number this invitation went to cannot be corrected now (None: it can). newest_id: the id of the party's
    newest invitation when the caller knows it (latest_invitations), else it is looked up."""
    if case.stage != Stage.mediate or case.status != CaseStatus.in_progress:
        return gettext("只有调解进行中的案件可以更正电话并重新邀请。")
    if inv.answer == "accepted":
        return gettext("被申请人已同意调解，无需重新邀请。")
    if newest_id is None:
        newest_id = db.session.scalar(sa.select(sa.func.max(Invitation.id)).where(Invitation.party_id == inv.party_id))
    if newest_id != inv.id:
        return gettext("这份邀请已被更新的邀请取代，请回到案件页面查看最新的邀请。")
    return None


def correct_phone_and_reinvite(case: Case, inv: Invitation, actor: User, phone: str, reason: str,
                               now: datetime | None = None) -> tuple[Invitation, str]:
    """Correct the invited party's phone number (stored encrypted, its blind index following), revoke the invitation
    (its link and any codes sent for it stop working), send a new one to the new number and record both in the case
    history, with the numbers masked. Returns the new invitation and its token."""
    if not can_correct_phone(case, actor):
        raise CorrectionRefused(gettext("只有本案的调解员或受理调解组织的管理员可以更正当事人电话。"), status_code=403)
    # Two staff correcting at once (or a second click) queue behind this lock (PostgreSQL); the second is refused.
    db.session.execute(sa.select(Invitation.id).where(Invitation.id == inv.id).with_for_update())
    if (why := correction_refusal(case, inv)) is not None:
        raise CorrectionRefused(why, status_code=409)
    new_phone, reason = (phone or "").strip(), (reason or "").strip()
    if (error := phone_error(new_phone)) is not None:
        raise CorrectionRefused(error, "phone")
    party = inv.party
    old_phone = party.phone
    if old_phone and normalise_phone(old_phone) == normalise_phone(new_phone):
        raise CorrectionRefused(gettext("新号码与原号码相同，请填写被申请人本人正在使用的号码。"), "phone")
    if not reason:
        raise CorrectionRefused(gettext("请说明更正的原因。"), "reason")
    now = now or utcnow()
    party.phone = new_phone
    if inv.pending:  # an answered or expired invitation keeps what happened to it
        inv.answer, inv.answered_at = "revoked", now
    db.session.execute(sa.update(InvitationCode).where(
        InvitationCode.invitation_id == inv.id, InvitationCode.used_at.is_(None), InvitationCode.expires_at > now)
        .values(expires_at=now).execution_options(synchronize_session=False))
    made = _invite(case, party, now)
    old = mask_phone(normalise_phone(old_phone)) if old_phone else "（无）"
    append_event(case, actor, "invitation_reissued", (case.stage, case.status),
                 f"{party.name}的电话由 {old} 更正为 {mask_phone(normalise_phone(new_phone))}，"
                 f"原邀请链接已作废，已向新号码重新发送调解邀请。原因：{reason}")
    log.info("invitation %s revoked: party %s's phone corrected, invitation %s sent", inv.id, party.id, made[0].id)
    return made


# Delivering the outbox (the sender, its channels and their backends) is app/notifications/outbox.py.


facts.register_case_fact("invitations", lambda: sa.exists().where(Invitation.case_id == Case.id))
