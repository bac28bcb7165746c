"""In-app notifications: the messages queued for a user on the in_app channel of the outbox."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from app.extensions import db
from app.notifications import operations

bp = Blueprint("notifications", __name__)


@bp.app_context_processor
def notification_badge() -> dict:
    """unread_notifications(): called by the nav only for a logged-in user, so other pages pay nothing."""

    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        return operations.unread_count(current_user)

    return {"unread_notifications": unread_notifications}


@bp.route("/notifications")
@login_required
def index():
    """The user's messages, newest first, unread ones marked; opening the page marks them read."""
    user = current_user._get_current_object()
    messages = operations.latest(user)
    unread = {m.id for m in messages if m.sent_at is None}
    operations.mark_read(user)
    # Rendered before the commit: a commit expires the loaded messages, and the page would then read each one
    # back with a query of its own (100 messages, 100 queries).
    page = render_template("notifications/index.html", messages=messages, unread=unread)
    db.session.commit()
    return page
