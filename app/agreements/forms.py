"""Forms of the agreement pages: signing, asking for changes, and the mediator's editor (a variable list of
clauses, read from the posted fields terms-<i>-clause and terms-<i>-<parameter>)."""
from __future__ import annotations

import re

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.agreements.drafting import DraftInput
from app.core.enums import select_choices
from app.core.i18n import gettext, lazy_gettext

TERM_FIELD_RE = re.compile(r"^terms-(\d{1,2})-clause$")
MAX_PARAM_CHARS = 400


class SignForm(FlaskForm):
    content_hash = HiddenField()
    method = RadioField(lazy_gettext("签署方式"), choices=select_choices([("drawn", lazy_gettext("手写签名")),
                                                                      ("typed", lazy_gettext("输入姓名"))]),
                        default="drawn",
                        validators=[DataRequired(message=lazy_gettext("请选择签署方式。"))])
    signature_data = HiddenField()
    typed_name = StringField(lazy_gettext("您的姓名"), validators=[
        DataRequired(message=lazy_gettext("请输入您的姓名。")), Length(max=60, message=lazy_gettext("最多 60 个字符。"))],
        render_kw={"autocomplete": "name"})
    password = PasswordField(lazy_gettext("请再次输入登录密码"), validators=[
        DataRequired(message=lazy_gettext("请输入您的登录密码。"))], render_kw={"autocomplete": "current-password"})


class ChangeRequestForm(FlaskForm):
    text = TextAreaField(lazy_gettext("您希望怎样修改"), validators=[
        DataRequired(message=lazy_gettext("请写明您希望修改的内容。")),
        Length(max=2000, message=lazy_gettext("最多 2000 个字符。"))])


def draft_input(form: MultiDict) -> tuple[DraftInput, str]:
    """The editor's posted fields as a DraftInput, and the action (save, add, remove-<i>)."""
    indices = sorted(int(m.group(1)) for key in form if (m := TERM_FIELD_RE.match(key)))
    terms = []
    for i in indices:
        prefix = f"terms-{i}-"
        params = {key[len(prefix):]: (form.get(key) or "")[:MAX_PARAM_CHARS] for key in form
                  if key.startswith(prefix) and key != prefix + "clause"}
        terms.append({"clause": form.get(prefix + "clause", ""), "params": params})
    data = DraftInput(facts=form.get("facts", ""), responsibility=form.get("responsibility", ""),
                      performance=form.get("performance", ""), terms=terms,
                      change_note=form.get("change_note") or None)
    return data, form.get("action", "save")


def change_note_error(note: str | None) -> str | None:
    if note and len(note) > 1000:
        return gettext("最多 1000 个字符。")
    return None
