"""PostgreSQL: which statements may run on a plan kept for the connection (a generic plan), and which are planned
for each run's own values.

Planning was most of PostgreSQL's work per request. bench/load.py, same code, interleaved runs (2026-12-03):
PostgreSQL's CPU per request was 1.91-1.92 ms with every run planned for its values (plan_cache_mode
=force_custom_plan) and 0.97-1.09 ms with generic plans allowed (PostgreSQL's default, plan_cache_mode=auto: after a
prepared statement's 5th run PostgreSQL keeps a plan made without the values, when that plan is estimated no worse).
The session lookup of every logged-in request took ~0.3 ms to plan and ~0.08 ms to run.

A generic plan is only safe where the values cannot change the best plan: look-ups by key (an id, a token, the
user's own rows). Where they can, it is a trap: a search for one word within one stage of one organisation was 5x
slower from its 6th run on (bdd7a25). So the default is to plan each run for its values, and look-ups opt in:
- every statement of a request to a view marked @key_lookups (its hooks and the session lookup included);
- a statement with execution_options(generic_plan=True), wherever it runs.
Those go through psycopg's prepared statements (prepared on their second run on a connection, prepare_threshold=1)
under plan_cache_mode=auto. Everything else is sent unprepared (psycopg's prepare=False): PostgreSQL parses and plans
it for its own values on every run. On SQLite none of this applies: the hook is only installed for PostgreSQL.
"""
from __future__ import annotations

from flask import current_app, has_request_context, request
from sqlalchemy import event

# endpoint -> may its statements use generic plans (read off the view function once per endpoint)
_by_endpoint: dict[str | None, bool] = {}


def key_lookups(view):
    """Mark a view whose statements look rows up by key: PostgreSQL may keep one plan per statement for them.

    Put it under @bp.route (with or without @login_required between: functools.wraps copies the mark). Only for
    views whose every statement filters by ids, tokens or the user's own rows; never on a search or a list filtered
    by a column whose values are unevenly spread (stage, organisation, category, dates)."""
    view.key_lookups = True
    return view


def generic_plans_allowed(context) -> bool:
    """May this execution use a generic plan? (The statement's generic_plan option, else the request's view.)"""
    if context is not None and context.execution_options.get("generic_plan"):
        return True
    if not has_request_context():
        return False
    endpoint = request.endpoint
    allowed = _by_endpoint.get(endpoint)
    if allowed is None:
        view = current_app.view_functions.get(endpoint) if endpoint else None
        allowed = _by_endpoint[endpoint] = bool(getattr(view, "key_lookups", False))
    return allowed


def plan_per_statement(engine) -> None:
    """Install on `engine` (psycopg 3, plan_cache_mode=auto): statements that may not use a generic plan are sent
    unprepared, so PostgreSQL plans each run for its values; the others go through psycopg's prepared statements."""

    from psycopg import ServerCursor

    @event.listens_for(engine, "do_execute")
    def _execute(cursor, statement, parameters, context):
        # A server-side cursor (stream_results) is never prepared: psycopg declares it, and takes no prepare flag.
        if isinstance(cursor, ServerCursor) or generic_plans_allowed(context):
            return None  # SQLAlchemy's own cursor.execute(): psycopg prepares it from its second run
        cursor.execute(statement, parameters, prepare=False)
        return True
