"""The administrator's overview: cases by stage and status, organisations, the audit chain."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.accounts.models import Organisation, Role, User
from app.analytics import models as _models  # noqa: F401  (registers the ratings table)
from app.cases.models import Case, CaseStatus, Stage
from app.cases.operations import verify_chain
from app.core import jobs
from app.core.i18n import gettext
from app.extensions import db

bp = Blueprint("analytics", __name__)


def _admin_only() -> None:
    if current_user.role != Role.admin:
        abort(403)


@bp.route("/admin/overview")
@login_required
def overview():
    _admin_only()
    by_state = db.session.execute(sa.select(Case.stage, Case.status, sa.func.count()).group_by(Case.stage, Case.status)).all()
    stage_totals = {s: 0 for s in Stage}
    for stage, _status, n in by_state:
        stage_totals[stage] += n
    orgs = db.session.scalars(sa.select(Organisation).order_by(Organisation.type, Organisation.tier, Organisation.id)).all()
    users_by_role = dict(db.session.execute(sa.select(User.role, sa.func.count()).group_by(User.role)).all())
    recent = db.session.scalars(sa.select(Case).order_by(Case.updated_at.desc()).limit(20)).all()
    # The whole audit chain is not verified on each view (at a province's millions of events that takes minutes):
    # the admin starts a verification, which runs as a job and reports in their notifications.
    return render_template("analytics/overview.html", by_state=sorted(by_state, key=lambda r: (list(Stage).index(r[0]), r[1].value)),
                           stage_totals=stage_totals, orgs=orgs, users_by_role=users_by_role, recent=recent,
                           Role=Role, CaseStatus=CaseStatus)


@bp.route("/admin/overview/verify-chain", methods=["POST"])
@login_required
def verify_audit_chain():
    _admin_only()
    jobs.enqueue(verify_chain_job, current_user.id)
    db.session.commit()  # the job is sent when the transaction commits
    flash(gettext("已开始校验办理记录哈希链，完成后结果会出现在您的通知中。"), "info")
    return redirect(url_for("analytics.overview"))


@jobs.job
def verify_chain_job(user_id: int) -> None:
    """Verify every case's event chain and the PII reveal log's chain and tell the admin who asked, in the app, one
    notice for each (the same checks as `flask audit verify`)."""
    from app.mediation.operations import notify_user
    from app.privacy import reveal_chain

    checked, broken = verify_chain()
    db.session.rollback()  # the read transaction of the long scan ends before the notice is written
    reveals, broken_reveal = reveal_chain.verify()
    db.session.rollback()
    user = db.session.get(User, user_id)
    if user is None:
        return
    if broken:
        subject = gettext("办理记录哈希链发现断裂")
        body = gettext("校验了 %(n)s 条完好的记录后发现问题：%(where)s", n=checked, where=broken)
    else:
        subject = gettext("办理记录哈希链完整")
        body = gettext("已校验 %(n)s 条办理记录，每个案件的哈希链都完整。", n=checked)
    notify_user(user, subject, body)
    if broken_reveal:
        subject = gettext("号码查看记录哈希链发现断裂")
        body = gettext("校验了 %(n)s 条完好的号码查看记录后发现问题：%(where)s", n=reveals, where=broken_reveal)
    else:
        subject = gettext("号码查看记录哈希链完整")
        body = gettext("已校验 %(n)s 条号码查看记录，哈希链完整。", n=reveals)
    notify_user(user, subject, body)
    db.session.commit()
