"""The assessment report of a case: the page, its PDF (through app/documents) and `flask assess fee`.

The database work (the case, similar concluded cases, the routing preview) happens here; the report itself
is computed by app/cases/assessment.py from plain values."""
from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal, InvalidOperation

import click
import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.cases import assessment
from app.cases.assessment_rules import FEE_KINDS, current_assessment_rules, load_assessment_rules
from app.cases.assignment import case_text, choose_mediator, current_engine
from app.cases.models import Case, CaseStatus, Stage
from app.cases.rules import RulesError, current_rules, load_rules
from app.cases.views import load_case
from app.core.i18n import gettext, is_english
from app.core.time import beijing_today
from app.documents import DocumentError, issue
from app.documents.operations import pdf_download
from app.extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("assessment", __name__, cli_group="assess")
MOVED_ON = (Stage.arbitrate, Stage.litigate)


@bp.record_once
def _validate_rules(state) -> None:
    """A broken fees.yaml or assessment.yaml stops the app at start-up, like the other rule files."""
    rules_dir = str(state.app.config["RULES_DIR"])
    rules = load_assessment_rules(rules_dir)
    categories = load_rules(rules_dir).categories
    unknown = (set(rules.referrals) | set(rules.not_subject) | set(rules.fees.category_kinds)) - set(categories)
    if unknown:
        raise RulesError(f"fees.yaml/assessment.yaml name unknown categories: {sorted(unknown)}")
    missing = [c.id for c in categories.values() if not c.mediable and c.id not in rules.referrals]
    if missing:
        raise RulesError(f"assessment.yaml referrals: say where to go for {missing}")


@bp.app_template_filter("yuan")
def yuan(value) -> str:
    """12345.5 -> '12,345.50'; whole amounts without decimals: 2300 -> '2,300'."""
    if value is None:
        return "—"
    value = Decimal(value)
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def lang() -> str:
    return "en" if is_english() else "zh"


def outcome_labels() -> dict[str, str]:
    """How a similar case ended, in the reader's language."""
    labels = {s.value: s.label for s in CaseStatus}
    labels[Stage.arbitrate.value] = gettext("调解未成，已转仲裁")
    labels[Stage.litigate.value] = gettext("调解未成，已起诉至法院")
    return labels


def similar_past_cases(case: Case, limit: int = 500) -> list[assessment.PastCase]:
    """Concluded cases of the same category (or ones that moved on to arbitration or a court), anonymised."""
    rows = db.session.execute(
        sa.select(Case.amount, Case.stage, Case.status, Case.created_at, Case.closed_at)
        .where(Case.category == case.category, Case.id != case.id,
               sa.or_(Case.stage == Stage.closed, Case.stage.in_(MOVED_ON)))
        .order_by(Case.id.desc()).limit(limit)).all()
    return [assessment.PastCase(amount=amount, outcome=(status if stage == Stage.closed else stage).value,
                                days=(closed_at - created_at).days if closed_at else None)
            for amount, stage, status, created_at, closed_at in rows]


def handler_for(case: Case, category, choice) -> dict:
    """Who handles the case: the body it is with now, or the routing engine's choice (a preview, no change)."""
    holder = case.court if case.stage == Stage.litigate else (
        case.arbitration_body if case.stage == Stage.arbitrate else case.organisation)
    if case.stage == Stage.closed:
        return {"source": "closed", "organisation": holder.name if holder else None, "tier": None, "reason": None}
    if holder is not None:
        return {"source": "assigned", "organisation": holder.name, "tier": holder.tier.label, "reason": None}
    if not category.mediable:
        return {"source": "referral", "organisation": None, "tier": None, "reason": None}
    if choice is None or choice.best is None:
        reason = choice.triage_reason if choice is not None and lang() == "zh" else None
        return {"source": "triage", "organisation": None, "tier": None, "reason": reason}
    from app.accounts.models import Tier

    return {"source": "preview", "organisation": choice.best.organisation_name,
            "tier": Tier(choice.best.tier).label, "reason": None}


def build(case: Case, today: date | None = None) -> dict:
    """The report of case as plain data."""
    rules = current_rules()
    category = rules.category(case.category)
    engine = current_engine()
    choice = None
    if category.mediable and case.organisation_id is None and case.stage not in (Stage.closed, *MOVED_ON):
        choice = choose_mediator(case, engine)  # reads mediators and loads; changes nothing
    classification = choice.classification if choice else engine.classify(case_text(case))
    labels = {c.id: (c.en if lang() == "en" else c.zh) for c in rules.categories.values()}
    a_rules = current_assessment_rules()
    similar = assessment.similar_summary(similar_past_cases(case), case.amount, a_rules)
    names = outcome_labels()
    for row in similar["outcomes"] + similar["examples"]:
        row["label"] = names.get(row["outcome"], row["outcome"])
    facts = assessment.CaseFacts(
        id=case.id, title=case.title, category=category, amount=case.amount, began_on=case.began_on,
        learned_on=case.learned_on, has_arbitration_agreement=case.has_arbitration_agreement,
        stage=case.stage.label, status=case.status.label)
    return assessment.build_report(
        facts, a_rules, today or beijing_today(), classification=assessment.category_reasons(
            case.category, classification, labels), similar=similar, handler=handler_for(case, category, choice),
        lang=lang())


def _assessable(case: Case) -> bool:
    """A report needs a category; otherwise say so (the caller sends the user back to the case)."""
    if current_rules().category(case.category) is None:
        flash(gettext("案件尚未确定纠纷类型，暂时无法生成评估报告。"), "info")
        return False
    return True


@bp.route("/cases/<int:case_id>/assessment")
@login_required
def report_page(case_id: int):
    case = load_case(case_id)
    if not _assessable(case):
        return redirect(url_for("cases.view_case", case_id=case.id))
    return render_template("assessment/report.html", report=build(case), case=case)


@bp.route("/cases/<int:case_id>/assessment.pdf")
@login_required
def report_pdf(case_id: int):
    case = load_case(case_id)
    if not _assessable(case):
        return redirect(url_for("cases.view_case", case_id=case.id))
    try:
        issued = issue("assessment_report", "assessment/report_pdf.html", {"report": build(case)},
                       case_id=case.id, user_id=current_user.id)
    except DocumentError as exc:
        db.session.rollback()
        log.error("assessment PDF of case %s not rendered: %s", case.id, exc)
        flash(gettext("暂时无法生成 PDF：服务器缺少中文字体，已通知管理员。您可以先在本页查看评估报告。"), "error")
        return redirect(url_for("assessment.report_page", case_id=case.id))
    db.session.commit()
    return pdf_download(issued.pdf, f"jiefen-assessment-{case.id}.pdf", issued.document.sha256)


# --- flask assess fee ------------------------------------------------------------------------------
def plain_number(value: Decimal) -> str:
    """A fee as a bare number: 2300, 1150, 108.64."""
    return str(int(value)) if value == value.to_integral_value() else f"{value:.2f}"


@bp.cli.command("fee")
@click.option("--amount", "amount_text", default=None, help="Amount in dispute (yuan); divorce: property to divide.")
@click.option("--kind", type=click.Choice(FEE_KINDS), default="property", show_default=True)
@click.option("--mediated", is_flag=True, help="Closed by mediation or withdrawn (art. 15): halved.")
@click.option("--summary", is_flag=True, help="Summary procedure (art. 16): halved.")
def fee_command(amount_text: str | None, kind: str, mediated: bool, summary: bool) -> None:
    """Estimate the court case-acceptance fee (诉讼费用交纳办法); the last line is the fee in yuan."""
    try:
        amount = None if amount_text is None else Decimal(amount_text.replace(",", ""))
    except InvalidOperation as exc:
        raise click.BadParameter(f"not a number: {amount_text}", param_hint="--amount") from exc
    if amount is not None and (amount < 0 or not amount.is_finite()):
        raise click.BadParameter("must be a positive number of yuan", param_hint="--amount")
    if kind == "property" and amount is None:
        raise click.UsageError("--amount is required for a property claim")
    estimate = assessment.court_fee(amount, kind, current_assessment_rules().fees, mediated, summary)
    reductions = [name for name, on in (("closed by mediation/withdrawn (art. 15)", mediated),
                                        ("summary procedure (art. 16)", summary)) if on]
    click.echo(f"Court fee estimate under 诉讼费用交纳办法 art. 13: {kind} case"
               + (f", amount {plain_number(amount)} yuan" if amount is not None else ""))
    click.echo(f"Reductions: {', '.join(reductions) or 'none'}")
    if estimate.low != estimate.high:
        click.echo(f"Range set by the province: {plain_number(estimate.low)}-{plain_number(estimate.high)} yuan; "
                   "the upper end follows")
    click.echo(plain_number(estimate.high))
