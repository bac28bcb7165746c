"""The governance dashboard (/dashboard/governance): every panel as a chart and a table of the same numbers, with a
CSV export each; and the parties' satisfaction rating of a closed case (the form on the case page).

Numbers come only from app.analytics.queries; this module turns them into panels: a title, table columns and
rows (shown as HTML, written as CSV) and a chart spec that app/static/js/dashboard.js draws with ECharts.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required

from app.accounts.models import Role
from app.analytics import panel_cache, queries, ratings
from app.analytics.forms import DashboardFilterForm, RatingForm
from app.analytics.queries import Scope
from app.analytics.warnings import current_warnings
from app.cases.models import Stage
from app.cases.views import category_label, load_case
from app.core.errors import DomainError
from app.core.i18n import N_, gettext
from app.core.time import beijing_today, utcnow
from app.extensions import db

bp = Blueprint("dashboard", __name__)
T = TypeVar("T")


@bp.record_once
def _validate_rules(state) -> None:
    """warnings.yaml is checked when the app starts: a broken file stops it here."""
    from app.analytics.warnings import load_warning_rules

    load_warning_rules(str(state.app.config["RULES_DIR"]))

TABLE_ROWS = 50     # longer lists: the first 50 on the page (limit), all of them in the CSV (limit None)
CHART_ITEMS = 15    # bars drawn per chart (the table and the CSV hold the rest)


@dataclass
class Link:
    """A table cell that links somewhere (the CSV keeps the text)."""

    text: str
    href: str


@dataclass
class Table:
    columns: list[str]
    rows: list[list]
    caption: str | None = None
    total: int | None = None          # rows in the CSV when the page shows fewer


@dataclass
class Panel:
    key: str
    title: str
    tables: list[Table]
    chart: dict | None = None
    summary: str | None = None


# --- who sees what ------------------------------------------------------------------------------------------------
def _scope_for_user(since: date | None, until: date | None) -> Scope:
    """The platform for the admin, their organisation for an org admin; 403 for everyone else."""
    if current_user.role == Role.admin:
        return Scope(organisation_id=None, since=since, until=until)
    if current_user.role == Role.org_admin and current_user.organisation_id is not None:
        return Scope(organisation_id=current_user.organisation_id, since=since, until=until)
    abort(403)


def _filters() -> tuple[DashboardFilterForm, Scope]:
    form = DashboardFilterForm(request.args)
    valid = form.validate() if request.args else True
    since, until = form.period() if valid else (None, None)
    return form, _scope_for_user(since, until)


def _filter_args(form: DashboardFilterForm) -> dict[str, str]:
    """The month filter as query arguments for the CSV links (only when it was valid)."""
    if form.errors:
        return {}
    return {f.name: f.data.strftime("%Y-%m") for f in (form.since, form.until) if f.data}


def _today() -> date:
    """Today in China (UTC+8): overdue days are counted in the local calendar."""
    return beijing_today()


# --- formatting ---------------------------------------------------------------------------------------------------
def _pct(rate: float | None) -> str | None:
    return None if rate is None else f"{rate * 100:.1f}%"


def _days(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _case_link(case_id: int, title: str) -> Link:
    return Link(f"#{case_id} {title}", url_for("cases.view_case", case_id=case_id))


# --- panels -------------------------------------------------------------------------------------------------------
FUNNEL_STEPS = {"consults": N_("咨询"), "cases": N_("评估立案"), "mediated": N_("进入调解"), "settled": N_("调解成功"),
                "arbitrated": N_("进入仲裁"), "litigated": N_("进入诉讼")}


def funnel_panel(scope: Scope, limit: int | None) -> Panel:
    steps = queries.funnel(scope)
    labels = [gettext(FUNNEL_STEPS.get(s["key"], s["key"])) for s in steps]
    label_of = {s["key"]: label for label, s in zip(labels, steps)}
    rows = [[label, s["count"], _pct(s["rate"]), label_of.get(s["of"])] for label, s in zip(labels, steps)]
    chart = {"type": "funnel", "labels": labels, "series": [{"name": gettext("案件数"), "values": [s["count"] for s in steps]}]}
    return Panel("funnel", gettext("化解漏斗转化"), [Table([gettext("环节"), gettext("案件数"), gettext("转化率"), gettext("相对于")], rows)],
                 chart)


DIMENSIONS = {"category": (N_("按纠纷类型"), N_("纠纷类型"), "hbar"), "region": (N_("按地区（区县）"), N_("地区"), "hbar"),
              "tier": (N_("按调解组织层级"), N_("层级"), "pie"), "month": (N_("按月份"), N_("月份"), "line")}


def _dimension_label(dimension: str, item: dict) -> str:
    """Regions show their name and code, e.g. 镜湖区（340202）."""
    if dimension == "region" and item["label"] != item["key"]:
        return f"{item['label']}（{item['key']}）"
    return item["label"]


def dimension_panel(scope: Scope, limit: int | None, dimension: str) -> Panel:
    title, column, kind = DIMENSIONS[dimension]
    items = queries.by_dimension(scope, dimension)
    rows = [[_dimension_label(dimension, i), i["count"]] for i in items]
    drawn = items if dimension == "month" else items[:CHART_ITEMS]
    chart = {"type": kind, "labels": [i["label"] for i in drawn],
             "series": [{"name": gettext("案件数"), "values": [i["count"] for i in drawn]}]}
    table = Table([gettext(column), gettext("案件数")], rows[:limit] if dimension != "month" else rows,
                  total=len(rows))
    return Panel(dimension, gettext(title), [table], chart)


def stage_times_panel(scope: Scope, limit: int | None) -> Panel:
    items = queries.stage_times(scope)
    rows = [[i["label"], i["cases"], _days(i["median_days"]), _days(i["p90_days"])] for i in items]
    chart = {"type": "bar", "labels": [i["label"] for i in items],
             "series": [{"name": gettext("中位数（天）"), "values": [r[2] for r in rows]},
                        {"name": gettext("90 分位（天）"), "values": [r[3] for r in rows]}]}
    return Panel("stage_times", gettext("各阶段用时"), [Table(
        [gettext("阶段"), gettext("已完成案件数"), gettext("中位数（天）"), gettext("90 分位（天）")], rows)], chart)


def _load_chart(names: list[str], items: list[dict]) -> dict:
    return {"type": "load", "labels": names[:CHART_ITEMS],
            "series": [{"name": gettext("在办"), "values": [i["open"] for i in items[:CHART_ITEMS]]},
                       {"name": gettext("已结"), "values": [i["closed"] for i in items[:CHART_ITEMS]]},
                       {"name": gettext("调解成功率"), "axis": "rate",
                        "values": [None if i["settlement_rate"] is None else round(i["settlement_rate"] * 100, 1)
                                   for i in items[:CHART_ITEMS]]}]}


def mediators_panel(scope: Scope, limit: int | None) -> Panel:
    items = queries.mediator_load(scope)
    rows = [[i["name"], i["organisation"], i["open"], i["closed"], i["settled"], _pct(i["settlement_rate"])]
            for i in items]
    table = Table([gettext("调解员"), gettext("调解组织"), gettext("在办"), gettext("已结"), gettext("调解成功"),
                   gettext("调解成功率")], rows[:limit], total=len(rows))
    return Panel("mediators", gettext("调解员办案量与调解成功率"), [table], _load_chart([i["name"] for i in items], items))


def organisations_panel(scope: Scope, limit: int | None) -> Panel:
    items = queries.organisation_load(scope)
    rows = [[i["name"], i["open"], i["closed"], i["settled"], _pct(i["settlement_rate"])] for i in items]
    table = Table([gettext("调解组织"), gettext("在办"), gettext("已结"), gettext("调解成功"), gettext("调解成功率")],
                  rows[:limit], total=len(rows))
    return Panel("organisations", gettext("调解组织办案量与调解成功率"), [table],
                 _load_chart([i["name"] for i in items], items))


def satisfaction_panel(scope: Scope, limit: int | None) -> Panel:
    data = queries.satisfaction(scope)
    by_score = {int(k): v for k, v in data["by_score"].items()}
    labels = [gettext("%(n)s 分", n=n) for n in range(5, 0, -1)]
    rows = [[label, by_score.get(n, 0)] for label, n in zip(labels, range(5, 0, -1))]
    summary = (gettext("共 %(n)s 条评价，平均 %(avg)s 分", n=data["ratings"], avg=f"{data['average']:.2f}")
               if data["average"] is not None else gettext("尚无评价"))
    chart = {"type": "bar", "labels": labels, "series": [{"name": gettext("评价数"), "values": [r[1] for r in rows]}]}
    return Panel("satisfaction", gettext("当事人满意度"), [Table([gettext("评分"), gettext("评价数")], rows)], chart,
                 summary=summary)


OVERDUE_LISTS = {"mediation": N_("调解超期（一个月）"), "labour_mediation": N_("劳动争议调解超期（15 日）"),
                 "confirmation": N_("司法确认申请超过 30 日未共同提交"),
                 "court_returns": N_("法院退回补正超过 15 日未重新提交")}


def overdue_panel(scope: Scope, limit: int | None) -> Panel:
    data = queries.overdue(scope, _today())
    counts = data.get("counts", {})
    names = [gettext(OVERDUE_LISTS[k]) for k in OVERDUE_LISTS]
    tables = []
    for key, name in zip(OVERDUE_LISTS, names):
        rows = [[_case_link(e["case_id"], e["title"]), e["days_over"], e["organisation"]] for e in data.get(key, [])]
        tables.append(Table([gettext("案件"), gettext("超期天数"), gettext("调解组织")], rows,
                            caption=f"{name}（{counts.get(key, len(rows))}）", total=counts.get(key, len(rows))))
    chart = {"type": "hbar", "labels": names,
             "series": [{"name": gettext("超期案件数"), "values": [counts.get(k, 0) for k in OVERDUE_LISTS]}]}
    return Panel("overdue", gettext("超期督办"), tables, chart)


SEVERITY = {"high": N_("高"), "medium": N_("中")}


def warnings_panel(scope: Scope, limit: int | None) -> Panel:
    items = current_warnings(scope)
    rows = [[w["title"], gettext(SEVERITY.get(w.get("severity"), SEVERITY["medium"])), w["why"],
             w.get("region_label") or w.get("region") or "",
             category_label(w["category"]) if w.get("category") else "",
             [Link(f"#{cid}", url_for("cases.view_case", case_id=cid)) for cid in w.get("case_ids", [])]]
            for w in items]
    panel = Panel("warnings", gettext("风险预警"), [Table(
        [gettext("预警"), gettext("级别"), gettext("依据"), gettext("地区"), gettext("纠纷类型"), gettext("相关案件")],
        rows[:limit], total=len(rows))])
    if not items:
        panel.summary = gettext("当前没有预警。")
    return panel


PANELS: dict[str, Callable[[Scope, int | None], Panel]] = {
    "funnel": funnel_panel,
    "category": lambda s, limit: dimension_panel(s, limit, "category"),
    "region": lambda s, limit: dimension_panel(s, limit, "region"),
    "tier": lambda s, limit: dimension_panel(s, limit, "tier"),
    "month": lambda s, limit: dimension_panel(s, limit, "month"),
    "stage_times": stage_times_panel,
    "mediators": mediators_panel,
    "organisations": organisations_panel,
    "satisfaction": satisfaction_panel,
    "overdue": overdue_panel,
    "warnings": warnings_panel,
}


# --- pages --------------------------------------------------------------------------------------------------------
def _cached(scope: Scope, what: str, build: Callable[[], T]) -> tuple[T, datetime]:
    """Built panels from the short in-process cache (app/analytics/panel_cache.py). The scope comes from
    _scope_for_user, which has already run for this request: it holds the only organisation this user may see (or
    None for the admin) and the filter's dates, so one organisation's entries are never served to another's admin.
    Off under TESTING unless DASHBOARD_PANEL_CACHE is set: the test suite wipes the data between tests with raw SQL
    that no cache can see (tests/analytics turns it on and empties it around each test)."""
    if not current_app.config.get("DASHBOARD_PANEL_CACHE", not current_app.testing):
        return build(), utcnow()
    return panel_cache.get_or_build((scope, str(get_locale()), what), build)


@bp.route("/dashboard/governance")
@login_required
def governance():
    form, scope = _filters()
    panels, computed_at = _cached(scope, "page", lambda: [build(scope, TABLE_ROWS) for build in PANELS.values()])
    org = current_user.organisation if scope.organisation_id is not None else None
    return render_template("analytics/dashboard.html", panels=panels, form=form, org=org,
                           csv_args=_filter_args(form), computed_at=computed_at)


def _cell_text(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, Link):
        return cell.text
    if isinstance(cell, list):
        return " ".join(_cell_text(c) for c in cell)
    if isinstance(cell, str) and cell.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + cell  # names and titles are typed by users: never let Excel read one as a formula
    return str(cell)


def panel_csv(panel: Panel) -> str:
    """The panel's tables as CSV text (several tables: a first column names the list)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    many = len(panel.tables) > 1
    for i, table in enumerate(panel.tables):
        if i == 0:
            writer.writerow(([gettext("清单")] if many else []) + table.columns)
        for row in table.rows:
            writer.writerow(([table.caption] if many else []) + [_cell_text(c) for c in row])
    return buf.getvalue()


@bp.route("/dashboard/governance/<panel>.csv")
@login_required
def governance_csv(panel: str):
    _form, scope = _filters()
    if panel not in PANELS:
        abort(404)
    built, _computed_at = _cached(scope, f"csv:{panel}", lambda: PANELS[panel](scope, None))
    body = "\ufeff" + panel_csv(built)  # the BOM makes Excel read UTF-8 (Chinese) right
    stamp = _today().strftime("%Y%m%d")
    return Response(body.encode("utf-8"), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=governance-{panel}-{stamp}.csv"})


# --- satisfaction rating on the case page ------------------------------------------------------------------------
@bp.app_template_global()
def rating_panel(case) -> dict | None:
    """The rating panel for a party of a closed case: the form, or the rating they gave."""
    if not current_user.is_authenticated or not ratings.is_rating_party(case, current_user):
        return None
    if case.stage != Stage.closed:
        return None
    given = ratings.rating_of(case, current_user)
    return {"rating": given, "form": None if given else RatingForm()}


@bp.route("/cases/<int:case_id>/rating", methods=["POST"])
@login_required
def rate_case(case_id: int):
    case = load_case(case_id)
    ratings.check_may_rate(case, current_user)
    form = RatingForm()
    if not form.validate_on_submit():
        raise DomainError(next(iter(form.errors.values()))[0], 422)
    ratings.rate_case(case, current_user, form.score.data, form.comment.data)
    db.session.commit()
    flash(gettext("感谢您的评价！"), "success")
    return redirect(url_for("cases.view_case", case_id=case.id, _anchor="rating"))
