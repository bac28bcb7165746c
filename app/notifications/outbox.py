"""The outbox sender: delivers e-mail and SMS rows of outbox_messages, written in the same transaction as the
change that caused them (app.mediation.operations.queue), so a message exists if and only if its change
committed.

Delivery is at-least-once. A sender claims a batch with one statement (PostgreSQL: the ids picked with FOR
UPDATE SKIP LOCKED, so concurrent senders never wait for nor take each other's rows; SQLite: one UPDATE whose
WHERE clause re-checks the row is free, under SQLite's single writer), commits the claim, delivers each
message through its channel's backend, and commits `sent_at` right after each delivery. The claim is a lease:
a sender killed mid-batch leaves rows claimed until `claimed_until`, after which any sender takes them again.
A message is delivered twice only when a sender dies between a delivery and its commit (at most one message
per dead sender), or when a delivery outlasts the lease. A failed delivery is retried after an exponential
backoff, and given up after OUTBOX_MAX_ATTEMPTS. In-app messages are never sent: their sent_at is when the
user read them.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import click
import sqlalchemy as sa
from flask import current_app

from app.core.time import utcnow
from app.extensions import db
from app.mediation.models import OutboxMessage

DEFAULTS = {"OUTBOX_LEASE_SECONDS": 300, "OUTBOX_BATCH_SIZE": 50, "OUTBOX_BACKOFF_SECONDS": 30,
            "OUTBOX_BACKOFF_MAX_SECONDS": 3600, "OUTBOX_MAX_ATTEMPTS": 8}


def setting(name: str) -> int:
    return int(current_app.config.get(name, DEFAULTS[name]))


def sender_id() -> str:
    """Who holds a claim: host, process and a random part; a restarted process never owns old claims."""
    return f"{socket.gethostname()[:20]}:{os.getpid()}:{secrets.token_hex(4)}"


def _claimable(now: datetime):
    return sa.and_(OutboxMessage.sent_at.is_(None), OutboxMessage.gave_up_at.is_(None),
                   OutboxMessage.channel != "in_app",
                   sa.or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
                   sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))


def claim_batch(sender: str, limit: int | None = None, now: datetime | None = None) -> list[int]:
    """Claim up to `limit` due messages for `sender` (oldest first), commit the claim, return their ids."""
    now = now or utcnow()
    limit = limit or setting("OUTBOX_BATCH_SIZE")
    picked = sa.select(OutboxMessage.id).where(_claimable(now)).order_by(OutboxMessage.id).limit(limit)
    if db.engine.dialect.name == "postgresql":  # rows another sender is claiming are skipped, not waited for
        picked = picked.with_for_update(skip_locked=True)
    # Two statements, not UPDATE ... WHERE id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED): PostgreSQL may
    # run such a subquery again per row and, skipping the rows the UPDATE has just changed, claim far more
    # than n (seen here: 23 of 30). The UPDATE checks again that each row is free: on SQLite (no row locks)
    # another sender may have taken it.
    lease_end = now + timedelta(seconds=setting("OUTBOX_LEASE_SECONDS"))
    while True:
        candidates = list(db.session.scalars(picked))
        if not candidates:
            db.session.commit()
            return []
        claim = (sa.update(OutboxMessage)
                 .where(OutboxMessage.id.in_(candidates), _claimable(now))
                 .values(claimed_by=sender, claimed_until=lease_end, attempts=OutboxMessage.attempts + 1)
                 .returning(OutboxMessage.id)
                 .execution_options(synchronize_session=False))
        ids = sorted(db.session.scalars(claim).all())
        db.session.commit()
        if ids:  # else another sender took all of them between the two statements: look again
            return ids


def _backoff(attempts: int) -> timedelta:
    seconds = setting("OUTBOX_BACKOFF_SECONDS") * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, setting("OUTBOX_BACKOFF_MAX_SECONDS")))


def _finish(message_id: int, sender: str, **values) -> bool:
    """Update a message this sender still holds, and commit; False when its claim was lost (lease expired)."""
    done = db.session.execute(sa.update(OutboxMessage)
                              .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == sender)
                              .values(claimed_by=None, claimed_until=None, **values)
                              .execution_options(synchronize_session=False))
    db.session.commit()
    return bool(done.rowcount)


# --- channels ---------------------------------------------------------------------------------------
class Backend(Protocol):
    def send(self, message: OutboxMessage) -> None: ...


class ConsoleBackend:
    """Development backend: prints each message instead of sending it. Never touches the network."""

    def send(self, message: OutboxMessage) -> None:
        # A console is a log: the recipient is masked and numbers in the text are replaced (app/privacy).
        from app.privacy.logging_filter import masked_recipient, redact

        click.echo(f"--- {message.channel} to {masked_recipient(message.channel, message.to)} ---\n"
                   f"{redact(message.subject)}\n{redact(message.body)}\n")


class FileBackend:
    """Staging backend: appends each message as a JSON line to OUTBOX_FILE (<instance>/outbox.jsonl)."""

    def send(self, message: OutboxMessage) -> None:
        config = current_app.config
        path = config.get("OUTBOX_FILE") or Path(config["INSTANCE_DIR"]) / "outbox.jsonl"
        line = json.dumps({"id": message.id, "channel": message.channel, "to": message.to,
                           "subject": message.subject, "body": message.body, "attempt": message.attempts},
                          ensure_ascii=False)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


BACKENDS: dict[str, type] = {"console": ConsoleBackend, "file": FileBackend}


def backend_for(channel: str) -> Backend:
    """The backend of a channel: OUTBOX_<CHANNEL>_BACKEND (console by default)."""
    name = current_app.config.get(f"OUTBOX_{channel.upper()}_BACKEND", "console")
    return BACKENDS[name]()


# --- delivering ---------------------------------------------------------------------------------------
def deliver(message_id: int, sender: str, now: datetime | None = None) -> bool:
    """Deliver one claimed message through its channel's backend; True when sent. `now`: as in send_due."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.claimed_by != sender or message.sent_at is not None:
        return False
    if message.claimed_until is not None and message.claimed_until <= (now or utcnow()):
        return False  # our lease ran out: another sender may have it now
    try:
        backend_for(message.channel).send(message)
    except Exception as exc:  # noqa: BLE001  any failure of the channel: retried later, never lost
        db.session.rollback()
        current_app.logger.warning("outbox message %s not sent (attempt %s): %s", message_id,
                                   message.attempts, type(exc).__name__)
        now = now or utcnow()
        gave_up = now if message.attempts >= setting("OUTBOX_MAX_ATTEMPTS") else None
        _finish(message_id, sender, next_attempt_at=now + _backoff(message.attempts), gave_up_at=gave_up,
                last_error=f"{type(exc).__name__}: {exc}"[:300])
        return False
    return _finish(message_id, sender, sent_at=utcnow(), last_error=None)


@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0
    batches: int = 0


def send_due(sender: str | None = None, max_batches: int | None = None,
             now: datetime | None = None) -> SendResult:
    """Claim and deliver batches until nothing is due (or max_batches); one pass of `flask outbox send`.
    `now` is the clock claims are judged by (default: the real one)."""
    sender = sender or sender_id()
    result = SendResult()
    while max_batches is None or result.batches < max_batches:
        ids = claim_batch(sender, now=now)
        if not ids:
            break
        result.batches += 1
        for message_id in ids:
            if deliver(message_id, sender, now):
                result.sent += 1
            else:
                result.failed += 1
    return result


def run_forever(interval: float = 5.0, on_pass=None) -> None:
    """The sender loop: a pass, then a sleep of `interval` seconds when nothing was due, until stopped."""
    sender = sender_id()
    while True:
        result = send_due(sender)
        if on_pass:
            on_pass(result)
        db.session.remove()
        if not result.batches:
            time.sleep(interval)
