"""Mediator inbox, organisation board and the manual assignment page."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from flask_babel import gettext
from flask_login import current_user, login_required

from app.accounts.models import Role, User
from app.cases.forms import StepForm
from app.cases.models import Case, CaseStatus, Stage
from app.cases.operations import mediators_for
from app.cases.views import load_case
from app.core.errors import DomainError
from app.extensions import db

bp = Blueprint("mediation", __name__)


def _require(*roles: Role) -> None:
    if current_user.role not in roles:
        abort(403)


@bp.route("/mediator/inbox")
@login_required
def inbox():
    _require(Role.mediator)
    cases = db.session.scalars(sa.select(Case).where(Case.mediator_id == current_user.id)
                               .order_by(Case.stage != Stage.mediate, Case.updated_at.desc())).all()
    return render_template("mediation/inbox.html", cases=cases, step_form=StepForm())


@bp.route("/org/cases")
@login_required
def org_board():
    _require(Role.org_admin, Role.admin)
    query = sa.select(Case).where(Case.stage == Stage.mediate)
    if current_user.role == Role.org_admin:
        query = query.where(Case.organisation_id == current_user.organisation_id)
    cases = db.session.scalars(query.order_by(Case.status != CaseStatus.awaiting_assignment, Case.created_at)).all()
    return render_template("mediation/org_board.html", cases=cases)


def mediator_loads(mediators: list[User]) -> dict[int, int]:
    """Open mediation cases per mediator."""
    if not mediators:
        return {}
    rows = db.session.execute(
        sa.select(Case.mediator_id, sa.func.count()).where(
            Case.mediator_id.in_([m.id for m in mediators]), Case.stage == Stage.mediate,
            Case.status == CaseStatus.in_progress).group_by(Case.mediator_id)).all()
    return {mid: n for mid, n in rows}


@bp.route("/org/cases/<int:case_id>/assign")
@login_required
def assign(case_id: int):
    case = load_case(case_id)
    if not case.can_assign(current_user):
        if case.mediator_id and current_user.role in (Role.org_admin, Role.admin) and case.organisation_id in (
                current_user.organisation_id, None) or (case.mediator_id and current_user.role == Role.admin):
            raise DomainError(gettext("此案件已分派给调解员%(mediator)s，当前为“%(status)s”，无需再分派。",
                                      mediator=case.mediator.display_name, status=case.status.label), 409)
        abort(403)
    mediators = mediators_for(case)
    form = StepForm(version=case.version)
    return render_template("mediation/assign.html", case=case, mediators=mediators,
                           loads=mediator_loads(mediators), form=form)
