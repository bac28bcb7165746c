"""忘记密码: /password/forgot asks for the username and the phone on the account and sends a code by SMS;
/password/reset takes the code and a new password (app/accounts/recovery.py)."""
from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from wtforms.validators import ValidationError

from app.accounts import devices, recovery
from app.accounts.forms import ForgotPasswordForm, ResetPasswordForm, check_guessable
from app.core.i18n import gettext
from app.core.security_log import account_ref, security_event
from app.core.time import utcnow
from app.extensions import db, limiter

bp = Blueprint("recovery", __name__)
RESET_STATE = "password_reset"  # session key: {"token", "issued", "tries"}


def _account_key() -> str:
    name = (request.form.get("username") or "").strip().lower()
    return "reset:" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_IP_RATE_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["RESET_ACCOUNT_RATE_LIMIT"], key_func=_account_key, methods=["POST"])
def forgot():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.change_password"))
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        token = recovery.request_code(form.username.data, form.phone.data, request.remote_addr)
        session[RESET_STATE] = {"token": token, "issued": utcnow().timestamp(), "tries": 0}
        db.session.commit()
        security_event("reset_requested", "success", account=account_ref(form.username.data))
        # The same words whether or not the account exists and has this phone.
        flash(gettext("如果用户名和手机号码与账号相符，验证码已发送到该手机，%(m)s 分钟内有效。",
                      m=recovery.RESET_CODE_MINUTES), "info")
        return redirect(url_for("recovery.reset"))
    return render_template("accounts/forgot.html", form=form), (422 if form.errors else 200)


@bp.route("/password/reset", methods=["GET", "POST"])
def reset():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.change_password"))
    state = session.get(RESET_STATE)
    if not isinstance(state, dict) or not state.get("token"):
        return redirect(url_for("recovery.forgot"))
    token = state["token"]
    form = ResetPasswordForm()
    if form.validate_on_submit():
        row = recovery.pending(token)
        if row is not None:  # the new password must not be built on this account's own details either
            user = row.user
            try:
                check_guessable(form.password, user.username, user.display_name, user.phone, user.email)
            except ValidationError as weak:
                form.password.errors = [str(weak)]
        if not form.errors:
            outcome = recovery.reset_password(token, form.code.data, form.password.data)
            if outcome is recovery.Outcome.done:
                devices.notify_password_changed(row.user, utcnow())
                db.session.commit()
                session.pop(RESET_STATE, None)
                security_event("password_changed", "success", user_id=row.user.id, via="reset")
                flash(gettext("密码已重设，所有设备上的登录均已退出。请用新密码登录。"), "success")
                return redirect(url_for("accounts.login"))
            db.session.commit()  # the attempt counts
            state["tries"] = state.get("tries", 0) + 1
            session[RESET_STATE] = state
            stale = utcnow().timestamp() - state.get("issued", 0) > recovery.RESET_CODE_MINUTES * 60
            security_event("reset_failed", "failure", user_id=row.user.id if row is not None else None,
                           reason=outcome.value, tries=state["tries"])
            if outcome is recovery.Outcome.wrong_code and not stale and state["tries"] < recovery.RESET_CODE_ATTEMPTS:
                form.code.errors = [gettext("验证码不正确。")]
            else:
                form.code.errors = [gettext("验证码已失效（超过 %(m)s 分钟、已使用、已重新获取或输错次数过多），请重新获取。",
                                            m=recovery.RESET_CODE_MINUTES)]
    return render_template("accounts/reset.html", form=form), (422 if form.errors else 200)


@bp.errorhandler(429)
def too_many_requests(exc):
    """The request form again, with the refusal next to the username; nothing was sent."""
    from limits import parse

    minutes = max(1, round(parse(current_app.config["RESET_ACCOUNT_RATE_LIMIT"]).get_expiry() / 60))
    form = ForgotPasswordForm()
    form.username.errors = [gettext("获取验证码的次数过多，请 %(minutes)s 分钟后再试。", minutes=minutes)]
    return render_template("accounts/forgot.html", form=form), 429
