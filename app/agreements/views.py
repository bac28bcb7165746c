"""Agreement pages: the agreement (review, differences, change requests, signing) and the mediator's editor.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from app.agreements import (
    drafting,
    models,  # noqa: F401  (registers the tables)
    signing,
)
from app.agreements.clauses import PARTY_LABELS, library
from app.agreements.content import newest_version, png_data_uri, seal_data_uri
from app.agreements.forms import ChangeRequestForm, SignForm, change_note_error, draft_input
from app.agreements.models import Agreement, ChangeRequest
from app.cases.models import Case
from app.cases.views import load_case
from app.core.errors import DomainError
from app.core.i18n import gettext
from app.extensions import db

bp = Blueprint("agreements", __name__)


@bp.record_once
def _check_clauses(state) -> None:
    """A broken clause file stops the app at start-up, like the other rules in mediation_rules/."""
    from pathlib import Path

    from app.agreements.clauses import load_clauses

    load_clauses(str(Path(state.app.config["RULES_DIR"]) / "clauses"))


# --- the case page panel --------------------------------------------------------------------------
def shown_version(case: Case) -> Agreement | None:
    """The version this user reads: the mediator their newest; everyone else the newest sent or signed one."""
    if signing.is_mediator(case, current_user):  # drafting.latest (the current agreement is never newer)
        return newest_version(case, ("draft", "signing", "signed"))
    return newest_version(case, ("signing", "signed"))


@bp.app_template_global()
def agreement_panel(case: Case) -> dict | None:
    """The agreement panel on the case page (None when there is nothing to show or do)."""
    mediator = signing.is_mediator(case, current_user)
    shown = shown_version(case)
    if shown is None and not (mediator and drafting.can_draft(case, current_user)):
        return None
    lines = signing.signature_lines(case, shown) if shown else []
    must_sign = signing.may_sign_now(case, current_user, shown) and not (
        mediator and signing.waiting_for_parties(case, shown))  # the mediator's turn comes last
    return {"agreement": shown, "is_mediator": mediator, "lines": lines,
            "signed": sum(1 for line in lines if line.signature), "signers": len(lines),
            "must_sign": must_sign,
            "can_draft": drafting.can_draft(case, current_user)}


# --- the agreement page ---------------------------------------------------------------------------
def _page(case: Case, sign_form: SignForm | None = None, change_form: ChangeRequestForm | None = None,
          sign_error: str | None = None, status: int = 200):
    shown = shown_version(case)
    mediator = signing.is_mediator(case, current_user)
    before = drafting.previous(shown) if shown else None
    newest = drafting.latest(case)
    sign_form = sign_form or SignForm(formdata=None, content_hash=shown.content_hash if shown else "")
    return render_template(
        "agreements/agreement.html", case=case, agreement=shown, previous=before, is_mediator=mediator,
        differences=drafting.differences(before, shown) if before and shown else [],
        parties=sorted(case.parties, key=lambda p: (p.role.value != "applicant", p.id)),
        lines=signing.signature_lines(case, shown) if shown else [],
        images={s.id: png_data_uri(s.image_png) for s in (shown.signatures if shown else []) if s.image_png},
        seal=seal_data_uri(case.organisation.name) if shown and shown.signed_at and case.organisation
        else None,
        may_sign=signing.may_sign_now(case, current_user, shown),
        waiting=signing.waiting_for_parties(case, shown) if shown and shown.status == "signing" else [],
        may_ask=shown is not None and shown.status == "signing" and signing.signer_party(case, current_user)
        is not None and not signing.has_signed(shown, current_user),
        change_requests=_change_requests(shown, before), versions=drafting.versions(case),
        newer_draft=newest if newest and shown and newest.version > shown.version else None,
        can_draft=drafting.can_draft(case, current_user), settled=drafting.is_settled(case),
        sign_form=sign_form, change_form=change_form or ChangeRequestForm(formdata=None),
        sign_error=sign_error, clause_titles={k: c.title for k, c in library().items()}), status


def _change_requests(shown: Agreement | None, before: Agreement | None) -> list[ChangeRequest]:
    ids = [a.id for a in (shown, before) if a is not None]
    if not ids:
        return []
    return db.session.scalars(sa.select(ChangeRequest).where(ChangeRequest.agreement_id.in_(ids))
                              .order_by(ChangeRequest.id)).all()


@bp.route("/cases/<int:case_id>/agreement")
@login_required
def agreement_page(case_id: int):
    return _page(load_case(case_id))


@bp.route("/cases/<int:case_id>/agreement/send", methods=["POST"])
@login_required
def send(case_id: int):
    case = load_case(case_id)
    agreement = drafting.send_for_signing(case, current_user)
    db.session.commit()
    flash(gettext("第 %(n)s 版协议已送交各方审阅签署。", n=agreement.version), "success")
    return redirect(url_for("agreements.agreement_page", case_id=case.id))


@bp.route("/cases/<int:case_id>/agreement/changes", methods=["POST"])
@login_required
def ask_for_changes(case_id: int):
    case = load_case(case_id)
    if signing.signer_party(case, current_user) is None:
        abort(403)
    form = ChangeRequestForm()
    shown = shown_version(case)
    if shown is None or shown.status != "signing":
        raise DomainError(gettext("调解协议尚未送交各方审阅，暂时不能提出修改意见。"), 409)
    if not form.validate_on_submit():
        return _page(case, change_form=form, status=422)
    signing.request_change(case, current_user, shown, form.text.data)
    db.session.commit()
    flash(gettext("您的修改意见已送交调解员。调解员修改后会生成新版本，请再来审阅。"), "success")
    return redirect(url_for("agreements.agreement_page", case_id=case.id) + "#changes")


@bp.route("/cases/<int:case_id>/agreement/sign", methods=["POST"])
@login_required
def sign(case_id: int):
    """Parties first, the mediator last; name, drawing and password are checked before anything is stored."""
    case = load_case(case_id)
    if signing.signer_role(case, current_user) is None:
        abort(403)
    form = SignForm()
    shown = shown_version(case)
    try:
        signing.check_turn(case, current_user, shown, form.content_hash.data or "")
    except signing.SignatureRefused as exc:
        if shown is None:
            raise
        return _page(case, sign_form=SignForm(formdata=None, content_hash=shown.content_hash),
                     sign_error=exc.message, status=exc.status_code)
    image = _check_signer(case, form) if form.validate_on_submit() else None
    if form.errors:
        form.password.data = ""
        return _page(case, sign_form=form, status=422)
    try:
        signing.sign(case, current_user, shown, method=form.method.data, typed_name=form.typed_name.data,
                     image_png=image, seen_hash=form.content_hash.data, ip_address=request.remote_addr)
        db.session.commit()
    except IntegrityError:
        # The same signer's other request (a double tap, a resent form) stored the signature a moment earlier:
        # the unique (agreement, signer) constraint refused this copy. Show what was stored, not an error.
        db.session.rollback()
        flash(gettext("您已签署第 %(n)s 版调解协议。", n=shown.version), "info")
        return redirect(url_for("agreements.agreement_page", case_id=case.id) + "#signatures")
    if shown.status == "signed":
        flash(gettext("调解协议已由各方签署完毕，并加盖印章，自即日起生效。"), "success")
    else:
        flash(gettext("您已签署第 %(n)s 版调解协议。", n=shown.version), "success")
    return redirect(url_for("agreements.agreement_page", case_id=case.id) + "#signatures")


def _check_signer(case: Case, form: SignForm) -> bytes | None:
    """The typed name must be the signer's, the drawing real, the password theirs; errors by the field."""
    names = signing.expected_names(case, current_user)
    typed = "".join((form.typed_name.data or "").split())
    if names is not None and typed not in {"".join(n.split()) for n in names}:
        form.typed_name.errors = [gettext("请输入您本人的姓名：%(name)s。", name=sorted(names)[0])]
    image = None
    if form.method.data == "drawn":
        try:
            image = signing.decode_drawn(form.signature_data.data)
        except signing.SignatureImageError as exc:
            form.signature_data.errors = [str(exc)]
    if not signing.password_ok(current_user, form.password.data):
        form.password.errors = [gettext("密码不正确，请重新输入您的登录密码。")]
    return image


# --- the editor -------------------------------------------------------------------------------------
def _editor(case: Case, data: drafting.DraftInput, errors: dict | None = None, status: int = 200):
    current = drafting.latest(case)
    return render_template(
        "agreements/edit.html", case=case, data=data, errors=errors or {}, clauses=library(), current=current,
        party_choices=[(role, f"{PARTY_LABELS[role]} {names}".strip())
                       for role, names in drafting.side_names(case).items()],
        open_requests=(drafting.open_change_requests(current)
                       if current and current.status == "signing" else []),
        settled=drafting.is_settled(case)), status


@bp.route("/cases/<int:case_id>/agreement/edit", methods=["GET", "POST"])
@login_required
def edit(case_id: int):
    """The mediator drafts: add or remove clauses (the page again), or save (a draft version)."""
    case = load_case(case_id)
    drafting.require_drafter(case, current_user)
    if request.method == "GET":
        return _editor(case, drafting.editor_start(case))
    data, action = draft_input(request.form)
    if action == "add":
        data.terms.append(drafting.new_term(request.form.get("add_clause", "")))
        return _editor(case, data)
    if action.startswith("remove-") and action[7:].isdigit():
        index = int(action[7:])
        data.terms = [t for i, t in enumerate(data.terms) if i != index]
        return _editor(case, data)
    note_error = change_note_error(data.change_note)
    try:
        if note_error:
            raise drafting.DraftInvalid({"change_note": note_error})
        agreement = drafting.save(case, current_user, data)
    except drafting.DraftInvalid as exc:
        db.session.rollback()
        return _editor(case, data, exc.errors, status=422)
    db.session.commit()
    flash(gettext("协议草稿（第 %(n)s 版）已保存。", n=agreement.version), "success")
    return redirect(url_for("agreements.agreement_page", case_id=case.id))
