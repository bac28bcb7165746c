"""The individual's rights over their personal information (PIPL chapter IV) that need a page of their own:
/account/privacy/export, a copy of it (art. 45); /account/close: a resident closes (注销) their own account, after
reading what it means and giving the password again. Failed passwords count against the same per-account limit as
the login form."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from app.accounts import operations
from app.accounts.views import account_limit, lockout_message
from app.core.i18n import gettext
from app.extensions import db
from app.privacy import closure, export
from app.privacy.closure_forms import AccountClosureForm

bp = Blueprint("rights", __name__)


@bp.route("/account/privacy/export")
@login_required
def export_personal_data():
    """The copy as a JSON download (an attachment; no cache keeps it: app/core/web.py)."""
    data = export.personal_data(current_user._get_current_object())
    body = json.dumps(data, ensure_ascii=False, indent=2)
    name = f"jiefen-personal-data-{data['generated_at'][:10]}.json"
    return current_app.response_class(body, mimetype="application/json",
                                      headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/account/close", methods=["GET", "POST"])
@login_required
@account_limit
def close_account():
    user = current_user._get_current_object()
    form = AccountClosureForm()
    allowed = closure.can_close_itself(user)
    blocking = closure.cases_in_progress(user) if allowed else []
    if request.method == "POST" and not (allowed and not blocking):
        status = 403 if not allowed else 409  # the form is not shown: nothing to correct on it
        return _page(form, allowed, blocking), status
    if form.validate_on_submit():
        if operations.authenticate(user.username, form.password.data) is None:
            g.password_failed = True
            form.password.errors.append(gettext("登录密码不正确。"))
        else:
            try:
                closure.close_account(user)
            except closure.ClosureRefused as refused:  # a case was filed in another tab meanwhile
                db.session.rollback()
                return _page(form, allowed, refused.cases), 409
            db.session.commit()
            logout_user()
            session.clear()
            flash(gettext("您的账号已注销，个人信息已删除。感谢您使用解纷。"), "success")
            return redirect(url_for("core.home"))
    return _page(form, allowed, blocking), (422 if form.errors else 200)


@bp.errorhandler(429)
def too_many_attempts(exc):
    """The form again, with the refusal next to the password field; nothing was checked."""
    form = AccountClosureForm()
    form.password.errors = [lockout_message()]
    user = current_user._get_current_object()
    allowed = closure.can_close_itself(user)
    return _page(form, allowed, closure.cases_in_progress(user) if allowed else []), 429


def _page(form, allowed: bool, blocking: list):
    return render_template("privacy/close_account.html", form=form, allowed=allowed, blocking=blocking,
                           retention_days=current_app.config["PERSONAL_DATA_RETENTION_DAYS"])
