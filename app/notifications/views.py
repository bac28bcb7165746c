"""In-app notifications: the messages queued for a user on the in_app channel of the outbox."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("notifications", __name__)
