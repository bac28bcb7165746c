"""The intake wizard: /cases/new (step 1), then /cases/<id>/intake/<step>; every step saves a draft."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.accounts.models import Role
from app.cases import evidence as evidence_ops
from app.cases import intake
from app.cases.assignment import case_text, current_engine
from app.cases.intake_forms import (
    STEPS,
    CategoryForm,
    EvidenceStepForm,
    PartiesForm,
    ReviewForm,
    WhatHappenedForm,
)
from app.cases.models import Case, PartyKind, PartyRole
from app.cases.operations import PartyData
from app.cases.rules import current_rules
from app.cases.views import _category_choices, bp, load_case
from app.core import idempotency
from app.core.db_plans import key_lookups
from app.core.errors import DomainError, TransitionRefused
from app.core.i18n import gettext
from app.core.storage import storage
from app.extensions import db
from app.privacy import consent
from app.privacy.consent_views import consent_redirect

LAST_STEP = len(STEPS)

# {{ idempotency_key() }}: the hidden field of forms whose double submission would create something twice.
bp.add_app_template_global(idempotency.form_key, "idempotency_key")


def _filer_only() -> None:
    if current_user.role not in (Role.resident, Role.grid_worker):
        abort(403)


def _next_url(case: Case, step: int, nav: str) -> str:
    target = {"back": step - 1, "save": step, "next": step + 1}.get(nav, step + 1)
    if target < 1 or target > LAST_STEP:
        target = min(max(target, 1), LAST_STEP)
    return url_for("cases.intake_step", case_id=case.id, step=target)


def _render(step: int, form, case: Case | None, status: int | None = None, **extra):
    html = render_template(f"cases/intake/step{step}.html", form=form, case=case, step=step, steps=STEPS, **extra)
    return html, status or (422 if form.errors else 200)


@bp.route("/cases/new", methods=["GET", "POST"])
@key_lookups
@login_required
def new_case():
    """Step 1 of a new dispute; the draft is created when it is saved."""
    _filer_only()
    if request.method == "GET" and _needs_consent():
        return consent_redirect(_here())
    form = WhatHappenedForm()
    if request.method == "GET":  # on from a question asked at /consult (by id: the text never goes in a URL)
        form.description.data = _consulted_question()
    if form.validate_on_submit():
        case = intake.start_draft(current_user, form.title.data, form.description.data, form.desired_outcome.data,
                                  form.began_on.data, form.learned_on.data)
        target = _next_url(case, 1, form.nav.data)
        if _needs_consent():  # the consent lapsed while the page was open: the draft is kept, consent comes next
            target = url_for("privacy.consent_page", next=target)
        # The same form posted twice (a double click, a resent request) makes one draft: the others see it. The
        # draft is only rows of this transaction, so the claim can come after it, written with where it leads (no
        # UPDATE of the key): a lost claim rolls the draft back and sends to the first submission's result.
        replay = idempotency.claim(current_user.id, result_path=target)
        if replay:
            return replay
        db.session.commit()
        flash(gettext("已保存草稿，您可以随时回来继续填写。"), "success")
        return redirect(target)
    return _render(1, form, None)


@bp.route("/cases/<int:case_id>/intake/<int:step>", methods=["GET", "POST"])
@key_lookups
@login_required
def intake_step(case_id: int, step: int):
    case = load_case(case_id)
    if not case.is_applicant_side(current_user):
        abort(403)
    if not intake.is_draft(case):
        flash(gettext("此纠纷已提交，如需补充请在案件页上传证据或修改案件信息。"), "info")
        return redirect(url_for("cases.view_case", case_id=case.id))
    handler = {1: _what_happened, 2: _category, 3: _parties, 4: _evidence, 5: _review}.get(step)
    if handler is None:
        abort(404)
    if not _needs_consent():
        return handler(case)
    # No consent to the current rules (never given, withdrawn, or a new version): every page of the wizard first
    # asks for it and comes back. A save posted from a page opened before is kept (the draft loses nothing) and
    # leads to the consent page; submitting, which files the case, waits until the consent is there.
    if request.method == "GET" or request.form.get("nav") == "submit":
        return consent_redirect(url_for("cases.intake_step", case_id=case.id, step=step) if request.method == "POST"
                                else _here())
    response = handler(case)
    if not isinstance(response, tuple) and response.status_code in (302, 303):
        return consent_redirect(response.location)
    return response


def _consulted_question() -> str | None:
    """The text of the /consult question named by ?consult=<id>, when this person asked it; else None."""
    from app.consult.views import asked_here

    query = asked_here(request.args.get("consult", type=int))
    return query.question if query is not None else None


def _needs_consent() -> bool:
    """A resident files only under their consent to the current personal-information rules (grid workers record
    the resident's consent on the review step instead)."""
    return current_user.role == Role.resident and not consent.has_current_consent(current_user)


def _here() -> str:
    return request.full_path if request.query_string else request.path


def _what_happened(case: Case):
    form = WhatHappenedForm(obj=case if request.method == "GET" else None, version=case.version)
    if form.validate_on_submit():
        intake.save_fields(case, current_user, form.version.data, title=form.title.data,
                           description=form.description.data, desired_outcome=form.desired_outcome.data,
                           began_on=form.began_on.data, learned_on=form.learned_on.data)
        db.session.commit()
        return redirect(_next_url(case, 1, form.nav.data))
    return _render(1, form, case)


def _category(case: Case):
    form = CategoryForm(obj=case if request.method == "GET" else None, version=case.version,
                        category_choices=_category_choices())
    classification = current_engine().classify(case_text(case))
    if request.method == "GET" and not case.category and not classification.uncertain:
        form.category.data = classification.top.id  # the suggestion, which the resident may change
    if form.validate_on_submit():
        intake.save_fields(case, current_user, form.version.data, category=form.category.data or None,
                           amount=form.amount.data, has_arbitration_agreement=bool(form.has_arbitration_agreement.data))
        db.session.commit()
        return redirect(_next_url(case, 2, form.nav.data))
    return _render(2, form, case, classification=classification)


def _party_data(sub, role: PartyRole) -> PartyData:
    return PartyData(role=role, kind=PartyKind(sub.kind.data), name=sub.name.data.strip(),
                     phone=sub.phone.data or None, id_number=(sub.id_number.data or "").upper() or None,
                     region_code=sub.region_code.data or None, address=sub.address.data or None,
                     email=(sub.email.data or "").strip() or None)


def _parties(case: Case):
    on_behalf = current_user.role == Role.grid_worker
    form = PartiesForm(version=case.version, on_behalf=on_behalf)
    if request.method == "GET":
        _fill_parties(form, case)
    if form.validate_on_submit():
        applicant = case.applicants[0] if case.applicants else None
        name = form.applicant_name.data.strip() if on_behalf else (applicant.name if applicant else current_user.display_name)
        intake.save_parties(case, current_user, form.version.data, PartyData(
            role=PartyRole.applicant, kind=PartyKind.person, name=name, phone=form.applicant_phone.data or None,
            id_number=(form.applicant_id_number.data or "").upper() or None, region_code=form.region_code.data or None,
            user_id=None if on_behalf else current_user.id, email=(form.applicant_email.data or "").strip() or None),
            [_party_data(sub, PartyRole.respondent) for sub in (form.respondent1.form, form.respondent2.form) if sub.filled])
        db.session.commit()
        return redirect(_next_url(case, 3, form.nav.data))
    return _render(3, form, case)


def _fill_parties(form: PartiesForm, case: Case) -> None:
    applicant = case.applicants[0] if case.applicants else None
    if applicant:
        form.applicant_name.data, form.applicant_phone.data = applicant.name, applicant.phone
        form.applicant_id_number.data, form.applicant_email.data = applicant.id_number, applicant.email
    form.region_code.data = (applicant.region_code if applicant else None) or case.region_code
    for sub, party in zip((form.respondent1.form, form.respondent2.form), case.respondents):
        sub.kind.data, sub.name.data, sub.phone.data = party.kind.value, party.name, party.phone
        sub.id_number.data, sub.region_code.data, sub.address.data = party.id_number, party.region_code, party.address
        sub.email.data = party.email


def _evidence(case: Case):
    form = EvidenceStepForm(version=case.version)
    if form.validate_on_submit():
        upload = form.file.data
        if upload and getattr(upload, "filename", ""):
            target = url_for("cases.intake_step", case_id=case.id, step=4)
            replay = idempotency.claim(current_user.id, result_path=target)  # stored with its result: no UPDATE
            if replay:
                return replay
            try:
                evidence_ops.add_evidence(case, current_user, upload.filename, upload.read(), storage(),
                                          current_app.config["MAX_EVIDENCE_BYTES"], form.description.data or None)
            except DomainError as exc:
                db.session.rollback()
                form.file.errors = list(form.file.errors) + [exc.message]
                return _render(4, form, db.session.get(Case, case.id))
            db.session.commit()
            flash(gettext("已上传：%(name)s", name=upload.filename), "success")
            return redirect(target)
        return redirect(_next_url(case, 4, form.nav.data))
    return _render(4, form, case)


def _review(case: Case):
    on_behalf = current_user.role == Role.grid_worker
    form = ReviewForm(version=case.version, on_behalf=on_behalf)
    if form.validate_on_submit():
        if form.nav.data != "submit":
            return redirect(_next_url(case, 5, form.nav.data))
        try:
            intake.submit(case, current_user, current_rules(), form.version.data, on_behalf,
                          form.consent_method.data or None)
        except TransitionRefused as exc:
            if exc.status_code != 409:
                raise
            db.session.rollback()
            case = db.session.get(Case, case.id)
            return _render(5, form, case, status=409, refusal=exc.message,
                           category=current_rules().category(case.category))
        db.session.commit()
        flash(gettext("纠纷已提交。下面是系统对您纠纷的初步评估。"), "success")
        return redirect(url_for("cases.view_case", case_id=case.id))
    return _render(5, form, case, category=current_rules().category(case.category))
