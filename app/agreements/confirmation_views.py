"""Judicial confirmation (司法确认): the joint application, the court clerk's decision."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("confirmation", __name__)
