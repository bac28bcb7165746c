"""The intake wizard's steps: what happened; type and amount; parties; evidence; review and submit."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    FormField,
    HiddenField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from app.cases.forms import REGION_MESSAGE, REGION_RE, ApplicantAndRespondentChecks, PartyForm
from app.core.enums import select_choices
from app.core.fields import SelectField
from app.core.i18n import gettext, lazy_gettext
from app.core.time import beijing_today
from app.core.validators import email_error

STEPS = (
    (1, lazy_gettext("发生了什么")),
    (2, lazy_gettext("纠纷类型")),
    (3, lazy_gettext("当事人")),
    (4, lazy_gettext("证据")),
    (5, lazy_gettext("确认提交")),
)

TEL = {"inputmode": "tel", "autocomplete": "tel"}


class WizardForm(FlaskForm):
    """Every step carries the case version (two tabs cannot overwrite each other) and a navigation choice."""

    version = HiddenField()
    nav = StringField(default="next")  # set by the button pressed: back | save | next | submit


class WhatHappenedForm(WizardForm):
    title = StringField(lazy_gettext("纠纷标题"), validators=[
        DataRequired(lazy_gettext("请用一句话概括纠纷，例如“邻居装修漏水损坏我家天花板”。")),
        Length(max=120, message=lazy_gettext("标题最多 120 个字。"))])
    description = TextAreaField(lazy_gettext("发生了什么"), validators=[
        DataRequired(lazy_gettext("请描述纠纷经过：时间、地点、人物、发生了什么。")),
        Length(min=10, max=10000, message=lazy_gettext("请至少写 10 个字，最多 10000 字。"))])
    desired_outcome = TextAreaField(lazy_gettext("您希望怎样解决"), validators=[
        Optional(), Length(max=2000, message=lazy_gettext("最多 2000 字。"))])
    began_on = DateField(lazy_gettext("纠纷从哪天开始（大概即可）"), validators=[Optional()])
    learned_on = DateField(lazy_gettext("您哪天知道自己的权益受到损害"), validators=[Optional()])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The picker's latest day is today in Beijing, worked out per form (not once when a worker starts).
        self.today = beijing_today()
        for field in (self.began_on, self.learned_on):
            field.render_kw = {"max": self.today.isoformat()}

    def validate_began_on(self, field) -> None:
        if field.data and field.data > self.today:
            raise ValidationError(gettext("日期不能晚于今天。"))

    def validate_learned_on(self, field) -> None:
        if field.data and field.data > self.today:
            raise ValidationError(gettext("日期不能晚于今天。"))
        if field.data and self.began_on.data and field.data < self.began_on.data:
            raise ValidationError(gettext("知道权益受损的日期不能早于纠纷开始的日期。"))


class CategoryForm(WizardForm):
    category = SelectField(lazy_gettext("纠纷类型"), validators=[Optional()], choices=[])
    amount = DecimalField(lazy_gettext("涉及金额（元，选填）"), places=2, validators=[
        Optional(), NumberRange(min=0, max=10**11, message=lazy_gettext("金额应为不小于 0 的数字。"))])
    has_arbitration_agreement = BooleanField(lazy_gettext("双方已签订书面仲裁协议（或合同中有仲裁条款）"))

    def __init__(self, *args, category_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = select_choices([("", gettext("不确定（可先咨询，或请网格员帮助判断）"))] + list(category_choices))


class PartiesForm(ApplicantAndRespondentChecks, WizardForm):
    applicant_name = StringField(lazy_gettext("申请人（居民）姓名"), validators=[
        Optional(), Length(max=120, message=lazy_gettext("最多 120 个字符。"))])
    applicant_phone = StringField(lazy_gettext("申请人手机号码"), validators=[Optional()], render_kw=TEL)
    applicant_id_number = StringField(lazy_gettext("申请人身份证号码（选填）"), validators=[Optional()])
    applicant_email = EmailField(lazy_gettext("申请人电子邮箱（选填）"), validators=[Optional()],
                                 render_kw={"autocomplete": "email"})
    region_code = StringField(lazy_gettext("申请人所在地区代码"), validators=[
        Optional(), Regexp(REGION_RE, message=REGION_MESSAGE)])
    respondent1 = FormField(PartyForm, label=lazy_gettext("被申请人"))
    respondent2 = FormField(PartyForm, label=lazy_gettext("第二被申请人（选填）"))

    def __init__(self, *args, on_behalf: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.on_behalf = on_behalf

    def validate_applicant_email(self, field) -> None:
        if field.data and (err := email_error(field.data)):
            raise ValidationError(err)

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then: a name for every respondent with details, and for the applicant when filing for one."""
        ok = super().validate(extra_validators)
        return self.check_names(first_respondent_required=False) and ok


class EvidenceStepForm(WizardForm):
    file = FileField(lazy_gettext("选择文件（PDF、JPEG、PNG、MP3、MP4，每个最大 20 MB）"))
    description = StringField(lazy_gettext("这份证据说明什么（选填）"), validators=[
        Optional(), Length(max=200, message=lazy_gettext("最多 200 字。"))])


CONSENT_METHOD_CHOICES = (
    ("", lazy_gettext("请选择")),
    ("in_person_signed", lazy_gettext("居民本人阅读后在纸质同意书上签字")),
    ("in_person_read_aloud", lazy_gettext("网格员当面宣读，居民本人口头同意")),
)


class ReviewForm(WizardForm):
    truthful = BooleanField(lazy_gettext("我确认以上内容真实，知道提交后调解组织会联系被申请人。"))
    resident_confirmed = BooleanField(lazy_gettext("居民本人已当面核对以上内容，同意由网格员代为申请。"))
    # A grid worker filing for a resident records the resident's own consent to the personal-information rules.
    resident_consented = BooleanField(lazy_gettext("居民本人已知悉《个人信息处理规则》，并逐项同意其中的各项用途。"))
    consent_method = SelectField(lazy_gettext("居民如何表示同意"), choices=[], validators=[Optional()])

    def __init__(self, *args, on_behalf: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.on_behalf = on_behalf
        self.consent_method.choices = select_choices(CONSENT_METHOD_CHOICES)

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.nav.data == "submit" and self.on_behalf:
            ok = self._check_resident_consent() and ok
        if self.nav.data == "submit" and not self.truthful.data:
            self.truthful.errors = list(self.truthful.errors) + [gettext("请勾选确认后再提交。")]
            ok = False
        if self.nav.data == "submit" and self.on_behalf and not self.resident_confirmed.data:
            self.resident_confirmed.errors = list(self.resident_confirmed.errors) + [
                gettext("网格员代为申请，须居民本人当面确认。")]
            ok = False
        return ok

    def _check_resident_consent(self) -> bool:
        ok = True
        if not self.resident_consented.data:
            self.resident_consented.errors = list(self.resident_consented.errors) + [
                gettext("须记录居民本人对个人信息处理规则的同意。")]
            ok = False
        if self.consent_method.data not in {"in_person_signed", "in_person_read_aloud"}:
            self.consent_method.errors = list(self.consent_method.errors) + [gettext("请选择居民表示同意的方式。")]
            ok = False
        return ok
