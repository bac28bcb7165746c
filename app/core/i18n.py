"""Small helpers for Flask-Babel: the source language (msgid) is Chinese, English is a translation."""
from __future__ import annotations

from flask_babel import get_locale


def N_(message: str) -> str:
    """Mark a constant for extraction (pybabel's default keywords include N_) without translating it.

    Translate it where it is shown, with gettext(CONSTANT)."""
    return message


def is_english() -> bool:
    """True when the current request's language is English (False outside a request)."""
    try:
        locale = get_locale()
    except Exception:  # noqa: BLE001 (outside an app or request context)
        return False
    return locale is not None and locale.language == "en"


def localized(messages: dict, key: str, default: str | None = None) -> str | None:
    """messages[key + '_en'] in English when there is one, else messages[key + '_zh'], else default.

    Rule files (mediation_rules/*.yaml) carry their messages as `<name>_zh` with an optional `<name>_en`."""
    if is_english() and messages.get(f"{key}_en"):
        return messages[f"{key}_en"]
    return messages.get(f"{key}_zh", default)
