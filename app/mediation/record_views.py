"""The mediation record (调解笔录): statements, review, signatures, PDF; and the outcome panel."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.cases.models import Case
from app.cases.views import load_case
from app.core.errors import DomainError
from app.core.fields import SelectField
from app.core.i18n import gettext, lazy_gettext
from app.core.web import localtime
from app.documents import DocumentError, issue
from app.documents.operations import pdf_download
from app.extensions import db
from app.mediation import outcome as outcome_ops  # connects the funnel listener (agreement drafts)
from app.mediation import record as record_ops
from app.mediation.record import SignatureRefused

log = logging.getLogger(__name__)
bp = Blueprint("record", __name__)


class StatementForm(FlaskForm):
    statement_id = IntegerField(validators=[Optional()])
    speaker = SelectField(lazy_gettext("发言人"), choices=[], validate_choice=False,
                          validators=[DataRequired(message=lazy_gettext("请选择发言人。"))])
    text = TextAreaField(lazy_gettext("陈述内容"), validators=[
        DataRequired(message=lazy_gettext("请填写陈述内容。")),
        Length(max=5000, message=lazy_gettext("最多 5000 个字符。"))])

    def validate_speaker(self, field) -> None:
        if field.data not in {value for value, _ in field.choices}:
            raise ValidationError(gettext("请选择发言人。"))


class SignForm(FlaskForm):
    content_hash = HiddenField()
    typed_name = StringField(lazy_gettext("请输入您的姓名"), validators=[
        DataRequired(message=lazy_gettext("请输入您的姓名。")), Length(max=60, message=lazy_gettext("最多 60 个字符。"))],
        render_kw={"autocomplete": "name"})
    password = PasswordField(lazy_gettext("请再次输入登录密码"), validators=[
        DataRequired(message=lazy_gettext("请输入您的登录密码。"))], render_kw={"autocomplete": "current-password"})


# --- template helpers ---------------------------------------------------------------------------
@bp.app_template_filter("iso_localtime")
def iso_localtime(value: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO timestamp from a record's content (naive UTC) in Beijing time."""
    from datetime import datetime

    return localtime(datetime.fromisoformat(value), fmt) if value else ""


@bp.app_template_global()
def record_panel(case: Case) -> dict | None:
    """The record panel on the case page: the current version and who has signed (None before mediation)."""
    if case.mediator_id is None:
        return None
    current = record_ops.current_record(case)
    lines = record_ops.signature_lines(case, current)
    must_sign = (current is not None and record_ops.can_sign(case, current_user)
                 and not record_ops.has_signed(current, current_user))
    return {"record": current, "signed": sum(1 for line in lines if line.signature),
            "signers": sum(1 for line in lines if line.user_id), "must_sign": must_sign,
            "is_mediator": record_ops.is_mediator(case, current_user)}


@bp.app_template_global()
def outcome_panel(case: Case) -> dict | None:
    return outcome_ops.panel(case)


# --- pages --------------------------------------------------------------------------------------
def _statement_form(case: Case, **kw) -> StatementForm:
    form = StatementForm(**kw)
    form.speaker.choices = [("", gettext("请选择"))] + record_ops.speaker_choices(case)
    return form


def _page(case: Case, statement_form: StatementForm | None = None, sign_form: SignForm | None = None,
          sign_error: str | None = None, status: int = 200):
    current = record_ops.current_record(case)
    mediator = record_ops.is_mediator(case, current_user)
    # formdata=None: a form that was not the one posted starts empty, whatever the request carried
    sign_form = sign_form or SignForm(formdata=None, content_hash=current.content_hash if current else "")
    waiting = record_ops.waiting_for_parties(case, current) if current else []
    return render_template(
        "mediation/record.html", case=case, current=current, versions=record_ops.versions(case),
        lines=record_ops.signature_lines(case, current), is_mediator=mediator,
        can_sign=record_ops.can_sign(case, current_user) and current is not None
        and not record_ops.has_signed(current, current_user),
        waiting=waiting, statements=record_ops.statements(case) if mediator else [],
        frozen_ids=record_ops.frozen_statement_ids(case) if mediator else set(),
        draft=record_ops.build_content(case) if mediator else None,
        statement_form=statement_form or _statement_form(case, formdata=None),
        speaker_choices=record_ops.speaker_choices(case),
        sign_form=sign_form, sign_error=sign_error), status


def _mediator_only(case: Case) -> None:
    if not record_ops.is_mediator(case, current_user):
        abort(403)


@bp.route("/cases/<int:case_id>/record")
@login_required
def record_page(case_id: int):
    return _page(load_case(case_id))


@bp.route("/cases/<int:case_id>/record/statements", methods=["POST"])
@login_required
def save_statement(case_id: int):
    """Add a statement, or change one (statement_id) that no frozen version holds yet."""
    case = load_case(case_id)
    _mediator_only(case)
    form = _statement_form(case)
    if not form.validate_on_submit():
        return _page(case, statement_form=form, status=422)
    record_ops.save_statement(case, current_user, form.speaker.data, form.text.data, form.statement_id.data)
    db.session.commit()
    flash(gettext("陈述已保存。") if form.statement_id.data else gettext("陈述已添加。"), "success")
    return redirect(url_for("record.record_page", case_id=case.id) + "#statements")


@bp.route("/cases/<int:case_id>/record/statements/<int:statement_id>/delete", methods=["POST"])
@login_required
def delete_statement(case_id: int, statement_id: int):
    case = load_case(case_id)
    _mediator_only(case)
    record_ops.delete_statement(case, statement_id)
    db.session.commit()
    flash(gettext("陈述已删除。"), "success")
    return redirect(url_for("record.record_page", case_id=case.id) + "#statements")


@bp.route("/cases/<int:case_id>/record/freeze", methods=["POST"])
@login_required
def freeze(case_id: int):
    case = load_case(case_id)
    _mediator_only(case)
    record = record_ops.freeze(case, current_user)
    db.session.commit()
    flash(gettext("笔录第 %(n)s 版已定稿，请各方当事人阅读并签名。", n=record.version), "success")
    return redirect(url_for("record.record_page", case_id=case.id))


@bp.route("/cases/<int:case_id>/record/sign", methods=["POST"])
@login_required
def sign(case_id: int):
    """Parties first, the mediator last; name and password are checked before anything is stored."""
    case = load_case(case_id)
    if not record_ops.can_sign(case, current_user):
        abort(403)
    form = SignForm()
    current = record_ops.current_record(case)
    try:
        record_ops.check_turn(case, current_user, current, form.content_hash.data or "")
    except SignatureRefused as exc:
        if current is None:
            raise
        return _page(case, sign_form=SignForm(formdata=None, content_hash=current.content_hash),
                     sign_error=exc.message, status=exc.status_code)
    if form.validate_on_submit():
        _check_signer(case, form)
    if form.errors:
        form.password.data = ""
        return _page(case, sign_form=form, status=422)
    record_ops.sign(case, current_user, current, form.typed_name.data, form.content_hash.data,
                    request.remote_addr)
    db.session.commit()
    flash(gettext("您已签署第 %(n)s 版调解笔录。", n=current.version), "success")
    return redirect(url_for("record.record_page", case_id=case.id))


def _check_signer(case: Case, form: SignForm) -> None:
    """The typed name must be the signer's; the password their login password. Errors go next to the field."""
    names = record_ops.expected_names(case, current_user)
    typed = "".join((form.typed_name.data or "").split())
    if names is not None and typed not in {"".join(n.split()) for n in names}:
        form.typed_name.errors = [gettext("请输入您本人的姓名：%(name)s。", name=sorted(names)[0])]
    if not record_ops.password_ok(current_user, form.password.data):
        form.password.errors = [gettext("密码不正确，请重新输入您的登录密码。")]


@bp.route("/cases/<int:case_id>/record.pdf")
@login_required
def record_pdf(case_id: int):
    case = load_case(case_id)
    current = record_ops.current_record(case)
    if current is None:
        raise DomainError(gettext("调解员尚未定稿笔录，暂无 PDF。"), 409)
    data = pdf_data(case, current)
    try:
        issued = issue("mediation_record", "documents/mediation_record.html", data, case_id=case.id,
                       user_id=current_user.id)
    except DocumentError as exc:
        db.session.rollback()
        log.error("mediation record PDF of case %s not rendered: %s", case.id, exc)
        flash(gettext("暂时无法生成 PDF：服务器缺少中文字体，已通知管理员。您可以先在本页查看调解笔录。"), "error")
        return redirect(url_for("record.record_page", case_id=case.id))
    db.session.commit()
    return pdf_download(issued.pdf, f"jiefen-mediation-record-{case.id}-v{current.version}.pdf",
                        issued.document.sha256)


def pdf_data(case: Case, record) -> dict:
    """Plain data for the PDF: the frozen content, its version and hash, and this version's signatures."""
    lines = record_ops.signature_lines(case, record)
    return {"record": record.content, "version": record.version, "content_hash": record.content_hash,
            "frozen_at": record.created_at,
            "signatures": [{"role_label": line.role_label, "name": line.name,
                            "typed_name": line.signature.typed_name if line.signature else None,
                            "signed_at": line.signature.signed_at if line.signature else None}
                           for line in lines]}
