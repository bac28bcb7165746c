"""Scheduling a remote session: slots, picks, the .ics download."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("scheduling", __name__)
