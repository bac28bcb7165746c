"""The consent page (/privacy/consent) and the user's consent history with withdrawal (/account/privacy)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from app.core.i18n import gettext
from app.core.web import safe_local_path
from app.extensions import db
from app.privacy import consent

bp = Blueprint("privacy", __name__)


def _lang() -> str:
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh"


def consent_redirect(next_url: str):
    """Send the user to the consent page, to come back to next_url afterwards."""
    flash(gettext("提交纠纷前，请先阅读并同意《个人信息处理规则》。"), "info")
    return redirect(url_for("privacy.consent_page", next=next_url))


@bp.route("/privacy/rules")
def rules_page():
    """The current personal-information rules, for anyone (linked where data is collected: registration, the
    consult box), before any account exists; agreeing happens on the consent page before filing."""
    text = consent.current_text()
    lang = _lang()
    return render_template("privacy/rules.html", text=text, lang=lang, blocks=consent.blocks(text.text(lang)))


@bp.route("/privacy/consent", methods=["GET", "POST"])
@login_required
def consent_page():
    text = consent.current_text()
    lang = _lang()
    next_url = safe_local_path(request.values.get("next"))
    form = FlaskForm()
    missing: list[str] = []
    if form.validate_on_submit():
        ticked = [k for k in request.form.getlist("purpose") if k in text.purpose_keys]
        missing = [k for k in text.purpose_keys if k not in ticked]
        if not missing:
            consent.record_consent(current_user, ticked, lang=lang, ip=request.remote_addr)
            db.session.commit()
            flash(gettext("已记录您的同意（第 %(v)s 版）。", v=text.version), "success")
            return redirect(next_url or url_for("privacy.account_privacy"))
    elif request.method == "POST":
        abort(400)
    ticked_now = set(request.form.getlist("purpose")) if request.method == "POST" else set()
    html = render_template("privacy/consent.html", form=form, text=text, lang=lang, blocks=consent.blocks(text.text(lang)),
                           missing=missing, ticked=ticked_now, next_url=next_url,
                           already=consent.has_current_consent(current_user))
    return html, (422 if missing else 200)


@bp.route("/account/privacy")
@login_required
def account_privacy():
    text, lang, versions = consent.current_text(), _lang(), consent.registry().versions

    def text_purposes(version: str) -> dict:
        known = versions.get(version)
        return {p.key: p.label(lang) for p in known.purposes} if known else {}

    return render_template("privacy/consent_history.html", records=consent.history(current_user), text=text,
                           current=consent.active_consent(current_user), form=FlaskForm(), lang=lang,
                           text_purposes=text_purposes)


@bp.route("/account/privacy/<int:record_id>/withdraw", methods=["POST"])
@login_required
def withdraw(record_id: int):
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    if consent.withdraw(current_user, record_id) is None:
        abort(404)
    db.session.commit()
    flash(gettext("已撤回同意。撤回前的处理不受影响；再次提交纠纷前需要重新同意。"), "success")
    return redirect(url_for("privacy.account_privacy"))
