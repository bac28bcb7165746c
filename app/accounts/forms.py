"""Login and registration forms; every message is shown next to its field (lazy_gettext: per request)."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    widgets,
)
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from app.accounts.admin_ops import STAFF_ACTIONS
from app.accounts.models import User
from app.accounts.password_policy import too_guessable
from app.core.i18n import gettext, lazy_gettext
from app.core.validators import email_error
from app.extensions import db

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


def validate_phone_number(form, field) -> None:
    """Mainland mobile numbers: 11 digits starting with 13-19."""
    if field.data and not PHONE_RE.match(field.data.strip()):
        raise ValidationError(gettext("请输入有效的 11 位手机号码，例如 13800138000。"))

TEL = {"inputmode": "tel", "autocomplete": "tel"}
GUESSABLE = lazy_gettext("这个密码太容易被猜到（常见密码、键盘顺序、重复或连续的字符，或含有用户名、姓名、手机号）。"
                         "请换一个：几个不相关的词加上数字或符号，既安全又好记。")


def check_guessable(field, *context: str | None) -> None:
    if field.data and len(field.data) >= 10 and too_guessable(field.data, *context):
        raise ValidationError(str(GUESSABLE))


class LoginForm(FlaskForm):
    username = StringField(lazy_gettext("用户名"), validators=[DataRequired(lazy_gettext("请输入用户名。"))])
    password = PasswordField(lazy_gettext("密码"), validators=[DataRequired(lazy_gettext("请输入密码。"))])
    submit = SubmitField(lazy_gettext("登录"))


class RegisterForm(FlaskForm):
    username = StringField(lazy_gettext("用户名"), validators=[
        DataRequired(lazy_gettext("请输入用户名。")),
        Length(3, 40, lazy_gettext("用户名长度须为 3 至 40 个字符。")),
        Regexp(r"^[A-Za-z0-9_.-]+$", message=lazy_gettext("用户名只能包含字母、数字、下划线、点和连字符。")),
    ])
    display_name = StringField(lazy_gettext("姓名"), validators=[
        DataRequired(lazy_gettext("请输入您的姓名。")), Length(max=60, message=lazy_gettext("姓名最多 60 个字符。"))])
    phone = StringField(lazy_gettext("手机号码"), validators=[Optional(), validate_phone_number], render_kw=TEL)
    email = EmailField(lazy_gettext("电子邮箱"), validators=[Optional()], render_kw={"autocomplete": "email"})
    password = PasswordField(lazy_gettext("密码"), validators=[
        DataRequired(lazy_gettext("请设置密码。")), Length(10, 128, lazy_gettext("密码至少 10 个字符。"))])
    confirm = PasswordField(lazy_gettext("确认密码"), validators=[
        DataRequired(lazy_gettext("请再次输入密码。")), EqualTo("password", lazy_gettext("两次输入的密码不一致。"))])
    submit = SubmitField(lazy_gettext("注册"))

    def validate_email(self, field) -> None:
        if field.data and (err := email_error(field.data)):
            raise ValidationError(err)

    def validate_password(self, field) -> None:
        check_guessable(field, self.username.data, self.display_name.data, self.phone.data, self.email.data)

    def validate_username(self, field) -> None:
        if db.session.scalar(sa.select(User.id).where(User.username == field.data)):
            raise ValidationError(gettext("该用户名已被使用，请换一个。"))


class NewPasswordForm(FlaskForm):
    """A new password typed twice (the password change and the reset by SMS code)."""
    password = PasswordField(lazy_gettext("新密码"), validators=[
        DataRequired(lazy_gettext("请设置新密码。")), Length(10, 128, lazy_gettext("密码至少 10 个字符。"))],
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(lazy_gettext("确认新密码"), validators=[
        DataRequired(lazy_gettext("请再次输入新密码。")), EqualTo("password", lazy_gettext("两次输入的密码不一致。"))],
        render_kw={"autocomplete": "new-password"})


class PasswordChangeForm(NewPasswordForm):
    current = PasswordField(lazy_gettext("当前密码"), validators=[DataRequired(lazy_gettext("请输入当前密码。"))],
                            render_kw={"autocomplete": "current-password"})
    submit = SubmitField(lazy_gettext("修改密码"))

    def validate_password(self, field) -> None:
        if field.data and field.data == self.current.data:
            raise ValidationError(gettext("新密码不能与当前密码相同。"))
        user = current_user
        check_guessable(field, user.username, user.display_name, user.phone, user.email)


class EndDevicesForm(FlaskForm):
    """End chosen logins on other devices: the choices are set per request (the user's other open sessions)."""
    sessions = SelectMultipleField(lazy_gettext("要退出的设备"), coerce=int,
                                   widget=widgets.ListWidget(prefix_label=False),
                                   option_widget=widgets.CheckboxInput(),
                                   validators=[DataRequired(lazy_gettext("请选择要退出的设备。"))])
    password = PasswordField(lazy_gettext("登录密码"), validators=[DataRequired(lazy_gettext("请输入登录密码。"))],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField(lazy_gettext("退出所选设备"))


class ForgotPasswordForm(FlaskForm):
    username = StringField(lazy_gettext("用户名"), validators=[DataRequired(lazy_gettext("请输入用户名。"))],
                           render_kw={"autocomplete": "username"})
    phone = StringField(lazy_gettext("账号绑定的手机号码"), validators=[DataRequired(lazy_gettext("请输入手机号码。")),
                                                                 validate_phone_number], render_kw=TEL)
    submit = SubmitField(lazy_gettext("获取验证码"))


class ResetPasswordForm(NewPasswordForm):
    code = StringField(lazy_gettext("短信验证码"), validators=[
        DataRequired(lazy_gettext("请输入短信验证码。")),
        Regexp(r"^\s*\d{6}\s*$", message=lazy_gettext("验证码是 6 位数字。"))],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 6})
    submit = SubmitField(lazy_gettext("设置新密码"))


CODE_FIELD = {"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 7}


class MfaCodeForm(FlaskForm):
    code = StringField(lazy_gettext("验证器应用中的 6 位验证码"), validators=[
        DataRequired(lazy_gettext("请输入验证码。")),
        Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=lazy_gettext("验证码是 6 位数字。"))], render_kw=CODE_FIELD)
    submit = SubmitField(lazy_gettext("确认"))


class MfaLoginForm(FlaskForm):
    """The login's second step: the app's code, or one of the recovery codes (abcd-efgh) when the phone is lost."""
    code = StringField(lazy_gettext("验证码（或恢复码）"), validators=[
        DataRequired(lazy_gettext("请输入验证码。")),
        Regexp(r"^\s*(\d{3}\s?\d{3}|[A-Za-z0-9]{4}-?[A-Za-z0-9]{4})\s*$",
               message=lazy_gettext("请输入验证器应用中的 6 位数字，或一个恢复码（如 abcd-efgh）。"))],
        render_kw={"autocomplete": "one-time-code", "maxlength": 9, "autocapitalize": "off"})
    submit = SubmitField(lazy_gettext("登录"))


class MfaRemoveForm(MfaCodeForm):
    password = PasswordField(lazy_gettext("登录密码"), validators=[DataRequired(lazy_gettext("请输入登录密码。"))],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField(lazy_gettext("关闭两步验证"))


class PhoneCodeForm(FlaskForm):
    """The code sent by SMS to verify the account's phone or a new number (app/accounts/phone.py)."""
    code = StringField(lazy_gettext("短信验证码"), validators=[
        DataRequired(lazy_gettext("请输入短信中的 6 位验证码。")),
        Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=lazy_gettext("验证码是 6 位数字。"))], render_kw=CODE_FIELD)
    submit = SubmitField(lazy_gettext("验证"))


class PhoneChangeForm(FlaskForm):
    """A new number for the account: a code goes to it, and the number changes when the code comes back. The
    password again first (ASVS 5.0 7.5.1: the phone recovers the account)."""
    phone = StringField(lazy_gettext("新手机号码"), validators=[DataRequired(lazy_gettext("请输入新的手机号码。")),
                                                           validate_phone_number], render_kw=TEL)
    password = PasswordField(lazy_gettext("登录密码"), validators=[DataRequired(lazy_gettext("请输入登录密码。"))],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField(lazy_gettext("发送验证码到新号码"))


class PostOnlyForm(FlaskForm):
    """Only the CSRF token: a button (send the code again, cancel the change) that takes nothing typed."""


class ChooseNewPasswordForm(NewPasswordForm):
    """After logging in with a temporary password: a new one, no current password (the temporary one is spent)."""
    submit = SubmitField(lazy_gettext("设置新密码"))

    def validate_password(self, field) -> None:
        user = current_user
        context = (user.username, user.display_name, user.phone, user.email) if user.is_authenticated else ()
        check_guessable(field, *context)


# --- the organisation admin's pages (app/accounts/admin_views.py) ---------------------------------------------------

REASON_REQUIRED = lazy_gettext("请填写原因，它会记入操作记录。")
REASON_TOO_LONG = lazy_gettext("原因最多 500 个字。")


class StaffActionForm(FlaskForm):
    """One staff member's actions on the staff page: the button pressed names the action. Each person's form has its
    own prefix (ids stay unique on the page); CSRFProtect checks the page's token (csrf_token) for every POST."""

    class Meta:
        csrf = False  # checked by CSRFProtect for the whole app; a prefixed form would look for its own field

    action = StringField(validators=[DataRequired(), AnyOf(STAFF_ACTIONS)])
    reason = TextAreaField(lazy_gettext("原因（必填，记入操作记录）"), validators=[
        DataRequired(REASON_REQUIRED), Length(max=500, message=REASON_TOO_LONG)], render_kw={"rows": 2})


class FindResidentForm(FlaskForm):
    query = StringField(lazy_gettext("居民的用户名或手机号码"), validators=[
        DataRequired(lazy_gettext("请输入居民的用户名或手机号码。")), Length(max=40)],
        render_kw={"autocomplete": "off", "autocapitalize": "off"})
    submit = SubmitField(lazy_gettext("查找"))


class AssistedResetForm(FlaskForm):
    id_checked = BooleanField(lazy_gettext("我已当面核对本人的居民身份证（或其他有效身份证件），姓名与账号一致"),
                              validators=[DataRequired(lazy_gettext("请先当面核对身份证件，并勾选此项。"))])
    reason = TextAreaField(lazy_gettext("原因（必填，记入操作记录）"), validators=[
        DataRequired(REASON_REQUIRED), Length(max=500, message=REASON_TOO_LONG)], render_kw={"rows": 2})
    submit = SubmitField(lazy_gettext("重设密码并生成临时密码"))
