"""The account's phone number (app/accounts/phone.py): /account/phone shows it and changes it (the password again,
then a code to the new number); /account/phone/verify takes the code (after registration too: `next` leads on),
/account/phone/verify/send sends it again, /account/phone/cancel drops a change."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.accounts import operations, phone
from app.accounts.forms import PhoneChangeForm, PhoneCodeForm, PostOnlyForm
from app.accounts.views import account_limit, lockout_message
from app.core import sms_codes
from app.core.crypto import normalise_phone
from app.core.i18n import gettext
from app.core.security_log import security_event
from app.core.sms_codes import Outcome, SendRefused
from app.core.web import safe_local_path
from app.extensions import db

bp = Blueprint("phone", __name__)


def _next() -> str | None:
    return safe_local_path(request.args.get("next"))


def too_many_codes(refused: SendRefused) -> str:
    """What a page says when a send limit refused a code (and the security log's line)."""
    security_event("rate_limited", "refused", scope=refused.scope, limit=refused.limit)
    return gettext("验证码发送次数过多，请 %(minutes)s 分钟后再试。", minutes=refused.minutes)


def code_sent_event(purpose: str) -> None:
    security_event("phone_code_sent", "success", purpose=purpose)


def _settings_page(form: PhoneChangeForm, status: int = 200):
    user = current_user._get_current_object()
    return render_template("accounts/phone.html", form=form, waiting=phone.pending(user),
                           cancel_form=PostOnlyForm()), status


@bp.route("/account/phone", methods=["GET", "POST"])
@login_required
@account_limit
def settings():
    """The number on the account and whether it is verified; a new number gets a code, after the password."""
    user = current_user._get_current_object()
    form = PhoneChangeForm()
    if form.validate_on_submit():
        if normalise_phone(form.phone.data) == normalise_phone(user.phone or ""):
            form.phone.errors.append(gettext("这就是账号现在绑定的号码。"))
        elif operations.authenticate(user.username, form.password.data) is None:
            g.password_failed = True
            security_event("reauth_failed", "failure", user_id=user.id)
            form.password.errors.append(gettext("登录密码不正确。"))
        else:
            refused = phone.start_change(user, form.phone.data, request.remote_addr)
            if refused is not None:
                form.phone.errors.append(too_many_codes(refused))
                return _settings_page(form, 429)
            db.session.commit()
            code_sent_event(phone.CHANGE)
            return redirect(url_for("phone.verify"))
    return _settings_page(form, 422 if form.errors else 200)


def _verify_page(waiting: phone.Pending, form: PhoneCodeForm | None = None, send_error: str | None = None,
                 status: int = 200):
    return render_template("accounts/phone_verify.html", waiting=waiting, form=form or PhoneCodeForm(),
                           send_form=PostOnlyForm(), next=_next(), send_error=send_error,
                           minutes=sms_codes.CODE_MINUTES, tries=sms_codes.CODE_ATTEMPTS), status


@bp.route("/account/phone/verify", methods=["GET", "POST"])
@login_required
def verify():
    """验证手机号: the masked number, the code, a resend; for a new number, cancel."""
    user = current_user._get_current_object()
    waiting = phone.pending(user)
    if waiting is None:  # verified already (or no number): nothing to do here
        return redirect(_next() or url_for("phone.settings"))
    form = PhoneCodeForm()
    if not form.validate_on_submit():
        return _verify_page(waiting, form, status=422 if form.errors else 200)
    result = phone.confirm(user, form.code.data, request.remote_addr)
    db.session.commit()  # the change, or the wrong try that counts
    if result.outcome is Outcome.done:
        if result.purpose == phone.CHANGE:
            security_event("phone_changed", "success", user_id=user.id)
            flash(gettext("手机号已更换为 %(number)s。", number=user.masked_phone), "success")
        else:
            security_event("phone_verified", "success", user_id=user.id)
            flash(gettext("手机号 %(number)s 已验证。", number=user.masked_phone), "success")
        return redirect(_next() or url_for("accounts.account"))
    security_event("phone_code_failed", "failure", user_id=user.id, purpose=waiting.purpose,
                   reason=result.outcome.value, tries=result.tries)
    if result.outcome is Outcome.wrong_code:
        form.code.errors = [gettext("验证码不正确。")]
    else:
        form.code.errors = [gettext("验证码已失效（超过 %(m)s 分钟、已使用、已重新获取或输错次数过多），请重新获取。",
                                    m=phone.CODE_MINUTES)]
    return _verify_page(phone.pending(user) or waiting, form, status=422)


@bp.route("/account/phone/verify/send", methods=["POST"])
@login_required
def send():
    """Send the code (again) to the number being verified; limited per account, number and IP."""
    if not PostOnlyForm().validate_on_submit():
        abort(400)
    user = current_user._get_current_object()
    waiting = phone.pending(user)
    if waiting is None:
        return redirect(_next() or url_for("phone.settings"))
    refused = phone.send_code(user, request.remote_addr)
    if refused is not None:
        return _verify_page(waiting, send_error=too_many_codes(refused), status=429)
    db.session.commit()
    code_sent_event(waiting.purpose)
    flash(gettext("验证码已发送到 %(number)s，%(minutes)s 分钟内有效。", number=waiting.masked,
                  minutes=phone.CODE_MINUTES), "info")
    return redirect(url_for("phone.verify", next=_next()))


@bp.route("/account/phone/cancel", methods=["POST"])
@login_required
def cancel():
    """Keep the old number: the change waiting for its code is dropped."""
    if not PostOnlyForm().validate_on_submit():
        abort(400)
    if phone.cancel_change(current_user._get_current_object()):
        db.session.commit()
        flash(gettext("已取消更换手机号，账号仍使用原来的号码。"), "info")
    return redirect(url_for("phone.settings"))


@bp.errorhandler(429)
def too_many_attempts(exc):
    """The per-account password limit (account_limit) refused: the form again, the refusal by the password."""
    form = PhoneChangeForm()
    form.password.errors = [lockout_message()]
    return _settings_page(form, 429)
