"""The dashboard's date filter (a GET form, no CSRF) and a party's satisfaction rating of a closed case."""
from __future__ import annotations

from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from app.core.enums import select_choices

SCORES = [(5, lazy_gettext("5 分：非常满意")), (4, lazy_gettext("4 分：满意")), (3, lazy_gettext("3 分：一般")),
          (2, lazy_gettext("2 分：不满意")), (1, lazy_gettext("1 分：非常不满意"))]


class DashboardFilterForm(FlaskForm):
    """since / until (cases filed on or after since, before until); read from the query string."""

    class Meta:
        csrf = False  # a GET filter changes nothing

    since = DateField(lazy_gettext("起始日期"), validators=[Optional()])
    until = DateField(lazy_gettext("截止日期（不含）"), validators=[Optional()])

    def validate_until(self, field) -> None:
        if field.data and self.since.data and field.data <= self.since.data:
            raise ValidationError(gettext("截止日期应晚于起始日期。"))


class RatingForm(FlaskForm):
    """A score from 1 to 5 and an optional comment."""

    score = RadioField(lazy_gettext("您对本案的办理是否满意？"), coerce=int, choices=lambda: select_choices(SCORES),
                       validate_choice=False,
                       validators=[InputRequired(lazy_gettext("请选择 1 到 5 分。"))])
    comment = TextAreaField(lazy_gettext("意见或建议（选填）"), validators=[
        Optional(), Length(max=1000, message=lazy_gettext("最多 1000 字。"))], render_kw={"rows": 3})

    def validate_score(self, field) -> None:
        if field.data not in {value for value, _label in SCORES}:
            raise ValidationError(gettext("请选择 1 到 5 分。"))
