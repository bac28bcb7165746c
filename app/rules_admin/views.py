"""/admin/routing: the categories and their keywords, a live "try it" box, and a safe editor."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.accounts.models import OrgType, Role, Tier
from app.cases.assignment import CATEGORIES_FILE, current_engine
from app.core.i18n import gettext, is_english, lazy_gettext
from app.core.rules_store import history
from app.extensions import db
from app.rules_admin import operations
from app.rules_admin.operations import RuleEditError

bp = Blueprint("rules_admin", __name__, url_prefix="/admin/routing")


class CategoryEditForm(FlaskForm):
    rules = TextAreaField(lazy_gettext("关键词与适用范围（YAML）"), validators=[DataRequired(lazy_gettext("内容不能为空。"))],
                          render_kw={"rows": 20, "spellcheck": "false", "autocapitalize": "off", "autocorrect": "off",
                                     "wrap": "off", "class": "code-input"})
    note = StringField(lazy_gettext("修改说明"),
                       validators=[DataRequired(lazy_gettext("请说明为什么修改（将记入版本历史）。")),
                                   Length(max=500, message=lazy_gettext("最多 500 字。"))])


def _labels(enum_cls, values) -> str:
    """Enum ids from the rules (org types, tiers) as labels in the current language, joined; unknown ids as-is."""
    labels = []
    for value in values or []:
        try:
            labels.append(enum_cls(value).label)
        except ValueError:
            labels.append(str(value))
    return (", " if is_english() else "、").join(labels)


@bp.app_template_filter("rules_org_types")
def rules_org_types(values) -> str:
    return _labels(OrgType, values)


@bp.app_template_filter("rules_tiers")
def rules_tiers(values) -> str:
    return _labels(Tier, values)


@bp.app_template_filter("rules_name")
def rules_name(entry: dict) -> str:
    """A category entry of the rules document by its name in the current language."""
    return (entry.get("en") if is_english() else None) or entry.get("zh") or entry.get("id") or ""


@bp.before_request
@login_required
def admins_only():
    if current_user.role != Role.admin:
        abort(403)


def _rules_dir():
    return current_app.config["RULES_DIR"]


@bp.route("/")
def index():
    document, key = operations.rules_in_force(_rules_dir())
    sample = (request.args.get("try") or "").strip()[:5000]
    return render_template("rules_admin/index.html", categories=document.get("categories") or [], version=key,
                           versions=history(CATEGORIES_FILE), sample=sample,
                           result=operations.try_text(_rules_dir(), sample) if sample else None)


@bp.route("/try")
def try_it():
    """JSON for the live box: how the rules in force classify a text."""
    return jsonify(operations.try_text(_rules_dir(), (request.args.get("text") or "")[:5000]))


@bp.route("/<category_id>", methods=["GET", "POST"])
def edit(category_id: str):
    document, key = operations.rules_in_force(_rules_dir())
    entry = operations.category_entry(document, category_id)
    if entry is None:
        abort(404)
    form = CategoryEditForm()
    if request.method == "GET":
        form.rules.data = operations.editable_yaml(entry)
    preview = None
    if form.is_submitted():
        # One pass: the form's own checks (note, CSRF) and the rules themselves, so every error shows at once.
        form_ok = form.validate()
        rules_ok = False
        if form.rules.data and form.rules.data.strip():
            try:
                operations.checked_text(_rules_dir(), category_id, form.rules.data)
                rules_ok = True
            except RuleEditError as exc:
                form.rules.errors = list(form.rules.errors) + exc.errors
        if form_ok and rules_ok:
            try:
                version = operations.save_category(_rules_dir(), category_id, form.rules.data, form.note.data,
                                                   current_user.id)
            except RuleEditError as exc:
                form.rules.errors = list(form.rules.errors) + exc.errors
            else:
                db.session.commit()
                flash(gettext("已保存为新版本 %(version)s，立即生效。", version=version), "success")
                return redirect(url_for("rules_admin.edit", category_id=category_id))
    sample = (request.form.get("sample") or request.args.get("try") or "").strip()[:5000]
    if sample:
        preview = operations.try_text(_rules_dir(), sample)
    return render_template("rules_admin/edit.html", entry=entry, form=form, version=key, sample=sample,
                           preview=preview, engine_category=current_engine().category(category_id)), (
        422 if form.errors else 200)
