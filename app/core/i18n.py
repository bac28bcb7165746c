"""Small helpers for Flask-Babel: the source language (msgid) is Chinese, English is a translation."""
from __future__ import annotations

from functools import lru_cache

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


@lru_cache(maxsize=8)
def _wtforms_catalogue(locale: str):
    from babel import support
    from wtforms.i18n import messages_path

    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class WtformsTranslations:
    """WTForms' own messages ("This field is required.") in the request's language, from a catalogue loaded once
    per process and language. Flask-WTF would otherwise read and parse the .mo file in every request that builds a
    form (it caches on the request only); it looks for `request.wtforms_translations` first."""

    def ugettext(self, string: str) -> str:
        return _wtforms_catalogue(str(get_locale())).ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalogue(str(get_locale())).ungettext(singular, plural, n)


WTFORMS_TRANSLATIONS = WtformsTranslations()


def _request_translations():
    """Flask-Babel's catalogue for this request's locale, looked up once per request rather than once per string:
    each lookup (domain, locale, cache key) cost ~35 µs, and a page has 20-60 translated strings."""
    from flask import g, has_app_context
    from flask_babel import get_translations

    if not has_app_context():
        return get_translations()
    locale = get_locale()  # Flask-Babel keeps it in g: the same object for the whole request
    cached = g.get("_jiefen_translations")
    if cached is None or cached[0] is not locale:
        cached = g._jiefen_translations = (locale, get_translations())
    return cached[1]


def install_template_gettext(app) -> None:
    """Jinja's _(), gettext, ngettext, pgettext and npgettext, as Flask-Babel installs them but with the catalogue
    looked up once per request (same strings, same newstyle formatting and escaping)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _request_translations().ugettext(s),
        ngettext=lambda s, p, n: _request_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _request_translations().unpgettext(c, s, p, n),
    )
