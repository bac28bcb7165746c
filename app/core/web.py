"""Request hooks shared by every page: security headers, template helpers."""
from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

from flask import Flask, request

from app.core.time import CHINA_TZ


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A naive UTC datetime from the database, shown in Beijing time."""
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(CHINA_TZ).strftime(fmt)


CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
# The mediation room needs the camera and microphone of this site's own pages; nothing else needs any device.
PERMISSIONS_POLICY = "camera=(self), microphone=(self), geolocation=(), payment=(), usb=()"
# Set on every response unless the view set its own: (name in lower case, name, value), in this order.
SECURITY_HEADERS = tuple((name.lower(), name, value) for name, value in (
    ("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"), ("Permissions-Policy", PERMISSIONS_POLICY),
    ("Cross-Origin-Opener-Policy", "same-origin")))


def register_request_hooks(app: Flask) -> None:
    from app.core import request_id
    from app.core.i18n import WTFORMS_TRANSLATIONS

    request_id.install(app)

    @app.before_request
    def wtforms_translations():
        request.wtforms_translations = WTFORMS_TRANSLATIONS  # Flask-WTF reads it instead of loading its .mo file

    @app.after_request
    def security_headers(response):
        headers = response.headers
        # headers.setdefault() for each, with the names already set read once (each setdefault scanned them twice)
        present = {key.lower() for key in headers.keys()}
        for lower, key, value in SECURITY_HEADERS:
            if lower not in present:
                headers.add(key, value)
        # Every page and download may carry personal data (a case, a question asked at /consult, a CSRF token,
        # a PDF, an export): no cache keeps any of them. Only the static assets may be cached.
        if not request.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
            headers.pop("Expires", None)
        if app.config.get("HSTS"):
            headers.setdefault("Strict-Transport-Security", app.config["HSTS"])
        return response

    app.add_template_filter(localtime, "localtime")
    from app.core.fields import render_field

    app.jinja_env.globals["render_field"] = render_field  # templates/macros.html's `field`

    @app.context_processor
    def helpers():
        from flask_babel import get_locale

        return {"current_locale": get_locale()}


def safe_local_path(target: str | None) -> str | None:
    """target when it is a path on this site; None for anything that could lead off-site.

    Browsers forgive a lot: they drop tabs and newlines inside a URL and read a backslash as a slash, and some
    proxies decode %2F and %5C, so each of those could turn a path into another host. The target is checked as
    given and once percent-decoded, and must be a plain absolute path either way."""
    if not target:
        return None
    return target if _plain_local(target) and _plain_local(unquote(target)) else None


def _plain_local(target: str) -> bool:
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//")
