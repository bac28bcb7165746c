"""Mediation deadlines: extension proposals and the parties' consent."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("deadlines", __name__)
