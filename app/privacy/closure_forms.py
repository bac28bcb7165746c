"""The account closure form: the password again, and a tick that the consequences were read."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SubmitField
from wtforms.validators import DataRequired

from app.core.i18n import lazy_gettext


class AccountClosureForm(FlaskForm):
    password = PasswordField(lazy_gettext("登录密码"), validators=[DataRequired(lazy_gettext("请输入登录密码。"))],
                             render_kw={"autocomplete": "current-password"})
    understood = BooleanField(lazy_gettext("我已阅读以上说明，了解注销后账号无法恢复。"),
                              validators=[DataRequired(lazy_gettext("请确认您已了解注销的后果。"))])
    submit = SubmitField(lazy_gettext("注销账号"))
