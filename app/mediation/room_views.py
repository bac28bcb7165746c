"""The session room: the room page, its Socket.IO events, and what the room stores."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("room", __name__)
