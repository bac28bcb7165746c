"""Forms of the award pages: the arbitrator's draft, and issuing with the password re-entered."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from app.core.i18n import lazy_gettext
from app.escalation.award import LIMITS, AwardInput, decision_items


def _text(label, message, name: str, rows: int) -> TextAreaField:
    return TextAreaField(label, validators=[
        DataRequired(message=message),
        Length(max=LIMITS[name], message=lazy_gettext("最多 %(max)d 个字符。"))], render_kw={"rows": rows})


class AwardForm(FlaskForm):
    claims = _text(lazy_gettext("仲裁请求"), lazy_gettext("请填写申请人的仲裁请求。"), "claims", 5)
    findings = _text(lazy_gettext("经审理查明"), lazy_gettext("请填写经审理查明的事实。"), "findings", 10)
    reasoning = _text(lazy_gettext("本委认为"), lazy_gettext("请写明仲裁庭的意见和理由（本委认为）。"), "reasoning", 10)
    decision = TextAreaField(lazy_gettext("裁决如下（每行一项）"), validators=[
        Length(max=LIMITS["decision"], message=lazy_gettext("最多 %(max)d 个字符。"))], render_kw={"rows": 6})

    def validate_decision(self, field) -> None:
        if not decision_items(field.data):
            raise ValidationError(lazy_gettext("请至少填写一项裁决内容（每行一项）。"))

    def to_input(self) -> AwardInput:
        return AwardInput(claims=self.claims.data or "", findings=self.findings.data or "",
                          reasoning=self.reasoning.data or "", decision=self.decision.data or "")

    def fill(self, data: AwardInput) -> None:
        self.claims.data, self.findings.data = data.claims, data.findings
        self.reasoning.data, self.decision.data = data.reasoning, data.decision


class IssueForm(FlaskForm):
    seen_hash = HiddenField()
    password = PasswordField(lazy_gettext("请再次输入登录密码"), validators=[
        DataRequired(message=lazy_gettext("请输入您的登录密码。"))], render_kw={"autocomplete": "current-password"})
