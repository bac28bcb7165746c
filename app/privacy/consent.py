"""Versioned consent to the personal-information rules: the registry of texts (data under app/privacy/texts/,
or CONSENT_TEXTS_DIR), recording, withdrawal, and the check made before a case is filed. Never commits."""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
import yaml
from flask import current_app

from app.accounts.models import User, UserSession
from app.accounts.operations import forget_session_extra, register_session_extra, session_extra
from app.core.time import utcnow
from app.extensions import db
from app.privacy.consent_models import CONSENT_METHODS, ConsentRecord

DEFAULT_TEXTS_DIR = Path(__file__).resolve().parent / "texts"
LANGUAGES = ("zh", "en")
SESSION_CONSENT = "consent_purposes"
_NOT_LOADED = object()


@dataclass(frozen=True)
class Purpose:
    key: str
    zh: str
    en: str

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class ConsentText:
    """One version of the rules in every language, with the purposes that each need a tick."""

    version: str
    effective: str
    purposes: tuple[Purpose, ...]
    texts: dict  # language -> markdown source

    def text(self, lang: str) -> str:
        return self.texts.get(lang) or self.texts["zh"]

    def sha256(self, lang: str) -> str:
        return hashlib.sha256(self.text(lang).encode("utf-8")).hexdigest()

    @property
    def purpose_keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.purposes)


@dataclass(frozen=True)
class Registry:
    current: str
    versions: dict  # version -> ConsentText


RECHECK_SECONDS = 2.0  # how soon a published version (a changed registry.yaml) is seen by a running worker
_checked: dict[str, tuple[float, Registry]] = {}  # folder -> (when registry.yaml's mtime was last read, registry)


def registry() -> Registry:
    """The registry of the running app (read once per directory and change of registry.yaml; the file's mtime is
    looked at no more than every RECHECK_SECONDS: every logged-in request asks, twice)."""
    folder = current_app.config.get("CONSENT_TEXTS_DIR") or DEFAULT_TEXTS_DIR
    now = time.monotonic()
    checked = _checked.get(folder)
    if checked is not None and now - checked[0] < RECHECK_SECONDS:
        return checked[1]
    path = Path(folder)
    found = _load(str(path), (path / "registry.yaml").stat().st_mtime_ns)
    _checked[folder] = (now, found)
    return found


@lru_cache(maxsize=8)
def _load(folder: str, _mtime: int) -> Registry:
    base = Path(folder)
    data = yaml.safe_load((base / "registry.yaml").read_text(encoding="utf-8"))
    versions = {}
    for version, spec in data["versions"].items():
        texts = {lang: (base / f"{spec['files']}.{lang}.md").read_text(encoding="utf-8") for lang in LANGUAGES}
        purposes = tuple(Purpose(p["key"], p["zh"], p["en"]) for p in spec["purposes"])
        versions[str(version)] = ConsentText(str(version), str(spec.get("effective", "")), purposes, texts)
    current = str(data["current"])
    if current not in versions:
        raise ValueError(f"{base}/registry.yaml: current version {current!r} is not listed")
    return Registry(current, versions)


def current_text() -> ConsentText:
    reg = registry()
    return reg.versions[reg.current]


# --- records -------------------------------------------------------------------------------------------------
def active_consent(user: User) -> ConsentRecord | None:
    """The user's own consent to the current version, with every purpose, not withdrawn (or None)."""
    text = current_text()
    rows = db.session.scalars(sa.select(ConsentRecord).where(
        ConsentRecord.user_id == user.id, ConsentRecord.version == text.version,
        ConsentRecord.withdrawn_at.is_(None)).order_by(ConsentRecord.id.desc()))
    for row in rows:
        if set(text.purpose_keys) <= set(row.purposes or []):
            return row
    return None


def _purposes_of_session_user() -> sa.ScalarSelect:
    """For the session lookup (accounts.SESSION_EXTRAS): the purposes of the logged-in user's newest standing
    consent to the current version, NULL when there is none."""
    return (sa.select(ConsentRecord.purposes)
            .where(ConsentRecord.user_id == UserSession.user_id,
                   ConsentRecord.version == sa.bindparam("consent_version", type_=sa.String),
                   ConsentRecord.withdrawn_at.is_(None))
            .order_by(ConsentRecord.id.desc()).limit(1).scalar_subquery())


register_session_extra(SESSION_CONSENT, _purposes_of_session_user,
                       lambda: {"consent_version": current_text().version})


def has_current_consent(user: User) -> bool:
    """Filing is allowed: the session lookup answers this for the logged-in user (no query) unless its newest
    consent lacks a purpose, when every standing consent is checked."""
    loaded = session_extra(user, SESSION_CONSENT, _NOT_LOADED)
    if loaded is None:
        return False
    if loaded is not _NOT_LOADED and set(current_text().purpose_keys) <= set(loaded):
        return True
    return active_consent(user) is not None


def record_consent(user: User | None, purposes: list[str] | None = None, *, version: str | None = None,
                   lang: str = "zh", ip: str | None = None, method: str = "online", recorded_by: User | None = None,
                   case_id: int | None = None, subject_name: str | None = None) -> ConsentRecord:
    """Record one consent (default: the current version, every purpose). Seeders and benches call this too."""
    reg = registry()
    text = reg.versions[version or reg.current]
    chosen = list(text.purpose_keys if purposes is None else purposes)
    unknown = set(chosen) - set(text.purpose_keys)
    if unknown or method not in CONSENT_METHODS:
        raise ValueError(f"unknown purposes {sorted(unknown)} or method {method!r}")
    row = ConsentRecord(user_id=user.id if user else None, case_id=case_id, subject_name=subject_name,
                        version=text.version, text_sha256=text.sha256(lang), purposes=chosen, method=method,
                        recorded_by_id=recorded_by.id if recorded_by else None, ip=ip, accepted_at=utcnow())
    db.session.add(row)
    db.session.flush()
    forget_session_extra(user, SESSION_CONSENT)
    return row


def history(user: User) -> list[ConsentRecord]:
    """Every consent of this user (their own, and those a grid worker recorded for them), newest first."""
    return list(db.session.scalars(sa.select(ConsentRecord).where(ConsentRecord.user_id == user.id)
                                   .order_by(ConsentRecord.accepted_at.desc(), ConsentRecord.id.desc())))


def withdraw(user: User, record_id: int) -> ConsentRecord | None:
    """Withdraw one of the user's consents (idempotent); None when it is not theirs."""
    row = db.session.get(ConsentRecord, record_id)
    if row is None or row.user_id != user.id:
        return None
    if row.withdrawn_at is None:
        row.withdrawn_at = utcnow()
        db.session.flush()
        forget_session_extra(user, SESSION_CONSENT)
    return row


def blocks(markdown: str) -> list[tuple[str, object]]:
    """The few Markdown forms the texts use (# and ## headings, - lists, paragraphs) as (kind, content) blocks for
    a template to show, escaped like any other text."""
    out: list[tuple[str, object]] = []
    for chunk in markdown.strip().split("\n\n"):
        lines = [ln.strip() for ln in chunk.strip().splitlines() if ln.strip()]
        while lines and lines[0].startswith("#"):
            level, _, heading = lines.pop(0).partition(" ")
            out.append(("h1" if level == "#" else "h2", heading))
        if not lines:
            continue
        if all(ln.startswith("- ") for ln in lines):
            out.append(("ul", [ln[2:] for ln in lines]))
        else:
            out.append(("p", " ".join(lines)))
    return out
