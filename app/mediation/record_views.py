"""The mediation record (调解笔录): statements, review, signatures, PDF; and the outcome."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("record", __name__)
