"""In-app notifications are outbox messages on the in_app channel addressed to a user id; sent_at is when the
user read them (the outbox sender leaves in_app messages alone). Never commits."""
from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import User, UserSession
from app.accounts.operations import forget_session_extra, register_session_extra, session_extra
from app.core.time import utcnow
from app.extensions import db
from app.mediation.models import OutboxMessage

PAGE_SIZE = 100
UNREAD = "unread_in_app"


def _mine(user: User):
    return sa.and_(OutboxMessage.channel == "in_app", OutboxMessage.to == str(user.id))


def _unread_of_session_user() -> sa.ScalarSelect:
    """The session lookup's COUNT of the logged-in user's unread in-app messages (accounts.SESSION_EXTRAS)."""
    return (sa.select(sa.func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.channel == "in_app", OutboxMessage.to == sa.cast(UserSession.user_id, sa.String),
                   OutboxMessage.sent_at.is_(None))
            .scalar_subquery())


register_session_extra(UNREAD, _unread_of_session_user)


def unread_count(user: User) -> int:
    """The nav badge: loaded with the session on every logged-in request, else one COUNT query."""
    loaded = session_extra(user, UNREAD)
    if loaded is not None:
        return loaded
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                             .where(_mine(user), OutboxMessage.sent_at.is_(None))) or 0


def latest(user: User, limit: int = PAGE_SIZE) -> list[OutboxMessage]:
    """The user's newest in-app messages, newest first."""
    newest_first = (OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    return list(db.session.scalars(sa.select(OutboxMessage).where(_mine(user)).order_by(*newest_first).limit(limit)))


def mark_one_read(user: User, message_id: int) -> OutboxMessage | None:
    """Mark one of the user's in-app messages read (once: a read one keeps its time); None when it is not theirs."""
    message = db.session.scalar(sa.select(OutboxMessage).where(_mine(user), OutboxMessage.id == message_id))
    if message is not None and message.sent_at is None:
        message.sent_at = utcnow()
        forget_session_extra(user, UNREAD)
        db.session.flush()
    return message


def mark_read(user: User) -> int:
    """Mark every unread in-app message of the user as read now; returns how many."""
    forget_session_extra(user, UNREAD)
    result = db.session.execute(sa.update(OutboxMessage).where(_mine(user), OutboxMessage.sent_at.is_(None))
                                .values(sent_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0
