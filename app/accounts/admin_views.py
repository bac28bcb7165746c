"""The organisation admin's account pages: /org/staff (the organisation's staff, and what can be done to each) and
/org/assisted-reset (a temporary password for a resident at the counter). The logic is in app/accounts/admin_ops.py."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.accounts import admin_ops
from app.accounts.forms import AssistedResetForm, FindResidentForm, StaffActionForm
from app.core.i18n import N_, gettext
from app.extensions import db

bp = Blueprint("org_staff", __name__)

DONE = {
    "deactivate": N_("已停用 %(name)s 的账号，其 %(n)s 个登录已结束。"),
    "activate": N_("已恢复 %(name)s 的账号。"),
    "end_sessions": N_("已结束 %(name)s 的 %(n)s 个登录。"),
    "reset_mfa": N_("已重置 %(name)s 的两步验证，对方下次登录后需重新开启。"),
}


@bp.before_request
@login_required
def org_admins_only():
    """Every page here: logged in (else the login page), an organisation admin (else 403)."""
    admin_ops.require_org_admin(current_user)


def _staff_forms(rows, posted: StaffActionForm | None = None, posted_id: int | None = None) -> dict:
    """One form per person (prefixed with their id); the one that was posted keeps what was typed and its errors."""
    return {row.user.id: posted if row.user.id == posted_id else StaffActionForm(formdata=None, prefix=f"s{row.user.id}")
            for row in rows}


def _staff_page(forms: dict | None = None, rows=None, status: int = 200):
    admin = current_user._get_current_object()
    rows = rows if rows is not None else admin_ops.staff_list(admin)
    return render_template("accounts/org_staff.html", rows=rows, forms=forms or _staff_forms(rows),
                           events=admin_ops.recent_events(admin), action_label=admin_ops.action_label), status


@bp.route("/org/staff")
def staff():
    return _staff_page()


@bp.route("/org/staff/<int:user_id>", methods=["POST"])
def staff_action(user_id: int):
    """One action on one staff member of the admin's organisation, with a reason (404 for anyone else)."""
    admin = current_user._get_current_object()
    target = admin_ops.find_staff(admin, user_id)
    form = StaffActionForm(prefix=f"s{target.id}")
    if not form.validate():
        rows = admin_ops.staff_list(admin)
        return _staff_page(_staff_forms(rows, form, target.id), rows, 422)
    event = admin_ops.act_on_staff(admin, target, form.action.data, form.reason.data, request.remote_addr)
    db.session.commit()
    flash(gettext(DONE[event.action], name=target.display_name, n=event.sessions_ended), "success")
    return redirect(url_for("org_staff.staff") + f"#staff-{target.id}")


@bp.route("/org/assisted-reset", methods=["GET", "POST"])
def find_resident():
    """Step one at the counter: find the resident's account by username or phone number (POST: no phone in URLs)."""
    form = FindResidentForm()
    found = None
    if form.validate_on_submit():
        found = admin_ops.find_accounts(form.query.data, current_user._get_current_object())
        if not found:
            form.query.errors.append(gettext("没有找到这个用户名或手机号码的账号。请核对后重试，或请居民回忆注册时用的用户名。"))
    status = 422 if form.errors else 200
    return render_template("accounts/assisted_reset_find.html", form=form, found=found), status


@bp.route("/org/assisted-reset/<int:user_id>", methods=["GET", "POST"])
def reset_resident(user_id: int):
    """Step two: the identity document checked (a tick) and a reason; the temporary password is shown once."""
    admin = current_user._get_current_object()
    resident = admin_ops.find_resident(user_id, admin)
    form = AssistedResetForm()
    if form.validate_on_submit():
        password = admin_ops.assisted_reset(admin, resident, form.reason.data, request.remote_addr)
        db.session.commit()
        # Shown on this response only: the database keeps its hash, and the page is not cached (no-store).
        return render_template("accounts/assisted_reset_done.html", resident=resident, password=password)
    status = 422 if form.errors else 200
    return render_template("accounts/assisted_reset.html", form=form, resident=resident), status
