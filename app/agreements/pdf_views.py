"""The signed agreement's PDF: progress while a job renders and signs it, the download, and /verify."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("agreement_pdf", __name__)
