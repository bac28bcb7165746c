"""Register, log in, log out, change the password; the login prompt that says why a session ended."""
from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_url

from app.accounts import admin_ops, devices, mfa, operations, phone
from app.accounts.forms import (
    ChooseNewPasswordForm,
    EndDevicesForm,
    LoginForm,
    PasswordChangeForm,
    RegisterForm,
)
from app.accounts.operations import SessionEnd
from app.core.i18n import N_, gettext
from app.core.security_log import account_ref, security_event
from app.core.time import utcnow
from app.core.web import safe_local_path
from app.extensions import db, limiter, login_manager

bp = Blueprint("accounts", __name__)
# Signed-session keys of the second factor: the login waiting for its code; an account that must enrol first.
MFA_PENDING, MFA_ENROL = "mfa_pending", "mfa_enrol_required"
# Signed-session key: logged in with a temporary password (app/accounts/admin_ops.py), a new one comes first.
MUST_CHANGE = "must_change_password"
# What such a session may still open: choosing the password, leaving, the language.
MUST_CHANGE_ALLOWED = {"accounts.choose_password", "accounts.logout", "core.set_language", "static"}
TEMPORARY_EXPIRED = N_("临时密码已过期，请再到调解机构办理：请本人带上身份证件，工作人员会为您重新设置。")


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_key() -> str:
    """The account being tried, whatever the IP (hashed: the limiter's keys hold no usernames)."""
    if current_user.is_authenticated:  # re-entering the password to change it counts against the same account
        name = current_user.username
    elif request.endpoint == "mfa.login_code":  # the second step: the account whose password was right
        name = (session.get(MFA_PENDING) or {}).get("username") or ""
    else:
        name = request.form.get("username") or ""
    g.limited_account = name  # for the security log's login_locked (hashed there too)
    return hashlib.sha256(name.strip().lower().encode("utf-8")).hexdigest()[:32]


# Failed password checks per account: one counter for the login form and the password change form, in the
# limiter's storage (Redis when REDIS_URL is set, so every gunicorn worker counts together). Only failures count
# (views set g.password_failed); once the limit is reached every attempt is refused before the password is checked.
account_limit = limiter.shared_limit(_login_rate_limit, scope="password-account", key_func=_account_key,
                                     methods=["POST"], deduct_when=lambda response: g.get("password_failed", False))


def _after_login():
    return redirect(safe_local_path(request.args.get("next")) or url_for("core.dashboard"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTER_RATE_LIMIT"], methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("core.dashboard"))
    form = RegisterForm()
    if form.validate_on_submit():
        user = operations.register_resident(form.username.data, form.password.data,
                                            form.display_name.data.strip(), form.phone.data, form.email.data)
        operations.start_session(user, request.remote_addr, request.user_agent.string)
        refused = phone.send_code(user, request.remote_addr) if user.phone else None
        db.session.commit()
        flash(gettext("注册成功，欢迎使用解纷。"), "success")
        if not user.phone:
            return _after_login()
        # The number typed is anyone's until its code comes back: 验证手机号 next (it may be skipped, and done later
        # from the account page; until then the number opens nothing).
        if refused is not None:
            from app.accounts.phone_views import too_many_codes

            flash(too_many_codes(refused), "error")
        else:
            security_event("phone_code_sent", "success", user_id=user.id, purpose=phone.VERIFY)
        return redirect(url_for("phone.verify", next=safe_local_path(request.args.get("next"))))
    return render_template("accounts/register.html", form=form), (422 if form.errors else 200)


@bp.route("/login", methods=["GET", "POST"])
@account_limit
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = operations.authenticate(form.username.data, form.password.data)
        if user is None:
            g.password_failed = True
            security_event("login_failed", "failure", account=account_ref(form.username.data))
            form.password.errors.append(gettext("用户名或密码不正确。"))
        elif admin_ops.temporary_password_expired(user):  # said only to whoever typed the right temporary password
            security_event("login_failed", "failure", user_id=user.id, reason="temporary_password_expired")
            form.password.errors.append(gettext(TEMPORARY_EXPIRED))
        elif mfa.factor(user) is not None:  # the password was right; no session until the code is too
            operations.clear_session()
            session[MFA_PENDING] = {"user_id": user.id, "username": user.username, "at": utcnow().timestamp()}
            return redirect(url_for("mfa.login_code", next=request.args.get("next")))
        else:
            return finish_login(user)
    return render_template("accounts/login.html", form=form), (422 if form.errors else 200)


def finish_login(user):
    """Start the session; a temporary password is spent and a new one chosen first; an account whose role needs a
    second factor it has not enrolled goes to enrol first."""
    operations.start_session(user, request.remote_addr, request.user_agent.string)
    security_event("login_succeeded", "success", user_id=user.id)
    if user.must_change_password:
        admin_ops.burn_temporary_password(user)
        db.session.commit()
        session[MUST_CHANGE] = True
        flash(gettext("您使用的是工作人员给的临时密码，它只能用这一次。请现在设置您自己的新密码。"), "info")
        return redirect(url_for("accounts.choose_password"))
    db.session.commit()
    return _after_password(user)


def _after_password(user):
    """Where a login goes once the password step is over: enrolment of a required second factor, or the work."""
    if mfa.required(user) and mfa.factor(user) is None:
        session[MFA_ENROL] = True
        flash(gettext("您的账号需要开启两步验证后才能使用。"), "info")
        return redirect(url_for("mfa.settings"))
    return _after_login()


@bp.before_app_request
def new_password_before_anything_else():
    """After a temporary password, nothing but choosing a new one (a flag set at login, no query)."""
    if session.get(MUST_CHANGE) and request.endpoint not in MUST_CHANGE_ALLOWED:
        return redirect(url_for("accounts.choose_password"))
    return None


@bp.route("/account/password/new", methods=["GET", "POST"])
@login_required
def choose_password():
    """The new password after a temporary one: no current password to give (it was spent at login)."""
    user = current_user._get_current_object()
    if not user.must_change_password:
        session.pop(MUST_CHANGE, None)
        return redirect(url_for("accounts.change_password"))
    form = ChooseNewPasswordForm()
    if form.validate_on_submit():
        operations.change_password(user, form.password.data, request.remote_addr, request.user_agent.string)
        operations.forget_temporary_password(user)  # change_password started a fresh session: the flag went with it
        db.session.commit()
        security_event("password_changed", "success", user_id=user.id, via="temporary")
        flash(gettext("新密码已设置，以后请用新密码登录。"), "success")
        return _after_password(user)
    return render_template("accounts/choose_password.html", form=form), (422 if form.errors else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    user = current_user._get_current_object()
    operations.end_session(user)
    db.session.commit()
    security_event("logout", "success", user_id=user.id)
    flash(gettext("您已安全退出。"), "info")
    return redirect(url_for("core.home"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@account_limit
def change_password():
    """Every other session of the user ends; this browser stays logged in with a new session."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if operations.authenticate(user.username, form.current.data) is None:
            g.password_failed = True
            security_event("reauth_failed", "failure", user_id=user.id)
            form.current.errors.append(gettext("当前密码不正确。"))
        else:
            operations.change_password(user, form.password.data, request.remote_addr, request.user_agent.string)
            devices.notify_password_changed(user, utcnow())
            db.session.commit()
            security_event("password_changed", "success", user_id=user.id, via="change")
            flash(gettext("密码已修改。其他设备上的登录均已退出。"), "success")
            return redirect(url_for("core.dashboard"))
    return render_template("accounts/password.html", form=form), (422 if form.errors else 200)


def lockout_message() -> str:
    """What a form says next to its password field once account_limit refuses (HTTP 429)."""
    from limits import parse

    minutes = max(1, round(parse(_login_rate_limit()).get_expiry() / 60))
    return gettext("该账号密码错误次数过多，已暂时锁定，请 %(minutes)s 分钟后再试。", minutes=minutes)


@bp.route("/account")
@login_required
def account():
    """The account's pages in one place (the name in the nav leads here)."""
    return render_template("accounts/account.html", has_mfa=mfa.factor(current_user) is not None,
                           phone_waiting=phone.pending(current_user._get_current_object()))


@bp.route("/account/sessions", methods=["GET", "POST"])
@login_required
@account_limit
def sessions():
    """Where this account is logged in; other devices are logged out after giving the password again."""
    user = current_user._get_current_object()
    form, listed = _devices_form(user)
    if form.validate_on_submit():
        if operations.authenticate(user.username, form.password.data) is None:
            g.password_failed = True
            security_event("reauth_failed", "failure", user_id=user.id)
            form.password.errors.append(gettext("登录密码不正确。"))
        else:
            ended = devices.end_devices(user, form.sessions.data)
            db.session.commit()
            flash(gettext("已退出 %(n)s 台设备上的登录。", n=ended), "success")
            return redirect(url_for("accounts.sessions"))
    return render_template("accounts/sessions.html", form=form, devices=listed), (422 if form.errors else 200)


def _devices_form(user) -> tuple[EndDevicesForm, list[devices.Device]]:
    """The form of /account/sessions, offering the user's other open sessions, and the list it shows."""
    listed = devices.open_devices(user)
    form = EndDevicesForm()
    form.sessions.choices = [(d.id, d.label) for d in listed if not d.current]
    return form, listed


@bp.errorhandler(429)
def too_many_attempts(exc):
    """The form again, with the refusal next to the password field; nothing was checked."""
    message = lockout_message()
    if request.endpoint == "accounts.change_password":
        form, template, field = PasswordChangeForm(), "accounts/password.html", "current"
    elif request.endpoint == "accounts.register":  # what was typed stays (but the passwords)
        form = RegisterForm()
        form.username.errors = [gettext("同一网络注册的账号太多了，请 %(m)s 分钟后再试。您填写的内容已保留。",
                                        m=_register_wait_minutes())]
        return render_template("accounts/register.html", form=form), 429
    elif request.endpoint == "accounts.sessions":
        form, listed = _devices_form(current_user._get_current_object())
        form.password.errors = [message]
        return render_template("accounts/sessions.html", form=form, devices=listed), 429
    else:
        form, template, field = LoginForm(), "accounts/login.html", "password"
    getattr(form, field).errors = [message]
    return render_template(template, form=form), 429


def _register_wait_minutes() -> int:
    from limits import parse

    return max(1, round(parse(current_app.config["REGISTER_RATE_LIMIT"]).get_expiry() / 60))


def _login_prompt() -> str:
    """Why the visitor must log in: a session that timed out or was ended by a password change says so."""
    cfg = current_app.config
    reason = g.get("session_end")
    if reason == SessionEnd.idle:
        return gettext("您已 %(minutes)s 分钟未操作，为保护您的信息已自动退出，请重新登录。",
                       minutes=cfg["SESSION_IDLE_MINUTES"])
    if reason == SessionEnd.absolute:
        return gettext("登录已超过 %(hours)s 小时，为保护您的信息已自动退出，请重新登录。",
                       hours=cfg["SESSION_ABSOLUTE_HOURS"])
    if reason == SessionEnd.password_changed:
        return gettext("您的密码已修改，请用新密码重新登录。")
    if reason == SessionEnd.ended_elsewhere:
        return gettext("此设备上的登录已在您的另一台设备上退出，请重新登录。")
    if reason == SessionEnd.ended_by_admin:
        return gettext("管理员已结束您的登录，请重新登录。")
    if reason == SessionEnd.account_closed:
        return gettext("该账号已注销。如需继续使用，请重新注册。")
    return gettext(login_manager.login_message)


@login_manager.unauthorized_handler
def ask_to_log_in():
    """Flask-Login's redirect to the login page (with next=), with a message that says why."""
    flash(_login_prompt(), login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, next_url=request.url))
