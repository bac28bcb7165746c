"""Home page and the role-aware dashboard redirect."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

bp = Blueprint("core", __name__)

# Where each role's work starts (endpoint names only: core imports no capability).
ROLE_HOME = {
    "resident": "cases.my_cases", "grid_worker": "cases.my_cases", "mediator": "mediation.inbox",
    "org_admin": "mediation.org_board", "arbitrator": "escalation.arbitration_inbox",
    "court_clerk": "escalation.court_inbox", "admin": "analytics.overview",
}


@bp.route("/")
def home():
    return render_template("core/home.html")


@bp.route("/dashboard")
@login_required
def dashboard():
    return redirect(url_for(ROLE_HOME[current_user.role.value]))


@bp.route("/healthz")
def healthz():
    return {"status": "ok"}
