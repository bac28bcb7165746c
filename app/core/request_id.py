"""A request id for every request, to line up what one request left in each log.

The id is answered in the X-Request-ID header, written on the security log's lines (request_id=) and on the error
log's line of a crash, and shown on the error page, so a resident who reports "it said 服务器错误" can quote it and the
operator finds the lines. gunicorn.conf.py writes it on the access log line too.

Behind a trusted proxy (TRUSTED_PROXIES > 0, as for the client's IP), an X-Request-ID the proxy sent is kept when it is
a plain token (nginx: `proxy_set_header X-Request-ID $request_id;`), so the proxy's log lines up as well. Otherwise, or
when the header holds anything else, the app makes one: 16 hex digits from the OS's random source."""
from __future__ import annotations

import re
import secrets

from flask import Flask, current_app, g, has_request_context, request

HEADER = "X-Request-ID"
_SAFE = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id() -> str | None:
    """This request's id (made on first use), or None outside a request."""
    if not has_request_context():
        return None
    rid = g.get("request_id")
    if rid is None:
        sent = request.headers.get(HEADER, "") if current_app.config.get("TRUSTED_PROXIES", 0) else ""
        rid = g.request_id = sent if _SAFE.fullmatch(sent) else secrets.token_hex(8)
    return rid


def install(app: Flask) -> None:
    """Answer every response with its request's id; make it available to templates as request_id()."""

    @app.after_request
    def answer_request_id(response):
        response.headers[HEADER] = request_id()
        return response

    app.jinja_env.globals["request_id"] = request_id
