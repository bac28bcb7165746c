"""Case pages: file, view (with assessment and timeline), edit, funnel steps, evidence."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload, lazyload, selectinload

from app.accounts.models import Role
from app.cases import evidence as evidence_ops
from app.cases import facts, funnel, operations
from app.cases.forms import CaseForm, EvidenceForm, StepForm
from app.cases.models import Case, CaseEvent, CaseParty, EvidenceFile, PartyKind, PartyRole, Stage
from app.cases.operations import CaseData, PartyData
from app.cases.rules import current_rules
from app.core import idempotency
from app.core.db_plans import key_lookups
from app.core.enums import select_choices
from app.core.errors import DomainError, TransitionRefused
from app.core.i18n import gettext
from app.core.render_memo import rendering
from app.core.storage import storage
from app.core.web import safe_local_path
from app.extensions import db

bp = Blueprint("cases", __name__)


@bp.app_template_filter("category_label")
def category_label(category_id: str | None) -> str:
    """A category id as its name in the user's language ("—" when there is none)."""
    cat = current_rules().category(category_id)
    if cat is None:
        return category_id or "—"
    return cat.en if get_locale() and get_locale().language == "en" else cat.zh


@bp.record_once
def _funnel_globals(state) -> None:
    from app.cases.models import Stage

    state.app.jinja_env.globals["FUNNEL_STAGES"] = [s for s in Stage if s != Stage.closed]


def load_case(case_id: int, *options) -> Case:
    """The case if current_user may see it; 404 otherwise (never reveal that it exists). options: loader options
    for what the page reads of it (they apply when the case is not already in the session)."""
    case = db.session.get(Case, case_id, options=options or None)
    if case is None or not case.can_view(current_user):
        abort(404)
    return case


def _category_choices():
    return current_rules().choices(get_locale().language if get_locale() else "zh")


def _case_data(form: CaseForm) -> CaseData:
    return CaseData(title=form.title.data, description=form.description.data, category=form.category.data or None,
                    amount=form.amount.data, desired_outcome=form.desired_outcome.data,
                    region_code=form.region_code.data or None,
                    has_arbitration_agreement=bool(form.has_arbitration_agreement.data))


def _parties(form: CaseForm, applicant_user_id: int | None, applicant_name: str,
             applicant_email: str | None = None) -> list[PartyData]:
    parties = [PartyData(role=PartyRole.applicant, kind=PartyKind.person, name=applicant_name,
                         phone=form.applicant_phone.data or None, id_number=(form.applicant_id_number.data or None),
                         region_code=form.region_code.data or None, user_id=applicant_user_id, email=applicant_email)]
    for sub in (form.respondent1.form, form.respondent2.form):
        if sub.filled:
            parties.append(PartyData(role=PartyRole.respondent, kind=PartyKind(sub.kind.data), name=sub.name.data.strip(),
                                     phone=sub.phone.data or None, id_number=(sub.id_number.data or "").upper() or None,
                                     region_code=sub.region_code.data or None, address=sub.address.data or None,
                                     email=(sub.email.data or "").strip() or None))
    return parties


def _render_case(case: Case, step_form: StepForm | None = None, failed_action: str | None = None, status: int = 200,
                 evidence_form: EvidenceForm | None = None):
    rules = current_rules()
    actions = funnel.available(case, current_user, rules)
    # The step forms are plain HTML: a GET reads the form object only for a step that asks for a court (its list);
    # the evidence form only shows to a party (both cost ~0.3 ms each to build).
    asks_court = any("court_id" in t.fields for t in actions)
    if step_form is None and asks_court:
        step_form = StepForm(version=case.version)
    # The court list is only read by a step that asks for a court (filing a lawsuit).
    if asks_court and case.court_id is None and case.is_applicant_side(current_user):
        step_form.court_id.choices = select_choices((c.id, c.name) for c in operations.courts_for(case))
    if evidence_form is None and case.can_add_evidence(current_user):
        evidence_form = EvidenceForm()
    with rendering():  # the panels share their lookups (app/core/render_memo.py)
        return render_template(
            "cases/view.html", case=case, category=rules.category(case.category),
            actions=actions, blocked=funnel.blocked_for_user(case, current_user, rules),
            step_form=step_form, failed_action=failed_action, evidence_form=evidence_form,
            events=case.events,  # ordered by seq; the funnel bar and the panels read the same list
        ), status


@bp.route("/cases/<int:case_id>")
@key_lookups
@login_required
def view_case(case_id: int):
    # The page lists the parties and the evidence and names the mediation organisation: they come joined to the
    # case's own row rather than in lazy loads while the template renders (one statement fewer; the rows are parties
    # x evidence files, and a case has one to three parties). The history stays lazy (it grows with every step):
    # selectinload cost as much CPU.
    # Staff see the panels of several packages, each over its own table: which of them hold rows for the case comes
    # with its row (app/cases/facts.py), so the empty panels cost no query. A resident's page has none of those
    # lookups on most cases, so it does not ask.
    staff = (facts.with_panel_facts(),) if current_user.role != Role.resident else ()
    return _render_case(load_case(case_id, *_case_page_options(), *staff))


@functools.cache
def _case_page_options() -> tuple:
    """view_case's loader options, built once: options are immutable, and building these cost ~0.06 ms a request."""
    return (joinedload(Case.parties), joinedload(Case.evidence), joinedload(Case.organisation),
            lazyload(Case.events).joinedload(CaseEvent.actor))


@bp.route("/cases/<int:case_id>/edit", methods=["GET", "POST"])
@login_required
def edit_case(case_id: int):
    case = load_case(case_id)
    if not case.is_applicant_side(current_user):
        abort(403)
    if not case.can_edit(current_user):
        raise DomainError(gettext("案件已进入“%(stage)s·%(status)s”，不能再修改案件信息。"
                                  "如需补充材料，请上传证据或联系办理人员。",
                                  stage=case.stage.label, status=case.status.label), 409)
    form = CaseForm(category_choices=_category_choices())
    if request.method == "GET":
        _fill_form(form, case)
    if form.validate_on_submit():
        applicant = case.applicants[0] if case.applicants else None
        operations.update_case(case, current_user, _case_data(form),
                               _parties(form, applicant.user_id if applicant else None,
                                        applicant.name if applicant else current_user.display_name,
                                        applicant.email if applicant else None),
                               form.version.data, current_rules())
        db.session.commit()
        flash(gettext("案件信息已保存。"), "success")
        return redirect(url_for("cases.view_case", case_id=case.id))
    return render_template("cases/form.html", form=form, case=case), (422 if form.errors else 200)


def _fill_form(form: CaseForm, case: Case) -> None:
    form.title.data, form.category.data, form.amount.data = case.title, case.category or "", case.amount
    form.description.data, form.desired_outcome.data = case.description, case.desired_outcome
    form.region_code.data, form.version.data = case.region_code, case.version
    form.has_arbitration_agreement.data = case.has_arbitration_agreement
    if case.applicants:
        form.applicant_phone.data, form.applicant_id_number.data = case.applicants[0].phone, case.applicants[0].id_number
    for sub, party in zip((form.respondent1.form, form.respondent2.form), case.respondents):
        sub.kind.data, sub.name.data, sub.phone.data = party.kind.value, party.name, party.phone
        sub.id_number.data, sub.region_code.data, sub.address.data = party.id_number, party.region_code, party.address
        sub.email.data = party.email


@bp.route("/cases/<int:case_id>/steps/<action>", methods=["POST"])
@login_required
def take_step(case_id: int, action: str):
    case = load_case(case_id)
    t = funnel.BY_ACTION.get(action)
    if t is not None and t.page_only and funnel.refusal(case, action, current_user, current_rules()) is None:
        raise DomainError(gettext("此步骤须在专门页面完成，请打开“%(action)s”页面：%(url)s",
                                  action=t.label, url=url_for(t.page, case_id=case.id)), 409)
    form = StepForm()
    if not form.validate_on_submit():
        return _render_case(case, form, action, 422)
    data = {"mediator_id": form.mediator_id.data, "court_id": form.court_id.data,
            "court_case_number": form.court_case_number.data}
    try:
        event = operations.transition(case, action, current_user, current_rules(), reason=form.reason.data,
                                      data=data, seen_version=form.version.data)
    except TransitionRefused as exc:
        if exc.status_code != 422:
            raise
        db.session.rollback()
        form.reason.errors = [exc.message]
        return _render_case(db.session.get(Case, case_id), form, action, 422)
    db.session.commit()
    flash(gettext("已完成：%(action)s。", action=event.action_label), "success")
    return redirect(safe_local_path(request.form.get("back")) or url_for("cases.view_case", case_id=case.id))


@bp.route("/cases/<int:case_id>/evidence", methods=["POST"])
@key_lookups
@login_required
def upload_evidence(case_id: int):
    case = load_case(case_id)
    form = EvidenceForm()
    if form.validate_on_submit() and form.file.data:
        if replay := idempotency.claim(current_user.id):  # a double submit uploads once
            return replay
        try:
            evidence_ops.add_evidence(case, current_user, form.file.data.filename, form.file.data.read(), storage(),
                                    current_app.config["MAX_EVIDENCE_BYTES"], form.description.data or None)
        except DomainError as refused:  # the case page again, the reason by the file field, the description kept
            if refused.status_code == 403:
                raise
            db.session.rollback()
            form.file.errors = [*form.file.errors, refused.message]
            return _render_case(db.session.get(Case, case.id), evidence_form=form, status=refused.status_code)
        idempotency.record(url_for("cases.view_case", case_id=case.id))
        db.session.commit()
        flash(gettext("证据已上传。"), "success")
        return redirect(url_for("cases.view_case", case_id=case.id))
    form.file.errors = [*form.file.errors, gettext("请选择要上传的文件。")]
    return _render_case(case, evidence_form=form, status=422)


@bp.route("/cases/<int:case_id>/evidence/<int:evidence_id>")
@login_required
def download_evidence(case_id: int, evidence_id: int):
    case = load_case(case_id)
    evidence = db.session.get(EvidenceFile, evidence_id)
    if evidence is None or evidence.case_id != case.id:
        abort(404)
    mimetype, name = evidence_ops.served_as(evidence)  # the name's extension from the stored type, never the upload's
    response = send_file(storage().open(evidence.storage_key or evidence.sha256), mimetype=mimetype, as_attachment=True,
                         download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


MY_CASES_PER_PAGE = 20


@dataclass
class CasePage:
    """One page of a list of cases, with what the pager needs."""

    cases: list[Case]
    page: int
    pages: int
    total: int


def _requested_page(raw: str | None) -> int | None:
    """?page=N as a positive int; None when it is not one (letters, 0, negative, absurdly long)."""
    if raw is None or raw == "":
        return 1
    if not re.fullmatch(r"[0-9]{1,9}", raw) or int(raw) < 1:
        return None
    return int(raw)


@functools.cache
def _card_events_option():
    """The events a case card shows, loaded for the whole page at once (built once: ~0.06 ms to build)."""
    return selectinload(Case.events).load_only(CaseEvent.seq, CaseEvent.action, CaseEvent.to_stage,
                                               CaseEvent.to_status, CaseEvent.created_at)


def _my_cases_page(criterion, page: int, per_page: int = MY_CASES_PER_PAGE, generic_plan: bool = False) -> CasePage:
    """The page of cases matching criterion, open ones first, newest activity first; a page past the end gives the
    last page. Each card reads its case's events (funnel bar, last steps): loaded for this page's cases at once,
    never per card, and only the columns a card shows (not the reasons and hashes)."""
    events = _card_events_option()
    # Each row carries the number of all matches (count(*) over ()): no second statement to count them for the pager.
    stmt = (sa.select(Case, sa.func.count().over()).where(criterion).options(events)
            .order_by(Case.stage == Stage.closed, Case.updated_at.desc(), Case.id.desc())
            .execution_options(generic_plan=generic_plan))
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    if rows or page == 1:
        total = rows[0][1] if rows else 0
    else:  # past the end: count to find the last page
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(criterion)) or 0
    pages = max(1, -(-total // per_page))
    if page > pages:
        page = pages
        rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    cases = [row[0] for row in rows]
    return CasePage(cases, page, pages, total)


def _resumable(cases: list[Case], user) -> set[int]:
    """The drafts (consult) among cases that user may go on filling in: filed by them, or naming them as the
    applicant (case.is_applicant_side). Decided without loading every card's parties: most drafts are the filer's."""
    drafts = [c for c in cases if c.stage == Stage.consult]
    resumable = {c.id for c in drafts if c.filed_by_id == user.id}
    others = [c.id for c in drafts if c.id not in resumable]
    if others:
        resumable.update(db.session.scalars(sa.select(CaseParty.case_id).where(
            CaseParty.case_id.in_(others), CaseParty.user_id == user.id, CaseParty.role == PartyRole.applicant)))
    return resumable


@bp.route("/my/cases")
@login_required
def my_cases():
    """The resident's (or grid worker's) dashboard: each case with its stage and timeline, 20 to a page."""
    raw = request.args.get("page")
    wanted = _requested_page(raw)
    # A resident's own cases are a look-up by their id (app/core/db_plans.py); staff who open this page get a list
    # filtered by their organisation or court, planned for its values.
    result = _my_cases_page(Case.visible_to(current_user), wanted or 1,
                            generic_plan=current_user.role in (Role.resident, Role.grid_worker))
    notice = None
    if wanted is None:
        notice = gettext("页码“%(page)s”无效，已显示第 1 页。", page=raw[:20])
    elif wanted > result.page:
        notice = gettext("没有第 %(page)s 页，已显示最后一页（第 %(last)s 页）。", page=wanted, last=result.pages)
    return render_template("cases/dashboard.html", cases=result.cases, pager=result, notice=notice,
                           resumable=_resumable(result.cases, current_user))


from app.cases import intake_views  # noqa: E402,F401  (the intake wizard's routes live on this blueprint)
