"""`flask pii keys` (which key encrypts how many values) and `flask pii reencrypt` (after a rotation: every value
under the current key, blind indexes recomputed, so that old keys can be retired)."""
from __future__ import annotations

from collections import Counter

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from app.core.crypto import blind_index_or_none, decrypt, encrypt, key_id_of, keyring
from app.extensions import db

# (table, column, blind-index kind or None); the purpose is "table.column".
ENCRYPTED_COLUMNS = (
    ("users", "phone", "phone"),
    ("phone_verifications", "phone", "phone"),
    ("case_parties", "phone", "phone"),
    ("case_parties", "id_number", "id_number"),
    ("outbox_messages", "to", None),
)
BATCH = 1000


@click.group("pii")
def pii_cli() -> None:
    """Personal data at rest: data keys and re-encryption."""


def _table(name: str, column: str, kind: str | None) -> sa.TableClause:
    extra = [sa.column(f"{column}_bidx", sa.String)] if kind else []
    return sa.table(name, sa.column("id", sa.Integer), sa.column(column, sa.String), *extra)


def _tokens(name: str, column: str, kind: str | None):
    """(id, token) of every encrypted value of the column, in id order, a batch at a time."""
    t = _table(name, column, kind)
    last = 0
    while True:
        rows = db.session.execute(sa.select(t.c.id, t.c[column]).where(t.c.id > last, t.c[column].like("v1.%"))
                                  .order_by(t.c.id).limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1][0]
        yield from rows


@pii_cli.command("keys")
@with_appcontext
def keys_command() -> None:
    """How many values each data key encrypts, per column."""
    ring = keyring()
    click.echo(f"current key: {ring.current_kid}; blind index key: {ring.blind_index_kid}")
    for name, column, kind in ENCRYPTED_COLUMNS:
        counts = Counter(key_id_of(token) for _, token in _tokens(name, column, kind))
        click.echo(f"{name}.{column}: " + (", ".join(f"{k}={n}" for k, n in sorted(counts.items())) or "none"))


@pii_cli.command("reencrypt")
@click.option("--reindex", is_flag=True, help="Recompute every blind index too (after changing its key).")
@with_appcontext
def reencrypt_command(reindex: bool) -> None:
    """Re-encrypt values under older keys with the current key (one commit per batch; safe to run again)."""
    ring = keyring()
    for name, column, kind in ENCRYPTED_COLUMNS:
        t, purpose, done = _table(name, column, kind), f"{name}.{column}", 0
        for row_id, token in _tokens(name, column, kind):  # keyset pages: rewriting earlier rows is safe
            if key_id_of(token) == ring.current_kid and not (reindex and kind):
                continue
            plain = decrypt(token, purpose, ring)
            values = {column: encrypt(plain, purpose, ring)}
            if kind:
                values[f"{column}_bidx"] = blind_index_or_none(kind, plain)
            db.session.execute(t.update().where(t.c.id == row_id).values(**values))
            done += 1
            if done % BATCH == 0:
                db.session.commit()
        db.session.commit()
        click.echo(f"{name}.{column}: {done} value(s) rewritten with key {ring.current_kid}")
