"""The consult page: a question in plain words, the best answers from the knowledge base with the law
cited and the way on, and "did this solve it?" (the resolved-at-consult figure). No login needed.

Asking is a GET (/consult?q=…, like a search box, so the home page form and links work) that records the
question; it is rate-limited per IP. Feedback is a POST with CSRF, accepted only from who asked: the same
browser session, or the signed-in user who asked."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from app.cases.rules import current_rules
from app.consult import operations
from app.consult.models import ConsultQuery
from app.core.i18n import gettext
from app.extensions import db, limiter

bp = Blueprint("consult", __name__)
OWN_QUERIES = "consult_ids"     # session key: the query ids this browser asked (the newest 20)
OWN_LIMIT = 20


def _rate_limit() -> str:
    return current_app.config["CONSULT_RATE_LIMIT"]


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _own_ids() -> list[int]:
    return [i for i in session.get(OWN_QUERIES, []) if isinstance(i, int)]


def _page(question: str, query: ConsultQuery | None, hits: list, status: int = 200):
    rules = current_rules()
    return render_template("consult/ask.html", question=question, query=query, hits=hits,
                           category_label=lambda cid: rules.categories[cid].label if cid in rules.categories
                           else gettext("常见程序问题"),
                           categories=rules.categories.values()), status


@bp.route("/consult", methods=["GET"])
@limiter.limit(_rate_limit, exempt_when=lambda: not (request.args.get("q") or "").strip())
def ask():
    question = (request.args.get("q") or "").strip()[:2000]
    if not question:
        return _page("", None, [])
    query, hits = operations.ask(question, _user_id())
    session[OWN_QUERIES] = (_own_ids() + [query.id])[-OWN_LIMIT:]
    page = _page(query.question, query, hits)  # before the commit, which would expire the question: no reload
    db.session.commit()
    return page


def _own_query(query_id: int) -> ConsultQuery:
    query = db.session.get(ConsultQuery, query_id)
    if query is None or not operations.may_give_feedback(query, _user_id(), _own_ids()):
        abort(404)  # someone else's question: as if it did not exist
    return query


@bp.route("/consult/<int:query_id>", methods=["GET"])
def show(query_id: int):
    query = _own_query(query_id)
    return _page(query.question, query, operations.shown_answers(query))


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
    """A plain Chinese page: how many questions are allowed, and how long to wait."""
    from limits import parse

    limit = parse(_rate_limit())
    seconds = limit.get_expiry()
    page = render_template("consult/rate_limited.html", amount=limit.amount, seconds=seconds,
                           minutes=max(1, round(seconds / 60)))
    return page, 429, {"Retry-After": str(seconds)}
