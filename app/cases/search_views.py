"""Case search (案件查询): an organisation admin's cases, or every case for the platform admin, by words and stage."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional

from app.accounts.models import Role
from app.cases.models import CaseStatus, Stage
from app.cases.search import MAX_PAGE, MAX_QUERY, search_cases
from app.core.fields import SelectField
from app.core.i18n import lazy_gettext

bp = Blueprint("case_search", __name__)


class CaseSearchForm(FlaskForm):
    """q, stage and page from the query string (GET: nothing changes, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(lazy_gettext("关键词"), validators=[
        Optional(), Length(max=MAX_QUERY, message=lazy_gettext("关键词最多 %(max)d 个字。", max=MAX_QUERY))],
        render_kw={"placeholder": lazy_gettext("标题、案情、当事人姓名、法院案号或案件编号")})
    stage = SelectField(lazy_gettext("阶段"), validators=[Optional()],
                        choices=lambda: [("", lazy_gettext("全部阶段"))] + [(s.value, s.label) for s in Stage])
    page = IntegerField(lazy_gettext("页码"), default=1, validators=[
        Optional(), NumberRange(1, MAX_PAGE, message=lazy_gettext("页码应在 1 到 %(max)d 之间。", max=MAX_PAGE))])


@bp.route("/org/cases/search")
@login_required
def search():
    if current_user.role not in (Role.org_admin, Role.admin):
        abort(403)
    org = current_user.organisation if current_user.role == Role.org_admin else None
    if current_user.role == Role.org_admin and org is None:
        abort(403)
    form = CaseSearchForm(formdata=request.args)
    result = None
    if form.validate():
        result = search_cases(organisation_id=org.id if org else None, query=form.q.data or "",
                              stage=form.stage.data or None, page=form.page.data or 1)
    return render_template("cases/search.html", form=form, result=result, org=org,
                           stage_label=lambda v: Stage(v).label, status_label=lambda v: CaseStatus(v).label)
