"""Audited reveal of a party's full number (/cases/<id>/reveal) and the reveal log (/org/audit/reveals)."""
from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template, request
from flask_login import current_user, login_required

from app.cases.views import load_case
from app.core.i18n import gettext
from app.extensions import db
from app.privacy import reveal as ops
from app.privacy.crypto_cli import pii_cli
from app.privacy.reveal_forms import RevealForm, RevealLogForm

bp = Blueprint("reveal", __name__, cli_group=None)
bp.cli.add_command(pii_cli)  # flask pii keys / flask pii reencrypt


@bp.record_once
def _filters(state) -> None:
    from app.core.masking import mask_id_number, mask_phone

    state.app.jinja_env.filters.setdefault("mask_phone", mask_phone)
    state.app.jinja_env.filters.setdefault("mask_id_number", mask_id_number)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.route("/cases/<int:case_id>/reveal", methods=["GET", "POST"])
@login_required
def reveal_number(case_id: int):
    """The form (GET, a number preselected by ?target=<party id>:<field>); POST records the reveal and shows the
    number on this response only: never flashed, never in the session, not cached."""
    case = load_case(case_id)
    if not case.can_reveal_numbers(current_user):
        abort(403)
    targets = ops.revealable(case)
    form = RevealForm(formdata=request.form if request.method == "POST" else None)
    form.target.choices = [(t.key, f"{t.party.name}（{t.party.role.label}）· {t.label} {t.masked}") for t in targets]
    if request.method == "GET":
        form.target.data = request.args.get("target") or (targets[0].key if len(targets) == 1 else None)
    shown = None
    if request.method == "POST" and form.validate():
        value = ops.reveal(case, form.target.data, current_user, form.reason_code.data, form.reason_text.data,
                           request.remote_addr)
        db.session.commit()
        shown = {"target": ops.find(case, form.target.data), "value": value}
    status = 422 if request.method == "POST" and shown is None else 200
    page = render_template("privacy/reveal.html", case=case, form=form, targets=targets, shown=shown)
    return _no_store(make_response(page, status))


@bp.route("/org/audit/reveals")
@login_required
def reveal_log():
    """The reveal log: an organisation admin's organisation, or everything for the platform admin."""
    form = RevealLogForm(formdata=request.args)
    page = ops.log_page(current_user, form.page.data if form.validate() and form.page.data else 1)
    if page is None:
        abort(403)
    title = (current_user.organisation.name if current_user.organisation_id and current_user.role.value == "org_admin"
             else gettext("全平台"))
    response = make_response(render_template("privacy/reveal_log.html", page=page, title=title,
                                             reason_label=ops.reason_label, field_label=ops.field_label))
    return _no_store(response)
