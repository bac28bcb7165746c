"""Versioned edits of rule files in mediation_rules/: each saved text is a new row, never an update.

The newest version of a file is the one in force; with no version saved, the file shipped in the
repository is. Every worker process reads the newest version id (one indexed query) and rebuilds its
cached rules only when it changed, so an edit reaches all gunicorn workers without a restart."""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.time import utcnow
from app.extensions import db


class RuleVersion(db.Model):
    __tablename__ = "rule_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(80), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def latest_version(filename: str) -> RuleVersion | None:
    """The version in force, or None when the shipped file is."""
    return db.session.scalars(sa.select(RuleVersion).where(RuleVersion.filename == filename)
                              .order_by(RuleVersion.id.desc()).limit(1)).first()


def latest_version_id(filename: str) -> int | None:
    """The id of the version in force (None: the shipped file): the per-request check, without the text."""
    return db.session.scalar(sa.select(sa.func.max(RuleVersion.id)).where(RuleVersion.filename == filename))


def version_text(version_id: int) -> str:
    """The text of one saved version."""
    return db.session.scalar(sa.select(RuleVersion.text).where(RuleVersion.id == version_id))


def active_text(filename: str, rules_dir: Path) -> tuple[str, str]:
    """(text in force, its version key: 'v<id>' or 'file')."""
    version = latest_version(filename)
    if version is not None:
        return version.text, f"v{version.id}"
    return (Path(rules_dir) / filename).read_text(encoding="utf-8"), "file"


def save_version(filename: str, text: str, author_id: int | None, note: str) -> RuleVersion:
    """Append a new version (the caller has validated the text)."""
    version = RuleVersion(filename=filename, text=text, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                          author_id=author_id, note=note)
    db.session.add(version)
    db.session.flush()
    return version


def history(filename: str, limit: int = 20) -> list[RuleVersion]:
    """The newest versions of a file, newest first."""
    return db.session.scalars(sa.select(RuleVersion).where(RuleVersion.filename == filename)
                              .order_by(RuleVersion.id.desc()).limit(limit)).all()
