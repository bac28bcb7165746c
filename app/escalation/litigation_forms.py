"""The filing form (court, place of performance, 案由, claims, facts) and the clerk's decision form."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from app.cases.forms import REGION_MESSAGE, REGION_RE
from app.core.i18n import gettext, lazy_gettext


class FilingForm(FlaskForm):
    """Choices are set by the view from the case: the competent courts and the category's causes."""

    court_id = RadioField(lazy_gettext("受理法院"), coerce=int, choices=[], validate_choice=False,
                          validators=[Optional()])
    performance_region_code = StringField(lazy_gettext("合同履行地（地区代码）"), validators=[
        Optional(), Regexp(REGION_RE, message=REGION_MESSAGE)])
    cause_code = RadioField(lazy_gettext("案由"), choices=[], validate_choice=False, validators=[Optional()])
    claims = TextAreaField(lazy_gettext("诉讼请求"), validators=[
        DataRequired(lazy_gettext("请填写诉讼请求，每行一项，例如“判令被告偿还借款人民币50,000元”。")),
        Length(max=5000, message=lazy_gettext("最多 5000 字。"))], render_kw={"rows": 5})
    facts = TextAreaField(lazy_gettext("事实与理由"), validators=[
        DataRequired(lazy_gettext("请写明事实与理由：何时、何地、发生了什么，被告为何应承担责任。")),
        Length(min=20, max=20000, message=lazy_gettext("事实与理由请至少写 20 个字，最多 20000 字。"))], render_kw={"rows": 10})
    version = HiddenField()

    def validate_court_id(self, field) -> None:
        if field.data not in {value for value, _ in field.choices}:
            raise ValidationError(gettext("请选择受理本案的人民法院（只能选择列出的有管辖权的法院）。"))

    def validate_cause_code(self, field) -> None:
        if field.data not in {value for value, _ in field.choices}:
            raise ValidationError(gettext("请选择案由。"))


class DecisionForm(FlaskForm):
    """The clerk's answer: accept with a case number, or return with reasons."""

    court_case_number = StringField(lazy_gettext("案号"), validators=[
        Optional(), Length(max=60, message=lazy_gettext("最多 60 个字符。"))])
    reason = TextAreaField(lazy_gettext("退回理由"), validators=[
        Optional(), Length(max=5000, message=lazy_gettext("最多 5000 字。"))])
    version = IntegerField(validators=[Optional()])
