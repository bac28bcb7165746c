"""In-app notifications: the messages queued for a user on the in_app channel of the outbox. Reading them (GET) changes
nothing; marking them read is a POST: all at once, or one when it is opened through the page (POST, then redirect)."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
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
    """The user's messages, newest first, unread ones marked; looking at them marks nothing read."""
    user = current_user._get_current_object()
    messages = operations.latest(user)
    return render_template("notifications/index.html", messages=messages,
                           unread={m.id for m in messages if m.sent_at is None})


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_all_read():
    """全部标为已读: every unread message of the user, then back to the list (its badge gone)."""
    operations.mark_read(current_user._get_current_object())
    db.session.commit()
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/<int:message_id>/open", methods=["POST"])
@login_required
def open_message(message_id: int):
    """Mark one of the user's messages read and go where it points: its case, else back to it in the list (404 for
    anyone else's message)."""
    message = operations.mark_one_read(current_user._get_current_object(), message_id)
    if message is None:
        abort(404)
    case_id = message.case_id
    db.session.commit()
    if case_id is not None:
        return redirect(url_for("cases.view_case", case_id=case_id))
    return redirect(url_for("notifications.index") + f"#message-{message_id}")
