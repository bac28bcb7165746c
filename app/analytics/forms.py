"""The dashboard's month filter (a GET form, no CSRF) and a party's satisfaction rating of a closed case."""
from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import MonthField, RadioField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from app.core.enums import select_choices
from app.core.i18n import gettext, lazy_gettext

SCORES = [(5, lazy_gettext("5 分：非常满意")), (4, lazy_gettext("4 分：满意")), (3, lazy_gettext("3 分：一般")),
          (2, lazy_gettext("2 分：不满意")), (1, lazy_gettext("1 分：非常不满意"))]


class _Month(MonthField):
    """YYYY-MM (input type=month), with the parse error in the user's language."""

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(gettext("请按“年-月”填写，例如 2026-01。")) from exc


class DashboardFilterForm(FlaskForm):
    """since / until as whole calendar months (cases filed from the first day of since to the last day of until):
    governance reports are monthly, and whole months are what the rollups hold, so every panel stays fast."""

    class Meta:
        csrf = False  # a GET filter changes nothing

    since = _Month(lazy_gettext("起始月份"), validators=[Optional()],
                       render_kw={"placeholder": "2026-01"})
    until = _Month(lazy_gettext("截止月份（含）"), validators=[Optional()],
                       render_kw={"placeholder": "2026-12"})

    def validate_until(self, field) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(gettext("截止月份不能早于起始月份。"))

    def period(self) -> tuple[date | None, date | None]:
        """(first day of since, first day after until), each None when not given."""
        until = self.until.data
        return self.since.data, (date(until.year + (until.month == 12), until.month % 12 + 1, 1) if until else None)


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
