"""The user's open login sessions ("登录设备", OWASP ASVS 5.0 7.5.2): list them, and end chosen ones after giving the
password again; and the notice sent when the password changes (ASVS 6.3.7). Never commits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa

from app.accounts.models import User, UserSession
from app.accounts.operations import SessionEnd, end_sessions, expired_reason
from app.core.i18n import gettext
from app.extensions import db


@dataclass
class Device:
    id: int
    label: str              # browser · system · device, as far as the user agent tells
    ip_address: str | None
    created_at: datetime
    last_seen_at: datetime
    current: bool           # the session of this request


@lru_cache(maxsize=512)
def describe(user_agent: str | None) -> str:
    """'Mobile Safari 17 · iOS 17 · iPhone' from a user agent string (ua-parser's rules, shipped in its wheel)."""
    from ua_parser import parse  # its rules take ~0.1 s to load: only this page needs them

    if not user_agent:
        return gettext("未知设备")
    found = parse(user_agent)
    parts = []
    if found.user_agent:
        parts.append(" ".join(filter(None, (found.user_agent.family, found.user_agent.major))))
    if found.os:
        parts.append(" ".join(filter(None, (found.os.family, found.os.major))))
    if found.device and found.device.family not in ("Other", "Spider"):
        parts.append(found.device.family)
    if "MicroMessenger" in user_agent:
        parts.insert(0, gettext("微信"))
    return " · ".join(parts) or user_agent[:60]


def open_devices(user: User) -> list[Device]:
    """The user's sessions that are still open, this one first, then the most recently used."""
    rows = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id,
                                                           UserSession.ended_at.is_(None)))
    current_hash = UserSession.hash_token(user.session_token) if user.session_token else None
    devices = [Device(r.id, describe(r.user_agent), r.ip_address, r.created_at, r.last_seen_at,
                      r.token_hash == current_hash) for r in rows if not expired_reason(r)]
    return sorted(devices, key=lambda d: (not d.current, -d.last_seen_at.timestamp()))


def end_devices(user: User, session_ids: list[int]) -> int:
    """End the chosen open sessions of this user (never the current one: that is the logout button); how many."""
    chosen = {d.id for d in open_devices(user) if not d.current} & set(session_ids)
    if not chosen:
        return 0
    end_sessions(UserSession.user_id == user.id, UserSession.id.in_(chosen), reason=SessionEnd.ended_elsewhere)
    return len(chosen)


def notify_password_changed(user: User, when: datetime) -> None:
    """An in-app message, and an SMS when the account has a phone: someone who did not change it learns at once."""
    from app.core.web import localtime
    from app.mediation.operations import queue

    at = localtime(when)
    body = gettext("您的解纷账号密码已于 %(at)s 修改，其他设备上的登录已全部退出。如果不是您本人操作，请立即联系所在调解组织或拨打 12348 "
                   "法律服务热线。", at=at)
    queue("in_app", str(user.id), gettext("账号密码已修改"), body)
    if user.phone:
        queue("sms", user.phone, "", "【解纷】" + body)
