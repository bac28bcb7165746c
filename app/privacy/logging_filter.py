"""No personal data in logs: ID numbers (18 and 15 digits), mainland mobile numbers, unified social credit codes and
the free text of `q=` in URLs are replaced in every log record, whichever logger made it (the app, werkzeug's access
log, gunicorn's, SQLAlchemy, libraries). Installed process-wide as the log record factory by create_app(), so it
holds for records of loggers with handlers of their own (gunicorn.access) too; gunicorn can also be given
GunicornLogger (--logger-class) so that its handlers filter even records made before the app is loaded."""
from __future__ import annotations

import logging
import re

# A separator people or URLs put between digit groups: a space, a dash, a dot, an encoded space or dash.
_SEP = r"(?:[ \t.\-]|%20|%2[dD]|\+)?"
_DIGIT_GROUP = "".join(rf"{_SEP}\d" for _ in range(8))
PATTERNS = (
    # 18-digit resident ID (last character may be X), optionally grouped 6-8-4.
    ("[身份证号]", re.compile(rf"(?<![0-9A-Za-z])\d{{6}}{_SEP}\d{{8}}{_SEP}\d{{3}}[\dXx](?![0-9A-Za-z])")),
    # Unified social credit code (统一社会信用代码) of an organisation: 18 characters, no I, O, S, V or Z.
    ("[信用代码]", re.compile(r"(?<![0-9A-Za-z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{9}[0-9A-HJ-NPQRTUWXY]"
                          r"(?![0-9A-Za-z])")),
    # Mainland mobile number, with or without +86, in any grouping.
    # Letters or digits around it make it part of something else (a hash, a token): left alone.
    ("[手机号]", re.compile(rf"(?<![0-9A-Za-z])(?:(?:\+|%2[bB])?86{_SEP})?1[3-9]\d{_DIGIT_GROUP}(?![0-9A-Za-z])")),
    # 15-digit resident ID (issued before 1999).
    ("[身份证号]", re.compile(r"(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])")),
    # Free text searched for in a URL (staff case search, an old /consult?q= link): names, places, quarrels.
    ("[已隐去]", re.compile(r"(?<=[?&]q=)[^&\s\"'#]+")),
)


def redact(text: str) -> str:
    """text with every ID-number-, mobile- and credit-code-like string replaced by a label."""
    for label, pattern in PATTERNS:
        text = pattern.sub(label, text)
    return text


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Format the message (args included) and any traceback now, redacted; the record then carries no args."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 (a bad format string: log what there is rather than lose the record)
        message = f"{record.msg!r} {record.args!r}"
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class PersonalDataFilter(logging.Filter):
    """A handler or logger filter doing the same (for handlers configured outside create_app)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_installed = False


def install() -> None:
    """Make every log record of this process redacted at creation (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True


try:  # gunicorn is a production dependency; the class is only defined where it is installed
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = None

if _GunicornLogger is not None:
    class GunicornLogger(_GunicornLogger):
        """gunicorn --logger-class app.privacy.logging_filter.GunicornLogger: its error and access logs redacted."""

        def setup(self, cfg) -> None:
            super().setup(cfg)
            install()
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.addFilter(PersonalDataFilter())


def masked_recipient(channel: str, to: str | None) -> str:
    """An outbox recipient as a console or log may show it: 139****1234, w***@example.com, a user id as is."""
    to = to or ""
    if channel == "email" and "@" in to:
        local, _, domain = to.partition("@")
        return f"{local[:1]}***@{domain}"
    if channel == "sms":
        digits = re.sub(r"\D", "", to)
        return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"
    return to
