"""In-app notifications are outbox messages on the in_app channel addressed to a user id; sent_at is when the
user read them (the outbox sender leaves in_app messages alone). Never commits."""
from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import User
from app.core.time import utcnow
from app.extensions import db
from app.mediation.models import OutboxMessage

PAGE_SIZE = 100


def _mine(user: User):
    return sa.and_(OutboxMessage.channel == "in_app", OutboxMessage.to == str(user.id))


def unread_count(user: User) -> int:
    """One COUNT query: the nav badge."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                             .where(_mine(user), OutboxMessage.sent_at.is_(None))) or 0


def latest(user: User, limit: int = PAGE_SIZE) -> list[OutboxMessage]:
    """The user's newest in-app messages, newest first."""
    newest_first = (OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    return list(db.session.scalars(sa.select(OutboxMessage).where(_mine(user)).order_by(*newest_first).limit(limit)))


def mark_read(user: User) -> int:
    """Mark every unread in-app message of the user as read now; returns how many."""
    result = db.session.execute(sa.update(OutboxMessage).where(_mine(user), OutboxMessage.sent_at.is_(None))
                                .values(sent_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0
