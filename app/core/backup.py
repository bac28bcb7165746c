"""`flask backup` and `flask restore`: one tar.gz holding the database dump, the stored files and a manifest.

The dump: SQLite through its online backup API (a consistent copy while the app runs); PostgreSQL through
`pg_dump --format=custom` when pg_dump is on PATH, inside a REPEATABLE READ transaction whose snapshot it
shares (so the manifest's row counts describe exactly the dumped data), else a logical dump through SQLAlchemy
(JSON lines, loaded back after `flask db upgrade` to the same revision). The manifest holds the row count of
every table, the SHA-256 of the dump and of every file under FILES_DIR, the heads of the audit hash chain and of
the PII reveal log's chain, the alembic revision and created_at. A restore checks the archive against the manifest
before it touches anything, refuses a database that holds rows (unless forced), then checks the result: counts,
file hashes, both chains, signed PDFs.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sqlite3

# pg_dump and pg_restore, run with argument lists (no shell)
import subprocess  # nosec B404
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from app.core.time import utcnow
from app.extensions import db

FORMAT = 1
MANIFEST = "manifest.json"
DUMPS = {"sqlite-backup": "database.sqlite3", "pg_dump-custom": "database.pgdump",
         "logical-jsonl": "database.jsonl"}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why (and names the file at fault)."""


@dataclass
class RestoreReport:
    """What a restore checked: the problems found (empty when everything matched) and what was counted."""

    problems: list[str] = field(default_factory=list)
    tables: int = 0
    rows: int = 0
    files: int = 0
    events: int = 0
    reveals: int = 0
    signed_pdfs: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- what the manifest says about a database --------------------------------------------------------
def table_counts(conn: sa.Connection) -> dict[str, int]:
    """Rows per table (every table in the database, alembic_version included)."""
    names = sorted(sa.inspect(conn).get_table_names())
    count = sa.select(sa.func.count())
    return {name: conn.execute(count.select_from(sa.table(name))).scalar_one() for name in names}


def audit_head(conn: sa.Connection) -> dict:
    """The head of the audit chain: how many case events, and a digest of every case chain's last hash."""
    rows = conn.execute(sa.text("SELECT case_id, seq, hash FROM case_events ORDER BY case_id, seq")).all()
    heads: dict[int, str] = {}
    for case_id, _seq, link in rows:
        heads[case_id] = link
    lines = "\n".join(f"{case_id}:{link}" for case_id, link in sorted(heads.items()))
    return {"events": len(rows), "chains": len(heads),
            "heads_sha256": hashlib.sha256(lines.encode()).hexdigest()}


def alembic_revision(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def reveal_head(conn: sa.Connection) -> dict | None:
    """The PII reveal log's chain: how many reveals and the newest one's hash (None before that chain existed)."""
    from app.privacy import reveal_chain

    return reveal_chain.head(conn)


def _describe(conn: sa.Connection) -> dict:
    return {"tables": table_counts(conn), "audit": audit_head(conn), "reveals": reveal_head(conn),
            "alembic_revision": alembic_revision(conn)}


# --- the database dump ------------------------------------------------------------------------------
def _pg_args(url: sa.URL) -> tuple[list[str], dict[str, str]]:
    """libpq arguments and environment (the password goes through PGPASSWORD, never the command line)."""
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432),
            "--username", url.username or "postgres", "--dbname", url.database or ""]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _dump_sqlite(engine: sa.Engine, target: Path) -> dict:
    source = sqlite3.connect(engine.url.database)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    copy_engine = sa.create_engine(f"sqlite:///{target}", poolclass=sa.pool.NullPool)
    try:
        with copy_engine.connect() as conn:
            return _describe(conn)
    finally:
        copy_engine.dispose()


def _dump_postgresql(engine: sa.Engine, target: Path, logical: bool) -> dict:
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            if logical:
                _dump_logical(conn, target)
            else:
                snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
                args, env = _pg_args(engine.url)
                _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                      "--file", str(target), *args], env)
            return _describe(conn)


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # nosec B603
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[:2000]}")


def _encode(value):
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    if hasattr(value, "name") and hasattr(value, "value"):  # an enum member: stored by name
        return value.name
    return value


def _decode(value):
    if isinstance(value, dict) and len(value) == 1:
        (tag, raw), = value.items()
        decoders = {"$dt": datetime.fromisoformat, "$d": date.fromisoformat, "$dec": Decimal,
                    "$b64": base64.b64decode}
        if tag in decoders:
            return decoders[tag](raw)
    return value


def _dump_logical(conn: sa.Connection, target: Path) -> None:
    """Every row of every table the models know, one JSON object a line, in foreign-key order."""
    with target.open("w", encoding="utf-8") as out:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings():
                record = {"table": table.name, "row": {key: _encode(value) for key, value in row.items()}}
                out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


# --- backup -----------------------------------------------------------------------------------------
def create_backup(output: Path, *, logical: bool = False) -> dict:
    """Write the archive to `output` (a .tar.gz) and return its manifest."""
    engine = db.engine
    files_dir = Path(current_app.config["FILES_DIR"])
    with tempfile.TemporaryDirectory(prefix="jiefen-backup-") as tmp:
        stage = Path(tmp)
        if logical or (engine.dialect.name == "postgresql" and not shutil.which("pg_dump")):
            kind = "logical-jsonl"
        else:
            kind = "sqlite-backup" if engine.dialect.name == "sqlite" else "pg_dump-custom"
        if kind == "sqlite-backup":
            facts = _dump_sqlite(engine, stage / DUMPS[kind])
        elif engine.dialect.name == "postgresql":
            facts = _dump_postgresql(engine, stage / DUMPS[kind], logical=kind == "logical-jsonl")
        else:
            with engine.connect() as conn, conn.begin():
                _dump_logical(conn, stage / DUMPS[kind])
                facts = _describe(conn)
        files = {}
        if files_dir.is_dir():
            for path in sorted(p for p in files_dir.rglob("*") if p.is_file()):
                files[path.relative_to(files_dir).as_posix()] = sha256_file(path)
        manifest = {"format": FORMAT, "created_at": utcnow().isoformat(timespec="seconds") + "Z",
                    "backend": engine.dialect.name, "alembic_revision": facts["alembic_revision"],
                    "database": {"kind": kind, "file": DUMPS[kind],
                                 "sha256": sha256_file(stage / DUMPS[kind])},
                    "tables": facts["tables"], "audit": facts["audit"], "reveals": facts["reveals"],
                    "files": files}
        (stage / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        output.parent.mkdir(parents=True, exist_ok=True)
        partial = output.with_name(output.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(stage / MANIFEST, arcname=MANIFEST)
            tar.add(stage / DUMPS[kind], arcname=DUMPS[kind])
            for rel in files:
                tar.add(files_dir / rel, arcname=f"files/{rel}")
        os.replace(partial, output)  # a crash mid-write never leaves a half archive under the real name
    return manifest


# --- restore ----------------------------------------------------------------------------------------
def _extract_plain(tar: tarfile.TarFile, into: Path) -> None:
    """Extract only directories and regular files, each inside `into`, with fresh permissions (no owner, mode or
    set-uid bits from the archive): stricter than tarfile's "data" filter, which Debian 12's Python 3.11.2 (the
    Makefile's interpreter) lacks. A link, device or path leading out of `into` fails the whole archive first."""
    root = into.resolve()
    members = tar.getmembers()
    for member in members:
        target = (root / member.name).resolve()
        if not (member.isfile() or member.isdir()):
            raise ValueError(f"{member.name}: not a regular file or directory")
        if Path(member.name).is_absolute() or ".." in Path(member.name).parts or not target.is_relative_to(root):
            raise ValueError(f"{member.name}: a path outside the archive's folder")
    for member in members:
        target = root / member.name
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with tar.extractfile(member) as source, target.open("xb") as out:
            shutil.copyfileobj(source, out)


def _unpack(archive: Path, into: Path) -> dict:
    """Extract safely (no links, no paths outside `into`) and check every member against the manifest."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            _extract_plain(tar, into)
        manifest = json.loads((into / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, tarfile.TarError, ValueError, KeyError) as exc:
        raise BackupError(f"{archive}: not a readable backup archive ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive}: unknown backup format {manifest.get('format')!r}")
    problems = []
    dump = manifest["database"]
    if sha256_file(into / dump["file"]) != dump["sha256"]:
        problems.append(f"{dump['file']}: SHA-256 does not match the manifest (the dump was altered)")
    for rel, digest in manifest["files"].items():
        path = into / "files" / rel
        if not path.is_file():
            problems.append(f"files/{rel}: missing from the archive")
        elif sha256_file(path) != digest:
            problems.append(f"files/{rel}: SHA-256 does not match the manifest (the file was altered)")
    if problems:
        raise BackupError("the archive does not match its manifest; nothing was restored:\n  "
                          + "\n  ".join(problems))
    return manifest


def database_rows() -> int:
    """Rows in the app's database, alembic_version aside (0: empty, safe to restore into)."""
    with db.engine.connect() as conn:
        return sum(n for name, n in table_counts(conn).items() if name != "alembic_version")


def _restore_sqlite(dump: Path) -> None:
    db.session.remove()
    db.engine.dispose()
    source = sqlite3.connect(dump)
    target = sqlite3.connect(db.engine.url.database)
    try:
        source.backup(target)  # replaces the whole target database, schema included
    finally:
        target.close()
        source.close()


def _restore_pg_dump(dump: Path) -> None:
    db.session.remove()
    db.engine.dispose()
    args, env = _pg_args(db.engine.url)
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", *args, str(dump)], env)


def _restore_logical(dump: Path, revision: str | None) -> None:
    from flask_migrate import upgrade

    db.session.remove()
    with db.engine.begin() as conn:  # forced over existing data: start from no tables at all
        db.metadata.drop_all(conn)
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(revision=revision or "head")
    tables = db.metadata.tables
    batches: dict[str, list[dict]] = {}
    with dump.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            batches.setdefault(record["table"], []).append({k: _decode(v) for k, v in record["row"].items()})
    with db.engine.begin() as conn:
        for table in db.metadata.sorted_tables:
            if batches.get(table.name):
                conn.execute(tables[table.name].insert(), batches[table.name])
        if conn.dialect.name == "postgresql":  # identities continue after the restored ids
            for table in db.metadata.sorted_tables:
                if "id" in table.c and table.c.id.autoincrement is not False and batches.get(table.name):
                    # Table names come from our own metadata, never from the archive.
                    setval = (f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                              f"(SELECT max(id) FROM {table.name}))")  # nosec B608
                    conn.execute(sa.text(setval))  # nosemgrep: sql-built-from-strings -- names from our metadata (above)


def restore_backup(archive: Path, *, force: bool = False) -> RestoreReport:
    """Restore the archive into the app's (empty) database and FILES_DIR, then verify the result."""
    files_dir = Path(current_app.config["FILES_DIR"])
    with tempfile.TemporaryDirectory(prefix="jiefen-restore-") as tmp:
        stage = Path(tmp)
        manifest = _unpack(archive, stage)
        if manifest["backend"] != db.engine.dialect.name:
            raise BackupError(f"the archive is a {manifest['backend']} backup; "
                              f"this database is {db.engine.dialect.name}")
        rows = database_rows()
        existing = [p for p in files_dir.rglob("*") if p.is_file()] if files_dir.is_dir() else []
        if (rows or existing) and not force:
            raise BackupError(f"the target is not empty ({rows} database rows, {len(existing)} files under "
                              f"{files_dir}): restore into an empty database and files folder, "
                              "or use --force")
        dump, kind = stage / manifest["database"]["file"], manifest["database"]["kind"]
        if kind == "sqlite-backup":
            _restore_sqlite(dump)
        elif kind == "pg_dump-custom":
            _restore_pg_dump(dump)
        else:
            _restore_logical(dump, manifest["alembic_revision"])
        for rel in manifest["files"]:
            target = files_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(stage / "files" / rel, target)
    return verify_restored(manifest)


# --- verification -----------------------------------------------------------------------------------
def verify_restored(manifest: dict) -> RestoreReport:
    """Compare the app's database and files with the manifest; check the audit chain, the PII reveal log's chain
    and every signed PDF."""
    from app.cases.operations import verify_chain
    from app.privacy import reveal_chain

    report = RestoreReport()
    db.session.remove()
    with db.engine.connect() as conn:
        facts = _describe(conn)
    for name, expected in manifest["tables"].items():
        found = facts["tables"].get(name)
        if found != expected:
            report.problems.append(f"table {name}: {found} rows, the manifest says {expected}")
    report.tables, report.rows = len(facts["tables"]), sum(facts["tables"].values())
    if facts["alembic_revision"] != manifest["alembic_revision"]:
        report.problems.append(f"alembic revision {facts['alembic_revision']}, the manifest says "
                               f"{manifest['alembic_revision']}")
    files_dir = Path(current_app.config["FILES_DIR"])
    for rel, digest in manifest["files"].items():
        path = files_dir / rel
        if not path.is_file() or sha256_file(path) != digest:
            report.problems.append(f"files/{rel}: missing or SHA-256 differs after the restore")
    report.files = len(manifest["files"])
    checked, broken = verify_chain()
    report.events = checked
    if broken:
        report.problems.append(f"audit chain broken: {broken}")
    if facts["audit"] != manifest["audit"]:
        report.problems.append(f"audit chain head {facts['audit']}, the manifest says {manifest['audit']}")
    if facts["reveals"] is not None:  # an archive of a revision before the reveal chain has none to check
        report.reveals, broken_reveal = reveal_chain.verify()
        if broken_reveal:
            report.problems.append(f"PII reveal log chain broken: {broken_reveal}")
    # Archives made before the manifest recorded it have no "reveals": nothing to compare the head with.
    if "reveals" in manifest and facts["reveals"] != manifest["reveals"]:
        report.problems.append(f"PII reveal log head {facts['reveals']}, the manifest says {manifest['reveals']}")
    _check_signed_pdfs(files_dir, report)
    db.session.remove()
    return report


def _check_signed_pdfs(files_dir: Path, report: RestoreReport) -> None:
    """Every stored document that is a signed PDF still validates (pyHanko, against our trust roots)."""
    from app.agreements.pki import trust_roots
    from app.agreements.verify import Verdict, check_signatures
    from app.documents.models import Document

    # The CA is not in the archive (instance/pki holds private keys: back it up apart, as a secret).
    hint = "" if trust_roots() else " (no trust roots: set AGREEMENT_TRUST_ROOTS or restore instance/pki)"
    for document in db.session.scalars(sa.select(Document).order_by(Document.id)):
        path = files_dir / document.sha256[:2] / document.sha256[2:]
        if not path.is_file():
            report.problems.append(f"document {document.id} ({document.kind}): "
                                   f"file {document.sha256} missing")
            continue
        data = path.read_bytes()
        if not data.startswith(b"%PDF") or b"/ByteRange" not in data:
            continue  # not a signed PDF
        verdict = Verdict(sha256=document.sha256)
        try:
            check_signatures(data, verdict)
        except Exception as exc:  # noqa: BLE001  an unreadable PDF is a finding, not a crash of the restore
            verdict.problem = f"{type(exc).__name__}: {exc}"
        report.signed_pdfs += 1
        if not verdict.signature_ok:
            why = f" ({verdict.problem})" if verdict.problem else ""
            report.problems.append(f"document {document.id} ({document.kind}): "
                                   f"the signature does not validate{why}{hint}")
