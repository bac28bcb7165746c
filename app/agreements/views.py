"""Agreement pages: draft, review, sign, the PDF and its progress, /verify, judicial confirmation."""
from __future__ import annotations

from flask import Blueprint

from app.agreements import models  # noqa: F401  (registers the tables)

bp = Blueprint("agreements", __name__)
