"""Arbitration pages: the agreement signed online, the application PDF, hearings. Thin: operations in
arbitration.py, hearing.py and arbitration_application.py."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.cases.models import Case, Stage
from app.cases.rules import current_rules
from app.cases.views import load_case
from app.core.errors import DomainError
from app.core.i18n import gettext
from app.documents.operations import pdf_download
from app.documents.render import render
from app.escalation import arbitration as ops
from app.escalation import arbitration_application as application
from app.escalation import hearing as hearing_ops
from app.escalation.arbitration_forms import (
    CancelHearingForm,
    ClauseSignForm,
    HearingForm,
    ProposeClauseForm,
    RecordForm,
)
from app.escalation.models import ArbitrationClause, Hearing
from app.extensions import db
from app.mediation.record import password_ok
from app.privacy.reveal import record_document_download

bp = Blueprint("arbitration", __name__)


@dataclass
class Panel:
    case: Case
    show_clause: bool = False
    clause: ArbitrationClause | None = None
    waiting: list[str] = field(default_factory=list)
    may_propose: bool = False
    may_sign: bool = False
    commission: str | None = None
    show_application: bool = False
    hearings: list[Hearing] = field(default_factory=list)
    show_hearings: bool = False
    is_arbitrator: bool = False
    hearing_stage: bool = False
    forms: dict = field(default_factory=dict)

    def record_form(self, hearing_id: int) -> RecordForm:
        """The record form of this hearing: the submitted one (with its errors) if it was this hearing's."""
        return self.forms["record"] if self.forms.get("record_for") == hearing_id else RecordForm(formdata=None)


def _arbitrable(case: Case):
    cat = current_rules().category(case.category)
    return cat is not None and cat.arbitrable


def panel_for(case: Case, user, **forms) -> Panel | None:
    """What the arbitration panel shows this user, or None (family and other non-arbitrable categories: nothing)."""
    if not _arbitrable(case):
        return None
    rules = current_rules()
    panel = Panel(case=case)
    if ops.agreement_category(case, rules):
        _clause_part(panel, user, rules)
    panel.show_application = case.stage == Stage.arbitrate or (
        (case.stage, case.status) in ops.CLAUSE_STATES and (not ops.agreement_category(case, rules)
                                                             or case.has_arbitration_agreement))
    panel.show_hearings = case.stage == Stage.arbitrate
    if panel.show_hearings:
        panel.hearings = hearing_ops.hearings_of(case)
        panel.is_arbitrator = hearing_ops.is_arbitrator(case, user)
        panel.hearing_stage = hearing_ops.hearing_stage(case)
    if not (panel.show_clause or panel.show_application or panel.show_hearings):
        return None  # no forms built for a panel that does not show (the case page asks on every view)
    seen_hash = panel.clause.content_hash if panel.clause else ""
    panel.forms = {"propose": ProposeClauseForm(formdata=None), "cancel": CancelHearingForm(formdata=None),
                   "sign": ClauseSignForm(formdata=None, content_hash=seen_hash),
                   "hearing": HearingForm(formdata=None), "record": RecordForm(formdata=None), **forms}
    return panel


def _clause_part(panel: Panel, user, rules) -> None:
    """The arbitration agreement (clause) part of the panel, for a category arbitrated by the parties' agreement."""
    case = panel.case
    panel.clause = ops.current_clause(case)
    panel.may_propose = ops.proposal_refusal(case, user, rules) is None
    panel.show_clause = panel.clause is not None or panel.may_propose
    if panel.clause is not None:
        panel.waiting = ops.waiting_for(case, panel.clause)
        panel.may_sign = (panel.clause.status == "signing" and ops.signer_entry(case, user) is not None
                          and not ops.has_signed(panel.clause, user))
    # The commission is named only in the proposal's text and the signing form: no lookup when neither shows
    # (commission_for reads every commission of the body type to pick the case's).
    if panel.show_clause and (panel.clause is None or panel.may_sign):
        commission = panel.clause.commission if panel.clause else ops.commission_for(case, rules)
        panel.commission = commission.name if commission else None


@bp.app_template_global()
def arbitration_panel(case, user):
    return panel_for(case, user)


def _page(case: Case, status: int = 200, **forms):
    panel = panel_for(case, current_user, **forms)
    return render_template("escalation/arbitration_page.html", case=case, panel=panel, arb_panel=panel), status


def _require_arbitrable(case: Case) -> None:
    if not _arbitrable(case):
        cat = current_rules().category(case.category)
        raise DomainError((cat.message("arbitration_refused") if cat else None)
                          or gettext("此类纠纷依法不能仲裁。"), 409)


def _back(case: Case):
    return redirect(url_for("arbitration.arbitration_page", case_id=case.id))


@bp.route("/cases/<int:case_id>/arbitration")
@login_required
def arbitration_page(case_id: int):
    case = load_case(case_id)
    _require_arbitrable(case)
    return _page(case)


@bp.route("/cases/<int:case_id>/arbitration/clause", methods=["POST"])
@login_required
def propose_clause(case_id: int):
    case = load_case(case_id)
    _require_arbitrable(case)
    if not ProposeClauseForm().validate_on_submit():
        abort(400)
    ops.propose(case, current_user, current_rules())
    db.session.commit()
    flash(gettext("已提出仲裁协议，等待各方签署。"), "success")
    return _back(case)


@bp.route("/cases/<int:case_id>/arbitration/clause/sign", methods=["POST"])
@login_required
def sign_clause(case_id: int):
    """Typed name and password are checked by the field before anything is stored."""
    case = load_case(case_id)
    _require_arbitrable(case)
    clause = ops.current_clause(case)
    form = ClauseSignForm()
    ops.check_sign(case, clause, current_user, form.content_hash.data or "")
    if form.validate_on_submit():
        if not ops.name_matches(case, current_user, form.typed_name.data):
            form.typed_name.errors = [gettext("请输入您本人的姓名：%(name)s。", name=ops.signer_entry(case, current_user)[2])]
        if not password_ok(current_user, form.password.data):
            form.password.errors = [gettext("密码不正确。")]
    if form.errors:
        form.password.data = ""
        return _page(case, 422, sign=form)
    ops.sign(case, clause, current_user, form.typed_name.data, form.content_hash.data, request.remote_addr)
    db.session.commit()
    flash(gettext("仲裁协议已由各方签署完毕，本案现在可以申请仲裁。") if clause.status == "signed"
          else gettext("您已签署仲裁协议，等待其他当事人签署。"), "success")
    return _back(case)


@bp.route("/cases/<int:case_id>/arbitration/application.pdf")
@login_required
def application_pdf(case_id: int):
    case = load_case(case_id)
    _require_arbitrable(case)
    rules = current_rules()
    pdf = render("documents/arbitration_application.html", application.application_data(case, rules))
    filename = application.filename(case, rules)
    record_document_download(case, current_user, f"仲裁申请书 {filename}", request.remote_addr)
    db.session.commit()
    # rendered for this download, not stored: the hash is of the bytes sent (the other case documents send theirs)
    return pdf_download(pdf, filename, hashlib.sha256(pdf).hexdigest())


@bp.route("/cases/<int:case_id>/arbitration/hearings", methods=["POST"])
@login_required
def schedule_hearing(case_id: int):
    case = load_case(case_id)
    _require_arbitrable(case)
    hearing_ops.require_arbitrator(case, current_user)
    form = HearingForm()
    if not form.validate_on_submit():
        return _page(case, 422, hearing=form)
    hearing_ops.schedule(case, current_user, form.parsed, form.place.data)
    db.session.commit()
    flash(gettext("已安排开庭，并通知各方当事人。"), "success")
    return _back(case)


def _hearing(case: Case, hearing_id: int) -> Hearing:
    hearing = db.session.get(Hearing, hearing_id)
    if hearing is None or hearing.case_id != case.id:
        abort(404)
    return hearing


@bp.route("/cases/<int:case_id>/arbitration/hearings/<int:hearing_id>/cancel", methods=["POST"])
@login_required
def cancel_hearing(case_id: int, hearing_id: int):
    case = load_case(case_id)
    hearing_ops.require_arbitrator(case, current_user)
    hearing = _hearing(case, hearing_id)
    if not CancelHearingForm().validate_on_submit():
        abort(400)
    hearing_ops.cancel(case, current_user, hearing)
    db.session.commit()
    flash(gettext("已取消开庭，并通知各方当事人。"), "success")
    return _back(case)


@bp.route("/cases/<int:case_id>/arbitration/hearings/<int:hearing_id>/record", methods=["POST"])
@login_required
def record_hearing(case_id: int, hearing_id: int):
    case = load_case(case_id)
    hearing_ops.require_arbitrator(case, current_user)
    hearing = _hearing(case, hearing_id)
    form = RecordForm()
    if not form.validate_on_submit():
        return _page(case, 422, record=form, record_for=hearing.id)
    hearing_ops.record(case, current_user, hearing, form.record_text.data)
    db.session.commit()
    flash(gettext("已记录庭审笔录。"), "success")
    return _back(case)
