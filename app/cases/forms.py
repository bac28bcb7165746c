"""The intake form (filing and editing a dispute) and the funnel step form. Labels and messages are
lazy_gettext strings: they resolve in the language of the request that shows them."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from app.cases.models import PartyKind
from app.core.enums import select_choices
from app.core.fields import SelectField
from app.core.i18n import gettext, lazy_gettext
from app.core.validators import email_error, id_number_error, phone_error

REGION_RE = r"^\d{6}(\d{3}){0,2}$"
REGION_MESSAGE = lazy_gettext("地区代码应为 6、9 或 12 位数字（如 340202）。")

TEL = {"inputmode": "tel", "autocomplete": "tel"}


class PartyForm(Form):
    """One respondent; a blank second respondent is ignored."""

    # choices is a callable, called when the form is built: the labels follow the request's language.
    kind = SelectField(lazy_gettext("类型"), choices=lambda: select_choices(PartyKind.choices()),
                       default=PartyKind.person.value)
    name = StringField(lazy_gettext("姓名或单位名称"), validators=[
        Optional(), Length(max=120, message=lazy_gettext("最多 120 个字符。"))])
    phone = StringField(lazy_gettext("手机号码"), validators=[Optional()], render_kw={"inputmode": "tel", "autocomplete": "off"})
    id_number = StringField(lazy_gettext("身份证号码（选填）"), validators=[Optional()])
    region_code = StringField(lazy_gettext("所在地区代码"), validators=[
        Optional(), Regexp(REGION_RE, message=REGION_MESSAGE)])
    address = StringField(lazy_gettext("地址"), validators=[
        Optional(), Length(max=200, message=lazy_gettext("最多 200 个字符。"))])
    email = EmailField(lazy_gettext("电子邮箱（选填，用于发送调解邀请）"), validators=[Optional()],
                       render_kw={"autocomplete": "off"})

    def validate_email(self, field) -> None:
        if field.data and (err := email_error(field.data)):
            raise ValidationError(err)

    def validate_phone(self, field) -> None:
        if field.data and (err := phone_error(field.data)):
            raise ValidationError(err)

    def validate_id_number(self, field) -> None:
        if field.data and (err := id_number_error(field.data)):
            raise ValidationError(err)

    @property
    def filled(self) -> bool:
        return bool((self.name.data or "").strip())


class ApplicantAndRespondentChecks:
    """Checks shared by the edit form and the wizard's parties step (both have these fields)."""

    def validate_applicant_phone(self, field) -> None:
        if field.data and (err := phone_error(field.data)):
            raise ValidationError(err)

    def validate_applicant_id_number(self, field) -> None:
        if field.data and (err := id_number_error(field.data)):
            raise ValidationError(err)

    def check_names(self, first_respondent_required: bool) -> bool:
        """The applicant's name when filing for a resident; a name for each respondent that has any detail."""
        ok = True
        if self.on_behalf and not (self.applicant_name.data or "").strip():
            self.applicant_name.errors = list(self.applicant_name.errors) + [
                gettext("代为申请时，请填写申请人（居民）的姓名。")]
            ok = False
        for i, sub in enumerate((self.respondent1.form, self.respondent2.form)):
            details = any((getattr(sub, f).data or "").strip()
                          for f in ("phone", "id_number", "region_code", "address", "email"))
            if ((i == 0 and first_respondent_required) or details) and not sub.filled:
                sub.name.errors = list(sub.name.errors) + [gettext("请填写被申请人的姓名或单位名称。")]
                ok = False
        return ok


class CaseForm(ApplicantAndRespondentChecks, FlaskForm):
    title = StringField(lazy_gettext("纠纷标题"), validators=[
        DataRequired(lazy_gettext("请用一句话概括纠纷，例如“邻居装修漏水损坏我家天花板”。")),
        Length(max=120, message=lazy_gettext("标题最多 120 个字。"))])
    category = SelectField(lazy_gettext("纠纷类型"), validators=[Optional()], choices=[])
    amount = DecimalField(lazy_gettext("涉及金额（元，选填）"), places=2, validators=[
        Optional(), NumberRange(min=0, max=10**11, message=lazy_gettext("金额应为不小于 0 的数字。"))])
    description = TextAreaField(lazy_gettext("发生了什么"), validators=[
        DataRequired(lazy_gettext("请描述纠纷经过：时间、地点、人物、发生了什么。")),
        Length(min=10, max=10000, message=lazy_gettext("请至少写 10 个字，最多 10000 字。"))])
    desired_outcome = TextAreaField(lazy_gettext("您希望怎样解决"), validators=[
        Optional(), Length(max=2000, message=lazy_gettext("最多 2000 字。"))])
    applicant_name = StringField(lazy_gettext("申请人姓名（网格员代为申请时填写）"), validators=[
        Optional(), Length(max=120, message=lazy_gettext("最多 120 个字符。"))])
    region_code = StringField(lazy_gettext("您所在地区代码"), validators=[
        Optional(), Regexp(REGION_RE, message=REGION_MESSAGE)])
    applicant_phone = StringField(lazy_gettext("您的手机号码"), validators=[Optional()], render_kw=TEL)
    applicant_id_number = StringField(lazy_gettext("您的身份证号码（选填）"), validators=[Optional()])
    respondent1 = FormField(PartyForm, label=lazy_gettext("被申请人"))
    respondent2 = FormField(PartyForm, label=lazy_gettext("第二被申请人（选填）"))
    has_arbitration_agreement = BooleanField(lazy_gettext("双方已签订书面仲裁协议（或合同中有仲裁条款）"))
    evidence = FileField(lazy_gettext("证据材料（选填，PDF/JPEG/PNG/MP3/MP4，最大 20 MB）"))
    version = HiddenField()

    def __init__(self, *args, category_choices: list[tuple[str, str]] = (), on_behalf: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.on_behalf = on_behalf
        self.category.choices = select_choices([("", gettext("不确定（先咨询）"))] + list(category_choices))

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then: a chosen category needs a respondent; any respondent detail needs a name."""
        ok = super().validate(extra_validators)
        return self.check_names(first_respondent_required=bool(self.category.data)) and ok


class StepForm(FlaskForm):
    """A funnel step: a reason, plus the fields some steps need."""

    reason = TextAreaField(lazy_gettext("说明或理由"), validators=[
        Optional(), Length(max=5000, message=lazy_gettext("最多 5000 字。"))])
    mediator_id = SelectField(lazy_gettext("调解员"), coerce=int, validators=[Optional()], choices=[],
                              validate_choice=False)
    court_id = SelectField(lazy_gettext("受理法院"), coerce=int, validators=[Optional()], choices=[],
                           validate_choice=False)
    court_case_number = StringField(lazy_gettext("案号"), validators=[
        Optional(), Length(max=60, message=lazy_gettext("最多 60 个字符。"))])
    version = IntegerField(validators=[Optional()])


class EvidenceForm(FlaskForm):
    file = FileField(lazy_gettext("证据文件"))
    description = StringField(lazy_gettext("说明（选填）"), validators=[
        Optional(), Length(max=200, message=lazy_gettext("最多 200 字。"))])
