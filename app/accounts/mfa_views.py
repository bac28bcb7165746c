"""The second factor's pages: /login/code (after the password, before any session) and /account/mfa (enrol with
a QR code, or remove with the password and a code). The logic is in app/accounts/mfa.py."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from app.accounts import mfa, operations
from app.accounts.forms import MfaCodeForm, MfaLoginForm, MfaRemoveForm
from app.accounts.models import User
from app.accounts.views import MFA_ENROL, MFA_PENDING, account_limit, finish_login, lockout_message
from app.core.i18n import gettext
from app.core.security_log import security_event
from app.core.time import utcnow
from app.extensions import db

bp = Blueprint("mfa", __name__)
PENDING_SECONDS = 300  # the code must follow the password within five minutes
# What an account that must enrol may still open before it has (the enrolment itself, leaving, the language).
ENROL_ALLOWED = {"mfa.settings", "accounts.logout", "core.set_language", "static"}


@bp.before_app_request
def enrol_before_anything_else():
    """A role that needs a second factor sees nothing else until it has one (a flag set at login, no query)."""
    if session.get(MFA_ENROL) and request.endpoint not in ENROL_ALLOWED:
        return redirect(url_for("mfa.settings"))
    return None


def _pending_user() -> User | None:
    pending = session.get(MFA_PENDING)
    if not isinstance(pending, dict) or utcnow().timestamp() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user = db.session.get(User, pending.get("user_id"))
    return user if user is not None and user.active else None


@bp.route("/login/code", methods=["GET", "POST"])
@account_limit
def login_code():
    user = _pending_user()
    row = mfa.factor(user) if user is not None else None
    if row is None:
        session.pop(MFA_PENDING, None)
        flash(gettext("请重新输入用户名和密码。"), "info")
        return redirect(url_for("accounts.login", next=request.args.get("next")))
    form = MfaLoginForm()
    if form.validate_on_submit():
        entered = form.code.data.strip()
        if "-" in entered or not entered.replace(" ", "").isdigit():  # a recovery code
            remaining = mfa.use_recovery_code(user, entered)
            if remaining is not None:
                session.pop(MFA_PENDING, None)
                response = finish_login(user)  # starts a fresh session: the notice goes in after
                flash(gettext("已用掉一个恢复码，还剩 %(n)s 个。手机找回或更换后，请重新开启两步验证以获得新的恢复码。",
                              n=remaining), "error")
                return response
        elif mfa.verify(row, entered):
            session.pop(MFA_PENDING, None)
            return finish_login(user)
        g.password_failed = True  # counts against the account's limit, like a wrong password
        security_event("mfa_failed", "failure", user_id=user.id)
        form.code.errors.append(gettext("验证码不正确或已经用过，请输入验证器应用中当前的验证码。"))
    return render_template("accounts/login_code.html", form=form), (422 if form.errors else 200)


@bp.route("/account/mfa", methods=["GET", "POST"])
@login_required
@account_limit
def settings():
    user = current_user._get_current_object()
    if mfa.factor(user) is not None:
        return _remove(user)
    form = MfaCodeForm()
    if form.validate_on_submit():
        codes = mfa.confirm(user, form.code.data)
        if codes is not None:
            db.session.commit()
            session.pop(MFA_ENROL, None)
            flash(gettext("两步验证已开启。以后登录时，输入密码后还需输入验证器应用中的验证码。"), "success")
            # Shown once, now: only their hashes are kept.
            return render_template("accounts/mfa_codes.html", codes=codes)
        form.code.errors.append(gettext("验证码不正确。请确认已扫描二维码，并输入应用中当前显示的验证码。"))
    return _enrolment_page(user, form, 422 if form.errors else 200)


def _enrolment_page(user: User, form: MfaCodeForm, status: int):
    """The QR code and the secret being enrolled (a new one if there is none yet), and the code form."""
    row = mfa.start_enrolment(user)
    db.session.commit()
    return render_template("accounts/mfa.html", form=form, enrolled=False, secret=row.secret,
                           qr=mfa.qr_svg(user, row.secret)), status


def _remove(user: User):
    form = MfaRemoveForm()
    if form.validate_on_submit():
        if operations.authenticate(user.username, form.password.data) is None:
            g.password_failed = True
            security_event("reauth_failed", "failure", user_id=user.id)
            form.password.errors.append(gettext("登录密码不正确。"))
        elif not mfa.verify(mfa.factor(user), form.code.data):
            g.password_failed = True
            security_event("mfa_failed", "failure", user_id=user.id)
            form.code.errors.append(gettext("验证码不正确或已经用过，请输入验证器应用中当前的验证码。"))
        elif mfa.required(user):
            form.code.errors.append(gettext("您的账号必须使用两步验证，不能关闭。更换手机请联系系统管理员。"))
        else:
            mfa.remove(user)
            db.session.commit()
            flash(gettext("两步验证已关闭。"), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/mfa.html", form=form, enrolled=True), (422 if form.errors else 200)


@bp.errorhandler(429)
def too_many_attempts(exc):
    """The page that was posted again, with the refusal next to its code field; nothing was checked. On
    /account/mfa (enrolling, or removing) the user is logged in: that page, not the login's code step. The code
    typed stays; a password never does."""
    if request.endpoint == "mfa.settings" and current_user.is_authenticated:
        user = current_user._get_current_object()
        if mfa.factor(user) is not None:
            form = MfaRemoveForm()
            form.code.errors = [lockout_message()]
            return render_template("accounts/mfa.html", form=form, enrolled=True), 429
        form = MfaCodeForm()
        form.code.errors = [lockout_message()]
        return _enrolment_page(user, form, 429)
    form = MfaLoginForm()
    form.code.errors = [lockout_message()]
    return render_template("accounts/login_code.html", form=form), 429
