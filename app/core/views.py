"""Home page and the role-aware dashboard redirect."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.core.db_plans import key_lookups
from app.core.web import safe_local_path

bp = Blueprint("core", __name__)

# Where each role's work starts (endpoint names only: core imports no capability).
ROLE_HOME = {
    "resident": "cases.my_cases", "grid_worker": "cases.my_cases", "mediator": "mediation.inbox",
    "org_admin": "mediation.org_board", "arbitrator": "escalation.arbitration_inbox",
    "court_clerk": "escalation.court_inbox", "admin": "analytics.overview",
}


@bp.route("/")
@key_lookups
def home():
    return render_template("core/home.html")


@bp.route("/dashboard")
@login_required
def dashboard():
    return redirect(url_for(ROLE_HOME[current_user.role.value]))


@bp.route("/healthz")
def healthz():
    return {"status": "ok"}


@bp.route("/lang/<code>")
def set_language(code: str):
    """Switch the interface language (zh or en) with a cookie, then go back to a local page."""
    if code not in ("zh", "en"):
        code = "zh"
    response = redirect(safe_local_path(request.args.get("next")) or "/")
    # No script reads it (app/static/js): HttpOnly. Secure whenever the page came over HTTPS (in production behind the
    # proxy, request.is_secure follows X-Forwarded-Proto: see TRUSTED_PROXIES), so it never travels in clear text.
    response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                        secure=request.is_secure)
    return response
