"""What an organisation admin does to accounts from the web (the web side of `flask users`, app/accounts/cli.py):
stop, restart, end the sessions of, or reset the second factor of the staff of their own organisation; and give a
resident who came to the counter with an identity document a one-time temporary password that expires after
TEMP_PASSWORD_HOURS. The same changes for `flask users` (act_from_cli). Never commits.

Every action, from the web or the CLI, appends an AccountEvent (who, to whom, why, from where) at the end of one hash
chain, and the person affected is told in the app (and by SMS for a password reset, so a reset nobody asked for is
noticed at once)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from app.accounts import mfa
from app.accounts.models import (
    ACCOUNT_EVENT_HASHED,
    ACCOUNT_EVENT_HASHED_WHEN_SET,
    CLI_ACTOR_ROLE,
    AccountEvent,
    PasswordReset,
    Role,
    TotpFactor,
    User,
    UserSession,
    account_event_payload,
)
from app.accounts.operations import SessionEnd, count_and_end_sessions, hash_password
from app.core.audit import GENESIS, chain_hash
from app.core.crypto import blind_index
from app.core.errors import DomainError
from app.core.i18n import N_, gettext
from app.core.time import utcnow
from app.extensions import db

# What an org admin may do to a staff member of their organisation (the form's buttons), and the log's labels.
STAFF_ACTIONS = ("deactivate", "activate", "end_sessions", "reset_mfa")
ACTION_LABELS = {
    "deactivate": N_("停用账号"),
    "activate": N_("恢复账号"),
    "end_sessions": N_("结束全部登录"),
    "reset_mfa": N_("重置两步验证"),
    "assisted_reset": N_("协助重设密码"),
    "phone_verified": N_("验证手机号"),   # by the account itself (app/accounts/phone.py)
    "phone_changed": N_("更换手机号"),
}
NOT_FOUND = N_("您要找的页面不存在，或您无权查看。")  # the words of any other 404: another organisation's person
# Temporary passwords: lower-case letters and digits without look-alikes (no 0/o, 1/l/i), read aloud or off paper.
TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
TEMPORARY_GROUPS, TEMPORARY_GROUP_SIZE = 3, 4  # abcd-efgh-jkmn: 12 random characters, ~59 bits
# PostgreSQL advisory lock held while appending to the chain ("ACCT"); see app/privacy/reveal_chain.py.
LOCK_KEY = 0x41434354
EVENTS_SHOWN = 20


@dataclass(frozen=True)
class StaffRow:
    """One line of the staff page."""

    user: User
    has_mfa: bool
    open_sessions: int
    last_seen_at: datetime | None
    is_self: bool


@dataclass(frozen=True)
class Candidate:
    """An account found at the counter, and why it cannot be reset here (None: it can)."""

    user: User
    refusal: str | None
    elsewhere: bool = False  # the resident's disputes are at other organisations: shown without name or username


def require_org_admin(user: User) -> None:
    """Only an organisation's admin manages its staff (403 for anyone else)."""
    if user.role != Role.org_admin or user.organisation_id is None:
        raise DomainError(gettext("只有调解组织管理员可以管理本组织人员。"), 403)


def _staff_of(organisation_id: int):
    return sa.and_(User.organisation_id == organisation_id, User.role.notin_((Role.resident, Role.admin)))


def staff_list(admin: User) -> list[StaffRow]:
    """The staff accounts of the admin's organisation (never system admins): active first, then by name."""
    users = list(db.session.scalars(sa.select(User).where(_staff_of(admin.organisation_id))
                                    .order_by(User.active.desc(), User.display_name, User.id)))
    ids = [u.id for u in users]
    if not ids:
        return []
    cfg, now = current_app.config, utcnow()
    is_open = sa.and_(UserSession.ended_at.is_(None),
                      UserSession.created_at > now - timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"]),
                      UserSession.last_seen_at > now - timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]))
    sessions = {row.user_id: row for row in db.session.execute(
        sa.select(UserSession.user_id, sa.func.max(UserSession.last_seen_at).label("last_seen"),
                  sa.func.count().filter(is_open).label("open"))
        .where(UserSession.user_id.in_(ids)).group_by(UserSession.user_id))}
    with_mfa = set(db.session.scalars(sa.select(TotpFactor.user_id).where(
        TotpFactor.user_id.in_(ids), TotpFactor.confirmed_at.is_not(None))))
    return [StaffRow(u, u.id in with_mfa, sessions[u.id].open if u.id in sessions else 0,
                     sessions[u.id].last_seen if u.id in sessions else None, u.id == admin.id) for u in users]


def find_staff(admin: User, user_id: int) -> User:
    """A staff member of the admin's organisation; 404 for anyone else, as if they did not exist."""
    user = db.session.scalar(sa.select(User).where(User.id == user_id, _staff_of(admin.organisation_id)))
    if user is None:
        raise DomainError(gettext(NOT_FOUND), 404)
    return user


def act_on_staff(admin: User, target: User, action: str, reason: str, ip: str | None) -> AccountEvent:
    """Do `action` (STAFF_ACTIONS) to a staff member of the admin's organisation, record it and tell them."""
    if target.id == admin.id:
        raise DomainError(gettext("不能对自己的账号执行此操作。如需停用或重置，请联系本组织的其他管理员或系统管理员。"), 403)
    ended = change_account(target, action)
    event = record(admin, target, action, reason, ip, sessions_ended=ended)
    _notify_staff(target, action, reason)
    return event


def act_from_cli(target: User, action: str, reason: str, os_user: str) -> AccountEvent:
    """`flask users ...` on the server: the same change, event (actor: the CLI and its OS user) and message."""
    ended = change_account(target, action)
    event = record(None, target, action, reason, None, sessions_ended=ended, os_user=os_user)
    _notify_staff(target, action, reason)
    return event


def end_everyones_sessions(reason: str, os_user: str) -> list[AccountEvent]:
    """`flask users end-sessions --all`: every open session ends; one event and one message per person who had one."""
    open_ones = (sa.select(UserSession.user_id, sa.func.count()).where(UserSession.ended_at.is_(None))
                 .group_by(UserSession.user_id).order_by(UserSession.user_id))
    counts = dict(db.session.execute(open_ones).all())
    count_and_end_sessions(reason=SessionEnd.ended_by_admin)  # every one, even a session that opened meanwhile
    events = []
    for user in db.session.scalars(sa.select(User).where(User.id.in_(list(counts))).order_by(User.id)):
        events.append(record(None, user, "end_sessions", reason, None, sessions_ended=counts[user.id], os_user=os_user))
        _notify_staff(user, "end_sessions", reason)
    return events


def change_account(target: User, action: str) -> int:
    """The change itself, for the web and the CLI alike (a 409 when there is nothing to change): the number of
    sessions it ended."""
    ended = 0
    if action == "deactivate":
        if not target.active:
            raise DomainError(gettext("该账号已经停用。"), 409)
        target.active = False
        ended = count_and_end_sessions(UserSession.user_id == target.id, reason=SessionEnd.ended_by_admin)
    elif action == "activate":
        if target.closed_at is not None or target.active:
            raise DomainError(gettext("该账号没有停用，或已注销，不能恢复。"), 409)
        target.active = True
    elif action == "end_sessions":
        ended = count_and_end_sessions(UserSession.user_id == target.id, reason=SessionEnd.ended_by_admin)
    elif action == "reset_mfa":
        if not mfa.remove(target):
            raise DomainError(gettext("该人员没有开启两步验证，无需重置。"), 409)
    else:
        raise DomainError(gettext("不支持此操作方式。"), 400)
    return ended


def _notify_staff(target: User, action: str, reason: str) -> None:
    """An in-app message where the person can read it (a stopped account cannot log in to read it now, but finds it
    when restarted, with the reason)."""
    from app.mediation.operations import queue

    bodies = {
        "deactivate": N_("管理员已停用您的账号，原因：%(reason)s。如有疑问，请联系所在调解组织。"),
        "activate": N_("管理员已恢复您的账号，您可以重新登录使用。原因：%(reason)s。"),
        "end_sessions": N_("管理员已结束您在所有设备上的登录，请重新登录。原因：%(reason)s。"),
        "reset_mfa": N_("管理员已重置您的两步验证，下次登录后请重新开启。原因：%(reason)s。"),
    }
    queue("in_app", str(target.id), gettext(ACTION_LABELS[action]), gettext(bodies[action], reason=reason))


def record(actor: User | None, target: User, action: str, reason: str, ip: str | None, *, id_checked: bool = False,
           sessions_ended: int = 0, os_user: str | None = None) -> AccountEvent:
    """Append one account event at the end of the chain and flush it (the lock lasts until the caller's commit).
    No actor: the CLI, run on the server by the operating-system user `os_user`."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    else:  # a write that changes nothing takes SQLite's write lock now (see reveal_chain._lock_tail)
        conn.execute(sa.text("UPDATE account_events SET id = id WHERE 0 = 1"))
    tail = db.session.scalar(sa.select(AccountEvent.hash).order_by(AccountEvent.id.desc()).limit(1))
    event = AccountEvent(actor_id=actor.id if actor else None,
                         actor_role=actor.role.value if actor else CLI_ACTOR_ROLE,
                         actor_os_user=None if actor else (os_user or "unknown")[:64],
                         target_id=target.id, organisation_id=actor.organisation_id if actor else None,
                         action=action, reason=reason.strip()[:500], id_checked=id_checked,
                         sessions_ended=sessions_ended, ip=(ip or None) and ip[:45], created_at=utcnow(),
                         prev_hash=tail or GENESIS)
    event.hash = chain_hash(event.prev_hash, event.payload())
    db.session.add(event)
    db.session.flush()
    return event


def verify_chain() -> tuple[int, str | None]:
    """Check the account events' chain in id order: (events checked, the first broken link or None)."""
    names = ACCOUNT_EVENT_HASHED + ACCOUNT_EVENT_HASHED_WHEN_SET
    columns = [AccountEvent.id, *(getattr(AccountEvent, n) for n in names), AccountEvent.prev_hash, AccountEvent.hash]
    checked, prev_hash = 0, GENESIS
    rows = db.session.execute(sa.select(*columns).order_by(AccountEvent.id).execution_options(yield_per=5000))
    with rows:  # a server-side cursor on PostgreSQL: closed even when a broken link ends the loop early
        for row in rows:
            if row.prev_hash != prev_hash:
                return checked, f"account event id {row.id}: prev_hash does not match the event before it"
            if chain_hash(row.prev_hash, account_event_payload({n: getattr(row, n) for n in names})) != row.hash:
                return checked, f"account event id {row.id}: content does not match its hash (altered)"
            prev_hash, checked = row.hash, checked + 1
    return checked, None


def recent_events(admin: User, limit: int = EVENTS_SHOWN) -> list[AccountEvent]:
    """The newest account events made by the admin's organisation."""
    return list(db.session.scalars(
        sa.select(AccountEvent).where(AccountEvent.organisation_id == admin.organisation_id)
        .options(joinedload(AccountEvent.actor), joinedload(AccountEvent.target))
        .order_by(AccountEvent.id.desc()).limit(limit)))


def action_label(action: str) -> str:
    return gettext(ACTION_LABELS[action]) if action in ACTION_LABELS else action


# --- a resident at the counter ---------------------------------------------------------------------------------


ELSEWHERE = N_("该居民的纠纷由其他调解组织处理。为保护其案件信息，请居民带身份证到正在处理其纠纷的调解组织办理。")


def handled_elsewhere(user: User, admin: User) -> bool:
    """The resident's disputes (filed, or joined as a party) are handled by organisations, none of them the admin's:
    a temporary password given here would open cases this organisation has no part in."""
    from app.cases.models import Case, CaseParty

    joined = sa.select(CaseParty.case_id).where(CaseParty.user_id == user.id)
    orgs = set(db.session.scalars(sa.select(Case.organisation_id).distinct().where(
        Case.organisation_id.is_not(None), sa.or_(Case.filed_by_id == user.id, Case.id.in_(joined)))))
    return bool(orgs) and admin.organisation_id not in orgs


def reset_refusal(user: User, admin: User) -> str | None:
    """Why this account cannot be given a temporary password by this admin, or None."""
    if user.role != Role.resident:
        return gettext("这是工作人员账号，不能在这里重设密码。工作人员忘记密码，请联系系统管理员。")
    if user.closed_at is not None:
        return gettext("该账号已注销，不能重设密码。如需继续使用，请重新注册。")
    if not user.active:
        return gettext("该账号已停用，不能重设密码。")
    if handled_elsewhere(user, admin):
        return gettext(ELSEWHERE)
    return None


def find_accounts(query: str, admin: User) -> list[Candidate]:
    """Accounts whose username is `query`, or whose phone is (through the blind index: phones are encrypted)."""
    from app.accounts.forms import PHONE_RE

    query = (query or "").strip()
    match = User.username == query
    if PHONE_RE.match(query):
        match = sa.or_(match, User.phone_bidx == blind_index("phone", query))
    users = db.session.scalars(sa.select(User).where(match).order_by(User.id))
    found = [(u, reset_refusal(u, admin)) for u in users]
    return [Candidate(u, refusal, refusal == gettext(ELSEWHERE)) for u, refusal in found]


def find_resident(user_id: int, admin: User) -> User:
    """The resident to reset: 404 when there is no such account, 403 with the reason when it is not resettable."""
    user = db.session.get(User, user_id)
    if user is None:
        raise DomainError(gettext(NOT_FOUND), 404)
    if (refusal := reset_refusal(user, admin)) is not None:
        raise DomainError(refusal, 403)
    return user


def temporary_password() -> str:
    """Random, readable: 'abcd-efgh-jkmn' from an alphabet without look-alike characters."""
    return "-".join("".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(TEMPORARY_GROUP_SIZE))
                    for _ in range(TEMPORARY_GROUPS))


def assisted_reset(admin: User, resident: User, reason: str, ip: str | None) -> str:
    """Give the resident a temporary password (returned, to be shown once) that works for TEMP_PASSWORD_HOURS: every
    session and pending SMS code ends; the next login must choose a new password first. Recorded, and announced in
    the app and by SMS."""
    if (refusal := reset_refusal(resident, admin)) is not None:
        raise DomainError(refusal, 403)
    password = temporary_password()
    resident.password_hash = hash_password(password)
    resident.must_change_password = True
    resident.temp_password_expires_at = utcnow() + timedelta(hours=current_app.config["TEMP_PASSWORD_HOURS"])
    ended = count_and_end_sessions(UserSession.user_id == resident.id, reason=SessionEnd.password_changed)
    db.session.execute(sa.update(PasswordReset).where(PasswordReset.user_id == resident.id,
                                                      PasswordReset.used_at.is_(None))
                       .values(used_at=utcnow()).execution_options(synchronize_session=False))
    record(admin, resident, "assisted_reset", reason, ip, id_checked=True, sessions_ended=ended)
    _notify_reset(resident, admin)
    return password


def _notify_reset(resident: User, admin: User) -> None:
    from app.mediation.operations import queue

    org = admin.organisation.name if admin.organisation else ""
    body = gettext("%(org)s 的工作人员已核实您的身份证件，为您重设了解纷账号的登录密码，所有设备上的登录均已退出。"
                   "如果不是您本人到场办理，请立即联系该组织或拨打 12348 法律服务热线。", org=org)
    queue("in_app", str(resident.id), gettext("账号密码已由工作人员重设"), body)
    if resident.phone:
        queue("sms", resident.phone, "", "【解纷】" + body)


def burn_temporary_password(user: User) -> None:
    """At the login with a temporary password: it stops working now (it works once); the user must choose a new
    password in this session (accounts.choose_password)."""
    user.password_hash = hash_password(secrets.token_urlsafe(32))


def temporary_password_expired(user: User) -> bool:
    """The password just checked is a temporary one past its expiry (asked only after the password was right, so the
    answer tells nothing to someone who does not know it). Without a recorded expiry it counts as expired."""
    if not user.must_change_password:
        return False
    return user.temp_password_expires_at is None or user.temp_password_expires_at <= utcnow()
