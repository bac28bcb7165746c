"""The retention job: personal data of cases that ended more than N days ago is removed, the case skeleton stays
for statistics, and a `personal_data_purged` event extends the hash chain. Of the old events only the reasons
change: cleared with their salts where the chain covers their digest, so every link still verifies.
Never commits: the CLI commits each batch."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.core.storage import FileStorage
from app.core.time import utcnow
from app.extensions import db
from app.privacy.consent_models import PersonalDataPurge, PurgedFile
from app.privacy.retention_rules import (
    CLEAR,
    ENDED_STATES,
    FROZEN_TABLES,
    PARTY_FIELDS,
    PARTY_LABELS,
    PURGED,
    Clear,
)

log = logging.getLogger(__name__)


@dataclass
class PurgeReport:
    cases: int = 0
    counts: dict = field(default_factory=dict)  # table (or files) -> rows touched

    def add(self, counts: dict) -> None:
        self.cases += 1
        for key, n in counts.items():
            self.counts[key] = self.counts.get(key, 0) + n


def _tables():
    return db.metadata.tables


def ended_at_expression():
    """When a case's dispute ended: closed_at, or the time of its last event for the other end states."""
    cases, events = _tables()["cases"], _tables()["case_events"]
    last_event = sa.select(sa.func.max(events.c.created_at)).where(events.c.case_id == cases.c.id).scalar_subquery()
    return sa.func.coalesce(cases.c.closed_at, last_event)


def due_case_ids(days: int, now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Ids of cases that ended more than `days` days ago and still hold personal data, oldest id first."""
    cases, purges = _tables()["cases"], _tables()["personal_data_purges"]
    cutoff = (now or utcnow()) - timedelta(days=days)
    ended = sa.or_(*[sa.and_(cases.c.stage == stage, *([cases.c.status == status] if status else []))
                     for stage, status in ENDED_STATES])
    query = (sa.select(cases.c.id).where(ended, ended_at_expression() < cutoff,
                                         ~sa.exists().where(purges.c.case_id == cases.c.id))
             .order_by(cases.c.id).limit(limit))
    return list(db.session.scalars(query))


def _rows_of(rule: Clear, case_id: int):
    table = _tables()[rule.table]
    if rule.via is None:
        return table, table.c.case_id == case_id
    parent = _tables()[rule.via[0]]
    return table, table.c[rule.via[1]].in_(sa.select(parent.c.id).where(parent.c.case_id == case_id))


def _files_of(case_id: int) -> list[tuple[str, int, str, str]]:
    """(kind, row id, sha256, storage key) of the case's stored files not yet purged."""
    t = _tables()
    purged = sa.select(t["purged_files"].c.row_id).where(t["purged_files"].c.case_id == case_id)
    ev, docs = t["evidence_files"], t["documents"]
    evidence = db.session.execute(sa.select(ev.c.id, ev.c.sha256, ev.c.storage_key).where(
        ev.c.case_id == case_id, ev.c.id.not_in(purged.where(t["purged_files"].c.kind == "evidence"))))
    documents = db.session.execute(sa.select(docs.c.id, docs.c.sha256).where(
        docs.c.case_id == case_id, docs.c.id.not_in(purged.where(t["purged_files"].c.kind == "document"))))
    return ([("evidence", i, sha, key or sha) for i, sha, key in evidence]
            + [("document", i, sha, sha) for i, sha in documents])


def _shared_elsewhere(key: str, case_id: int) -> bool:
    """Content-addressed files may be shared: keep the bytes while a case not being purged still uses them."""
    t = _tables()
    ev, docs, purges = t["evidence_files"], t["documents"], t["personal_data_purges"]
    live = ~sa.exists().where(purges.c.case_id == ev.c.case_id)
    in_evidence = sa.select(ev.c.id).where(sa.or_(ev.c.storage_key == key, ev.c.sha256 == key),
                                           ev.c.case_id != case_id, live)
    live_doc = ~sa.exists().where(purges.c.case_id == docs.c.case_id)
    in_documents = sa.select(docs.c.id).where(docs.c.sha256 == key, docs.c.case_id != case_id, live_doc)
    return db.session.execute(sa.select(sa.exists(in_evidence) | sa.exists(in_documents))).scalar()


def count_case(case_id: int) -> dict:
    """What a purge of this case would touch (rows per table, files), without changing anything."""
    parties = _tables()["case_parties"]
    counts = {"case_parties": db.session.scalar(sa.select(sa.func.count()).where(parties.c.case_id == case_id))}
    for rule in CLEAR:
        table, where = _rows_of(rule, case_id)
        n = db.session.scalar(sa.select(sa.func.count()).select_from(table).where(where))
        if n:
            counts[rule.table] = n
    reasons = db.session.scalar(sa.select(sa.func.count()).where(*_purgeable_reasons(case_id)))
    if reasons:
        counts["case_event_reasons"] = reasons
    counts["files"] = len(_files_of(case_id))
    return counts


def _purgeable_reasons(case_id: int) -> tuple:
    """The case's event reasons that the chain covers by digest only (app/cases/models.py): clearing them, and
    their salts, leaves the chain verifying. Reasons recorded before the digest existed are in the chain itself."""
    from app.cases.models import CaseEvent

    return (CaseEvent.case_id == case_id, CaseEvent.reason_digest.is_not(None),
            sa.or_(CaseEvent.reason.is_not(None), CaseEvent.reason_salt.is_not(None)))


def purge_case(case_id: int, days: int, files: FileStorage) -> dict:
    """Remove one case's personal data and files, and record it in the case's history; return the counts."""
    from app.cases.models import Case
    from app.cases.operations import append_event

    counts = count_case(case_id)
    case = db.session.get(Case, case_id)
    for party in case.parties:  # through the ORM: blind indexes and the search index (search_vector) follow
        party.name = PARTY_LABELS.get(party.role.value, PURGED)
        for name, value in PARTY_FIELDS.items():
            setattr(party, name, value)
    case.title = PURGED
    case.description = PURGED
    case.desired_outcome = None
    db.session.flush()
    _clear_columns(case_id, counts)
    if counts.get("case_event_reasons"):
        from app.cases.models import CaseEvent

        db.session.execute(sa.update(CaseEvent).where(*_purgeable_reasons(case_id))
                           .values(reason=None, reason_salt=None), execution_options={"synchronize_session": "fetch"})
    now = utcnow()
    for kind, row_id, sha256, key in _files_of(case_id):
        db.session.add(PurgedFile(case_id=case_id, kind=kind, row_id=row_id, sha256=sha256, purged_at=now))
        if not _shared_elsewhere(key, case_id):
            files.delete(key)
    db.session.add(PersonalDataPurge(case_id=case_id, purged_at=now, retention_days=days, counts=counts))
    append_event(case, None, "personal_data_purged", (case.stage, case.status),
                 reason=f"保存期限（{days} 天）届满，个人信息已清除。")
    return counts


def _clear_columns(case_id: int, counts: dict) -> None:
    """The column updates, as Core statements: the ORM guards of frozen rows are deliberately bypassed here, and
    the database triggers are lifted for the length of this transaction only when this case has frozen rows."""
    from app.agreements.triggers import create_triggers, drop_triggers

    lift = any(counts.get(name) for name in FROZEN_TABLES)
    conn = db.session.connection()
    if lift:
        drop_triggers(conn)
    try:
        for rule in CLEAR:
            if counts.get(rule.table):
                table, where = _rows_of(rule, case_id)
                conn.execute(sa.update(table).where(where).values(**rule.values))
    finally:
        if lift:
            create_triggers(conn)


def purge_due(days: int, files: FileStorage, *, batch_size: int = 100, dry_run: bool = False,
              commit=None) -> PurgeReport:
    """Purge every due case in batches (commit() after each batch); a dry run only counts. Logs counts only."""
    report = PurgeReport()
    if dry_run:
        for case_id in due_case_ids(days):
            report.add(count_case(case_id))
        log.info("retention dry run: %d case(s) due, rows %s", report.cases, report.counts)
        return report
    while True:
        batch = due_case_ids(days, limit=batch_size)
        if not batch:
            break
        for case_id in batch:
            report.add(purge_case(case_id, days, files))
        if commit is not None:
            commit()
        log.info("retention: %d case(s) purged so far", report.cases)
    log.info("retention: %d case(s) purged, rows %s", report.cases, report.counts)
    return report


def purged_at(case_id: int) -> datetime | None:
    """When the case's personal data was purged (None: not purged)."""
    return db.session.scalar(sa.select(PersonalDataPurge.purged_at).where(PersonalDataPurge.case_id == case_id))
