"""Request hooks shared by every page: security headers, template helpers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from flask import Flask, request

# China Standard Time has no daylight saving: a fixed offset needs no tz database.
CHINA_TZ = timezone(timedelta(hours=8), "CST")


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A naive UTC datetime from the database, shown in Beijing time."""
    if value is None:
        return ""
    return value.replace(tzinfo=timezone.utc).astimezone(CHINA_TZ).strftime(fmt)


CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def register_request_hooks(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith(("/cases/", "/my/", "/org/", "/court/", "/arbitration/", "/mediator/", "/admin/")):
            response.headers["Cache-Control"] = "no-store"
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response

    app.add_template_filter(localtime, "localtime")

    @app.context_processor
    def helpers():
        from flask_babel import get_locale

        return {"current_locale": get_locale()}


def safe_local_path(target: str | None) -> str | None:
    """target when it is a path on this site; None for anything that could lead off-site."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
