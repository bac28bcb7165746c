"""Small helpers for Flask-Babel: the source language (msgid) is Chinese, English is a translation."""
from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache

from flask.globals import _cv_request
from flask_babel import get_locale
from flask_babel.speaklater import LazyString
from jinja2 import pass_eval_context
from markupsafe import Markup


def N_(message: str) -> str:
    """Mark a constant for extraction (pybabel's default keywords include N_) without translating it.

    Translate it where it is shown, with gettext(CONSTANT)."""
    return message


def request_locale():
    """Flask-Babel's get_locale(), found once per request (see _per_request); None outside an app."""
    if _cv_request.get(None) is None:
        try:
            return get_locale()
        except Exception:  # noqa: BLE001 (outside an app or request context)
            return None
    return _per_request(_locale, get_locale)


def is_english() -> bool:
    """True when the current request's language is English (False outside a request)."""
    locale = request_locale()
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
        return _wtforms_catalogue(str(request_locale())).ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalogue(str(request_locale())).ungettext(singular, plural, n)


WTFORMS_TRANSLATIONS = WtformsTranslations()


# (the request context it was looked up in, the catalogue). Flask keeps the request context in a ContextVar too, so
# comparing the two costs two ContextVar reads: no LocalProxy, no g, no Flask-Babel context per string.
_catalogue: ContextVar[tuple | None] = ContextVar("jiefen_catalogue", default=None)
_locale: ContextVar[tuple | None] = ContextVar("jiefen_locale", default=None)


def _per_request(slot: ContextVar, look_up):
    """look_up() once per request: `slot` holds (the request context it was found in, the value)."""
    request_ctx = _cv_request.get(None)
    cached = slot.get()
    if cached is None or cached[0] is not request_ctx:
        cached = (request_ctx, look_up())
        slot.set(cached)
    return cached[1]


def _request_translations():
    """Flask-Babel's catalogue for this request's locale, looked up once per request rather than once per string:
    Flask-Babel's own lookup (domain, context, locale, cache key) costs ~10-35 µs, and a page has 20-60 translated
    strings. Outside a request (CLI, jobs) Flask-Babel decides, as before."""
    from flask_babel import get_translations

    if _cv_request.get(None) is None:
        return get_translations()
    return _per_request(_catalogue, get_translations)


def gettext(string: str, **variables) -> str:
    """flask_babel.gettext (same catalogue, same %-formatting), with the catalogue found once per request."""
    translated = _request_translations().ugettext(string)
    return translated if not variables else translated % variables


def lazy_gettext(string: str, **variables) -> LazyString:
    """flask_babel.lazy_gettext, translated by the gettext above when shown (form labels, messages)."""
    return LazyString(gettext, string, **variables)


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    """flask_babel.ngettext, likewise (num is available to the format as %(num)s)."""
    variables.setdefault("num", num)
    return _request_translations().ungettext(singular, plural, num) % variables


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
    # _() and gettext() are most of a page's calls into Python: Jinja's newstyle versions go through the context
    # twice per string (the `_` alias resolves `gettext`, which calls the function above). This one does the same
    # in one step: the translation marked safe where the template autoescapes (translations are ours, not user
    # input), then always %-formatted, which escapes each variable.
    app.jinja_env.globals["_"] = app.jinja_env.globals["gettext"] = _template_gettext


@pass_eval_context
def _template_gettext(eval_ctx, string: str, **variables):
    translated = _request_translations().ugettext(string)
    if eval_ctx.autoescape:
        # nosemgrep: markup-from-non-literal -- our own catalogue's text, never user input
        translated = Markup(translated)  # nosec B704
    if not variables and "%" not in translated:
        return translated  # what the formatting below would return, without building its escaping helper
    return translated % variables
