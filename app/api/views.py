"""The court-facing JSON API under /api/v1/ (bearer tokens per court)."""
from __future__ import annotations

from flask import Blueprint

from app.api import models  # noqa: F401  (registers the table)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
