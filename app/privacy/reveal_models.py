"""One row per time a staff member (or a court's system, through the court API) had a party's full phone or ID number
shown: who, why, when, from where."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.api.models import ApiToken
from app.core.time import utcnow
from app.extensions import db

API_ROLE = "api"  # the role of a reveal made through the court API (a token, no user)

# What a row's hash covers: every column the row is written with, except its id (the chain's order is the ids'
# order, and the links themselves say which row came before: a renumbered or reordered row breaks a link).
HASHED = ("user_id", "role", "case_id", "party_id", "organisation_id", "field", "reason_code", "reason_text", "ip",
          "created_at")
# Columns added after the chain began: in the payload only when set. Every row written before they existed (and every
# row since that leaves them NULL) hashes exactly as it did, so no stored hash is ever recomputed; a row that has one
# set is covered by it, and setting or clearing it on any row changes the payload, so the chain names that row.
HASHED_IF_SET = ("api_token_id",)


def hashed_payload(row) -> dict[str, Any]:
    """What a row's hash covers: HASHED, plus the HASHED_IF_SET columns that are not NULL (row: a model or a Row)."""
    out = {name: getattr(row, name) for name in HASHED}
    out.update({name: getattr(row, name) for name in HASHED_IF_SET if getattr(row, name) is not None})
    return out


class PiiReveal(db.Model):
    """Append-only and tamper-evident: one hash chain over the whole table, in id order (a security log, OWASP ASVS
    V16; PIPL: access to personal data is auditable). `hash` = sha256(`prev_hash` || canonical JSON of hashed_payload),
    the first row's `prev_hash` is GENESIS (app/core/audit.py); rows are appended by app.privacy.reveal_chain,
    which serialises writers, and database triggers (reveal_triggers.py) refuse UPDATE and DELETE.

    case_id and party_id are plain integers, deliberately without a foreign key: the row must keep saying which
    case's and which party's number was seen for as long as the log is kept, even once the case or the party is
    gone. With ON DELETE SET NULL (as before) a deleted party would have rewritten the audit row, breaking its
    hash, or, with the hash leaving the ids out, a DBA could have re-pointed a reveal at another case unseen. The
    retention purge never touches this table (it anonymises parties in place and deletes no case or party), so
    everything the row holds is hashed and nothing is ever updated. Should retention one day have to clear
    reason_text or ip here, hash a digest of those columns instead and let the purge blank the text.

    Who saw the number is a user (user_id, their role) or, for a PDF downloaded through the court API, the court's
    bearer token (api_token_id, role "api"; the token names its court): exactly one of the two is set. A token is
    never deleted (revoked only), so the row keeps naming it.
    """

    __tablename__ = "pii_reveals"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    api_token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_tokens.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(20))  # the revealer's role at the time; API_ROLE for a token
    case_id: Mapped[int | None] = mapped_column(index=True)  # no foreign key: see the class's doc
    party_id: Mapped[int | None]
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    field: Mapped[str] = mapped_column(sa.String(20))
    reason_code: Mapped[str] = mapped_column(sa.String(30))
    reason_text: Mapped[str] = mapped_column(sa.String(500))
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Unique: two rows chained to the same predecessor (a fork) cannot both be stored, whatever the writers did.
    prev_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    hash: Mapped[str] = mapped_column(sa.String(64))

    user: Mapped[User | None] = relationship()
    api_token: Mapped[ApiToken | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("field IN ('phone', 'id_number')", name="field"),
        sa.CheckConstraint("(user_id IS NULL) <> (api_token_id IS NULL)", name="revealer"),
    )

    def payload(self) -> dict[str, Any]:
        """The hashed content (see hashed_payload)."""
        return hashed_payload(self)
