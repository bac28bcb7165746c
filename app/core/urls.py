"""url_for in templates, remembered: the same endpoint and arguments build the same URL for the life of the process.

A page's header, footer and panels call url_for 10-40 times, mostly with the same arguments on every page; each
call costs werkzeug's URL building (~10-15 µs), a remembered one a dictionary look-up. Only what cannot differ
between requests is remembered: no relative endpoints (".view", which depend on the blueprint), no `_external`,
`_scheme`, `_anchor` or `_method`, and the key holds the request's script root (a proxy may mount the app under a
prefix). The app has no url_defaults callbacks, which could make a URL depend on the request (create_app's check).
"""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask.globals import _cv_request

MEMO_SIZE = 4096  # entries (a case page's URLs carry its id): emptied when full rather than grown


def install_url_memo(app: Flask) -> None:
    """Replace the templates' url_for with the remembering one below."""
    if app.url_default_functions:
        raise RuntimeError("url_for memo: url_defaults callbacks make URLs depend on the request; remove the memo")
    build = app.url_for
    memo: dict[tuple, str] = {}

    def url_for(endpoint: str, **values: Any) -> str:
        ctx = _cv_request.get(None)
        if ctx is None or endpoint[:1] == "." or any(name[:1] == "_" for name in values):
            return build(endpoint, **values)
        try:
            # the class too: True == 1 (same hash) but builds "True"
            key = (ctx.request.root_path, endpoint, *[(k, v, v.__class__) for k, v in sorted(values.items())])
            return memo[key]
        except KeyError:
            pass
        except TypeError:  # an argument that cannot be a key (a list): build it each time
            return build(endpoint, **values)
        url = build(endpoint, **values)
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        memo[key] = url
        return url

    app.jinja_env.globals["url_for"] = url_for
