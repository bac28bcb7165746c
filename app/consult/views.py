"""The consult page: a question in plain words, the best answers from the knowledge base with the law
cited and the way on, and "did this solve it?" (the resolved-at-consult figure). No login needed.

Asking is a POST with CSRF, rate-limited per IP, that records the question and redirects to /consult/<id>, the
question's own page: the question never travels in a URL, so it stays out of access logs, browser history and
Referer headers (ASVS 5.0 14.2.1; people describe family quarrels and illnesses here). An old /consult?q=… link
fills the box without asking. The question's page, its feedback (a POST with CSRF) and the way on to a dispute
(/cases/new?consult=<id>) are open only to who asked: the same browser session, or the signed-in user who asked.
The browser's list of its questions survives logging in (accounts.operations.KEPT_AT_LOGIN)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from app.accounts.operations import KEPT_AT_LOGIN
from app.cases.rules import current_rules
from app.consult import operations
from app.consult.forms import MAX_TYPED_CHARS, ConsultForm
from app.consult.models import ConsultQuery
from app.core.db_plans import key_lookups
from app.core.i18n import gettext
from app.extensions import csrf, db, limiter

bp = Blueprint("consult", __name__)
OWN_QUERIES = "consult_ids"     # session key: the query ids this browser asked (the newest 20)
OWN_LIMIT = 20
KEPT_AT_LOGIN.add(OWN_QUERIES)  # asked before logging in, still one's own after (e.g. on to a dispute)


def _rate_limit() -> str:
    return current_app.config["CONSULT_RATE_LIMIT"]


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _own_ids() -> list[int]:
    return [i for i in session.get(OWN_QUERIES, []) if isinstance(i, int)]


def _page(form: ConsultForm, query: ConsultQuery | None, hits: list, status: int = 200):
    rules = current_rules()
    return render_template("consult/ask.html", form=form, query=query, hits=hits,
                           category_label=lambda cid: rules.categories[cid].label if cid in rules.categories
                           else gettext("常见程序问题"),
                           categories=rules.categories.values()), status


def _stale_token() -> bool:
    """The global CSRF check, run here (the view is exempt from the hook) so a failure keeps the question."""
    try:
        csrf.protect()
    except CSRFError:
        return True
    return False


@bp.route("/consult", methods=["GET", "POST"])
@key_lookups
@csrf.exempt
@limiter.limit(_rate_limit, exempt_when=lambda: request.method != "POST")
def ask():
    if request.method == "GET":  # an old /consult?q=… link or bookmark fills the box; nothing is asked or kept
        return _page(ConsultForm(formdata=None, q=(request.args.get("q") or "")[:MAX_TYPED_CHARS]), None, [])
    form = ConsultForm()
    if _stale_token():
        form.validate()
        form.q.errors = [*form.q.errors, gettext("页面已过期（安全令牌 CSRF 失效），您的问题还在，请再点一次“提问”。")]
        return _page(form, None, [], 400)
    if not form.validate():
        return _page(form, None, [], 422)
    query, _hits = operations.ask(form.q.data, _user_id())
    session[OWN_QUERIES] = (_own_ids() + [query.id])[-OWN_LIMIT:]
    db.session.commit()
    return redirect(url_for("consult.show", query_id=query.id), 303)


def asked_here(query_id: int | None) -> ConsultQuery | None:
    """The question with this id if this browser session or the signed-in user asked it, else None."""
    query = db.session.get(ConsultQuery, query_id) if query_id else None
    if query is None or not operations.may_give_feedback(query, _user_id(), _own_ids()):
        return None
    return query


def _own_query(query_id: int) -> ConsultQuery:
    query = asked_here(query_id)
    if query is None:
        abort(404)  # someone else's question: as if it did not exist
    return query


@bp.route("/consult/<int:query_id>", methods=["GET"])
@key_lookups
def show(query_id: int):
    query = _own_query(query_id)
    return _page(ConsultForm(formdata=None, q=query.question), query, operations.shown_answers(query))


@bp.route("/consult/<int:query_id>/feedback", methods=["POST"])
@limiter.limit(_rate_limit)
def feedback(query_id: int):
    query = _own_query(query_id)
    choice = request.form.get("resolved")
    if choice not in ("yes", "no"):
        abort(400)
    operations.record_feedback(query, choice == "yes")
    db.session.commit()
    if choice == "yes":
        flash(gettext("谢谢您的反馈！"), "success")
    else:
        flash(gettext("谢谢反馈。您可以提交纠纷，我们帮您进一步处理。"), "success")
    return redirect(url_for("consult.show", query_id=query.id, _anchor="feedback"))


@bp.errorhandler(429)
def too_many(exc):
    """A plain Chinese page: how many questions are allowed, how long to wait, and the question, kept."""
    from limits import parse

    limit = parse(_rate_limit())
    seconds = limit.get_expiry()
    form = ConsultForm(formdata=None, q=(request.form.get("q") or "")[:MAX_TYPED_CHARS])
    page = render_template("consult/rate_limited.html", amount=limit.amount, seconds=seconds,
                           minutes=max(1, round(seconds / 60)), form=form)
    return page, 429, {"Retry-After": str(seconds)}
