"""Arbitration pages (skeleton: filled in by issue 7's work)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("arbitration", __name__)
