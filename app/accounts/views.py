"""Register, log in, log out."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from app.accounts import operations
from app.accounts.forms import LoginForm, RegisterForm
from app.core.web import safe_local_path
from app.extensions import db

bp = Blueprint("accounts", __name__)


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("core.dashboard"))
    form = RegisterForm()
    if form.validate_on_submit():
        user = operations.register_resident(form.username.data, form.password.data,
                                            form.display_name.data.strip(), form.phone.data, form.email.data)
        operations.start_session(user, request.remote_addr)
        db.session.commit()
        flash(gettext("注册成功，欢迎使用解纷。"), "success")
        return redirect(safe_local_path(request.args.get("next")) or url_for("core.dashboard"))
    return render_template("accounts/register.html", form=form), (422 if form.errors else 200)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = operations.authenticate(form.username.data, form.password.data)
        if user is None:
            form.password.errors.append(gettext("用户名或密码不正确。"))
        else:
            operations.start_session(user, request.remote_addr)
            db.session.commit()
            return redirect(safe_local_path(request.args.get("next")) or url_for("core.dashboard"))
    return render_template("accounts/login.html", form=form), (422 if form.errors else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    operations.end_session(current_user._get_current_object())
    db.session.commit()
    flash(gettext("您已安全退出。"), "info")
    return redirect(url_for("core.home"))
