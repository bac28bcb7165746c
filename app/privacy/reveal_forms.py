"""The reveal request: which number, why (a reason from the list and a note)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.core.fields import SelectField
from app.core.i18n import gettext, lazy_gettext
from app.privacy.reveal import REASONS

MIN_NOTE = 4


class RevealForm(FlaskForm):
    target = RadioField(lazy_gettext("要查看的号码"), validators=[DataRequired(lazy_gettext("请选择要查看的号码。"))],
                        choices=[])
    reason_code = SelectField(lazy_gettext("查看原因"), validators=[DataRequired(lazy_gettext("请选择查看原因。"))],
                              choices=lambda: [("", lazy_gettext("请选择"))] + [(k, gettext(v)) for k, v in REASONS.items()])
    reason_text = TextAreaField(lazy_gettext("说明（将记入查看记录）"), validators=[
        DataRequired(lazy_gettext("需要填写说明。")),
        Length(min=MIN_NOTE, max=500, message=lazy_gettext("说明应为 %(min)d 到 %(max)d 个字。", min=MIN_NOTE, max=500))])


class RevealLogForm(FlaskForm):
    """The page number from the query string (GET: no CSRF)."""

    class Meta:
        csrf = False

    page = IntegerField(lazy_gettext("页码"), default=1, validators=[Optional(), NumberRange(1, 100_000)])
