"""Forms of the arbitration panel: the agreement's signature, scheduling and recording a hearing."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from app.core.i18n import gettext, lazy_gettext
from app.escalation import hearing as hearing_ops
from app.mediation.schedule_views import parse_beijing


class ProposeClauseForm(FlaskForm):
    """Only the CSRF token: the text comes from the rules file."""


class ClauseSignForm(FlaskForm):
    content_hash = HiddenField()
    typed_name = StringField(lazy_gettext("您的姓名"), validators=[
        DataRequired(message=lazy_gettext("请输入您的姓名。")), Length(max=60, message=lazy_gettext("最多 60 个字符。"))],
        render_kw={"autocomplete": "name"})
    password = PasswordField(lazy_gettext("请再次输入登录密码"), validators=[
        DataRequired(message=lazy_gettext("请输入您的登录密码。"))], render_kw={"autocomplete": "current-password"})


class HearingForm(FlaskForm):
    starts_at = StringField(lazy_gettext("开庭时间（北京时间）"), validators=[
        DataRequired(message=lazy_gettext("请填写开庭的日期和时间。"))], render_kw={"type": "datetime-local"})
    place = StringField(lazy_gettext("开庭地点"), default=hearing_ops.DEFAULT_PLACE, validators=[
        Length(max=200, message=lazy_gettext("最多 200 个字符。"))])

    parsed = None

    def validate_starts_at(self, field) -> None:
        when = parse_beijing(field.data or "")
        if when is None:
            raise ValidationError(gettext("请填写完整的日期和时间。"))
        error = hearing_ops.start_error(when)
        if error:
            raise ValidationError(error)
        self.parsed = when


class CancelHearingForm(FlaskForm):
    """Only the CSRF token."""


class RecordForm(FlaskForm):
    record_text = TextAreaField(lazy_gettext("庭审笔录（摘要）"), validators=[
        DataRequired(message=lazy_gettext("请填写庭审笔录。")),
        Length(max=hearing_ops.MAX_RECORD, message=lazy_gettext("最多 20000 字。"))])
