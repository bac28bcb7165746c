"""Inboxes of escalated cases for court clerks and arbitrators."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from app.accounts.models import Role
from app.cases.forms import StepForm
from app.cases.models import Case, CaseStatus, Stage
from app.escalation import models as _models  # noqa: F401  (registers the escalation tables)
from app.escalation import notify as _notify  # noqa: F401  (tells everyone of each escalation step)
from app.extensions import db

bp = Blueprint("escalation", __name__)


@bp.route("/court/inbox")
@login_required
def court_inbox():
    if current_user.role != Role.court_clerk:
        abort(403)
    cases = db.session.scalars(
        sa.select(Case).where(Case.court_id == current_user.organisation_id, Case.stage == Stage.litigate)
        .order_by(Case.status != CaseStatus.filed, Case.updated_at.desc())).all()
    return render_template("escalation/court_inbox.html", cases=cases, step_form=StepForm())


@bp.route("/arbitration/inbox")
@login_required
def arbitration_inbox():
    if current_user.role != Role.arbitrator:
        abort(403)
    cases = db.session.scalars(
        sa.select(Case).where(Case.arbitration_body_id == current_user.organisation_id)
        .order_by(Case.stage != Stage.arbitrate, Case.updated_at.desc())).all()
    return render_template("escalation/arbitration_inbox.html", cases=cases, step_form=StepForm())
