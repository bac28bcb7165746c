"""The administrator's overview: cases by stage and status, organisations, the audit chain."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from app.accounts.models import Organisation, Role, User
from app.analytics import models as _models  # noqa: F401  (registers the ratings table)
from app.cases.models import Case, CaseStatus, Stage
from app.cases.operations import verify_chain
from app.extensions import db

bp = Blueprint("analytics", __name__)


@bp.route("/admin/overview")
@login_required
def overview():
    if current_user.role != Role.admin:
        abort(403)
    by_state = db.session.execute(sa.select(Case.stage, Case.status, sa.func.count()).group_by(Case.stage, Case.status)).all()
    stage_totals = {s: 0 for s in Stage}
    for stage, _status, n in by_state:
        stage_totals[stage] += n
    orgs = db.session.scalars(sa.select(Organisation).order_by(Organisation.type, Organisation.tier, Organisation.id)).all()
    users_by_role = dict(db.session.execute(sa.select(User.role, sa.func.count()).group_by(User.role)).all())
    recent = db.session.scalars(sa.select(Case).order_by(Case.updated_at.desc()).limit(20)).all()
    checked, broken = verify_chain()
    return render_template("analytics/overview.html", by_state=sorted(by_state, key=lambda r: (list(Stage).index(r[0]), r[1].value)),
                           stage_totals=stage_totals, orgs=orgs, users_by_role=users_by_role, recent=recent,
                           chain_checked=checked, chain_broken=broken, Role=Role, CaseStatus=CaseStatus)
