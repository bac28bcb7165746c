"""The consult page: a question in plain words, the likely dispute type, and the way on."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from app.cases.rules import current_rules

bp = Blueprint("consult", __name__)


@bp.route("/consult", methods=["GET"])
def ask():
    question = (request.args.get("q") or "").strip()[:2000]
    return render_template("consult/ask.html", question=question, categories=current_rules().categories.values())
