"""Portable case bundles: one case as a self-checking zip (`flask cases export-bundle` / `import-bundle`).

Format "jiefen-case-bundle", version 2 (version 1 is still read). A zip holding:

- ``manifest.json`` (UTF-8 JSON)::

    {"format": "jiefen-case-bundle", "version": 2, "exported_at": "2026-11-30T21:00:00.000000",
     "case": {every Case column as JSON (enums as their code, dates ISO 8601, money as a decimal string),
              the case id as "source_id", foreign keys as "<col>_source_id" plus readable names:
              "filed_by" / "mediator" (usernames), "organisation" / "arbitration_body" / "court" (names)},
     "parties": [{"role", "kind", "name", "phone", "id_number", "region_code", "address", "email",
                  "username" (the linked user, or null)}],
     "events": [{"seq", "action", "from_stage", "from_status", "to_stage", "to_status", "reason",
                 "reason_salt", "reason_digest" (version 2; null for events without them),
                 "actor": {"username", "role", "source_id"} or null, "at", "prev_hash", "hash"}],
     "evidence": [{"path": "evidence/<n>-<safe name>", "sha256", "size", "content_type", "original_name",
                   "description", "uploaded_by" (username), "uploaded_at"}],
     "documents": [{"path": "documents/<n>-<kind>.pdf", "sha256", "kind", "template", "issued_at"}],
     "files": {"<path>": "<sha256>" for every file in the zip other than manifest.json},
     "skipped": [{"what", "why"}]}

- the evidence files and PDFs under the paths named above.

The event chain is exported exactly as stored: ``hash = sha256(prev_hash || canonical(payload))`` with
the payload of ``CaseEvent.payload()`` (app/cases/models.py: the reason's salted digest in place of its text
when the event has one, so a purged reason still verifies), which includes the case id and the actor's id;
hence ``case.source_id`` and ``actor.source_id``, so that an importer can recompute every link. Times are
naive UTC at microsecond precision, as the chain hashes them.

PDFs: every document already issued for the case (app.documents, e.g. assessment report, mediation
record) and the signed agreement PDF if one is done. Nothing is rendered at export time (WeasyPrint is slow
and needs a CJK font); what is missing is listed under "skipped".

Import checks before writing anything: safe member names (no absolute paths, no "..", no backslashes),
at most MAX_MEMBERS members and MAX_TOTAL_BYTES uncompressed, format and version, the SHA-256 of every
listed file, no unlisted file, every evidence file's content by the upload's own check (an accepted type, the
name's extension belonging to it) and equal to the type the manifest claims, every document a PDF, and the event
chain. Then it re-creates the case under a new id. Because the hash covers the case id (and the actor's local
id), the imported events are re-chained under the new case id (same seq, action, states, reason and time; actors
matched by username, else none) and a final "imported" event records ``bundle <sha256 of manifest.json> from
case <source id>``: the manifest, whose hash is kept in the chain, holds the original links, so
`flask audit verify` passes and the origin stays provable.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as babel_gettext
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Organisation, User
from app.cases.evidence import TYPE_LABELS, EvidenceRefused, checked_evidence, sniff_content_type
from app.cases.models import (
    GENESIS_HASH,
    Case,
    CaseEvent,
    CaseParty,
    CaseStatus,
    EvidenceFile,
    PartyKind,
    PartyRole,
    Stage,
    event_payload,
    reason_problem,
)
from app.cases.operations import append_event
from app.core.audit import chain_hash
from app.core.storage import FileStorage
from app.core.time import utcnow
from app.extensions import db

FORMAT = "jiefen-case-bundle"
VERSION = 2
READS = (1, 2)  # version 1: events without reason_salt / reason_digest (their reasons are in the payload)
MANIFEST = "manifest.json"
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_MEMBERS = 2000

_USER_FKS = {"filed_by_id": "filed_by", "mediator_id": "mediator"}
_ORG_FKS = {"organisation_id": "organisation", "arbitration_body_id": "arbitration_body", "court_id": "court"}


class BundleError(Exception):
    """A bundle that cannot be imported; zh and en say why (naming the first bad file or event)."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


# --- export ------------------------------------------------------------------------------------------
def _json_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _safe_name(name: str) -> str:
    """A file name that is one harmless path segment (letters incl. CJK, digits, . _ -)."""
    cleaned = re.sub(r"[^\w.\-]", "_", name or "").strip("._") or "file"
    return cleaned[-100:]


def _username(user_id: int | None) -> str | None:
    return db.session.scalar(sa.select(User.username).where(User.id == user_id)) if user_id else None


def _org_name(org_id: int | None) -> str | None:
    if org_id is None:
        return None
    return db.session.scalar(sa.select(Organisation.name).where(Organisation.id == org_id))


def _case_json(case: Case) -> dict:
    out: dict[str, Any] = {}
    for column in Case.__table__.columns:
        value = getattr(case, column.key)
        if column.key == "id":
            out["source_id"] = value
        elif column.key in _USER_FKS or column.key in _ORG_FKS:
            out[f"{column.key[:-3]}_source_id"] = value
        else:
            out[column.key] = _json_value(value)
    for key, name in _USER_FKS.items():
        out[name] = _username(getattr(case, key))
    for key, name in _ORG_FKS.items():
        out[name] = _org_name(getattr(case, key))
    return out


def _event_json(event: CaseEvent) -> dict:
    actor = None
    if event.actor_id is not None:
        user = db.session.get(User, event.actor_id)
        actor = {"username": user.username if user else None, "role": user.role.value if user else None,
                 "source_id": event.actor_id}
    return {"seq": event.seq, "action": event.action, "from_stage": event.from_stage,
            "from_status": event.from_status, "to_stage": event.to_stage, "to_status": event.to_status,
            "reason": event.reason, "reason_salt": event.reason_salt, "reason_digest": event.reason_digest,
            "actor": actor, "at": _json_value(event.created_at),
            "prev_hash": event.prev_hash, "hash": event.hash}


def _read(store: FileStorage, key: str) -> bytes:
    with store.open(key) as fh:
        return fh.read()


def export_bundle(case: Case, store: FileStorage) -> bytes:
    """The case as a bundle (zip bytes); reads only, renders nothing."""
    from app.documents.models import Document

    files: dict[str, bytes] = {}
    skipped: list[dict] = []
    evidence = []
    for n, item in enumerate(case.evidence, start=1):
        path = f"evidence/{n}-{_safe_name(item.original_name)}"
        try:
            data = _read(store, item.storage_key or item.sha256)
        except OSError as exc:
            skipped.append({"what": f"evidence {item.original_name}", "why": f"file not readable: {exc}"})
            continue
        files[path] = data
        evidence.append({"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                         "content_type": item.content_type, "original_name": item.original_name,
                         "description": item.description, "uploaded_by": _username(item.uploaded_by_id),
                         "uploaded_at": _json_value(item.created_at)})

    documents: list[dict] = []
    seen: set[str] = set()

    def add_pdf(kind: str, data: bytes, template: str | None, issued_at: datetime | None) -> None:
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            return
        seen.add(digest)
        path = f"documents/{len(documents) + 1}-{_safe_name(kind)}.pdf"
        files[path] = data
        documents.append({"path": path, "sha256": digest, "kind": kind, "template": template,
                          "issued_at": _json_value(issued_at)})

    issued = sa.select(Document).where(Document.case_id == case.id).order_by(Document.id)
    for doc in db.session.scalars(issued):
        try:
            add_pdf(doc.kind, _read(store, doc.sha256), doc.template, doc.created_at)
        except OSError as exc:
            skipped.append({"what": f"document {doc.kind} {doc.sha256}", "why": f"file not readable: {exc}"})
    try:
        from app.agreements.content import current_agreement
        from app.agreements.pdf import signed_pdf_bytes

        agreement = current_agreement(case)
        signed = signed_pdf_bytes(agreement) if agreement is not None else None
        if signed:
            add_pdf("signed_agreement", signed, None, None)
        elif agreement is not None:
            skipped.append({"what": "signed_agreement", "why": "the signed PDF is not done yet"})
    except Exception as exc:  # noqa: BLE001 - a bundle without the agreement beats no bundle
        skipped.append({"what": "signed_agreement", "why": f"{type(exc).__name__}: {exc}"})
    kinds = {d["kind"] for d in documents}
    for kind in ("assessment_report", "mediation_record"):
        if kind not in kinds:
            skipped.append({"what": kind, "why": "no issued copy; not rendered at export "
                                                 "(open it on the case page first to include it)"})

    manifest = {
        "format": FORMAT, "version": VERSION, "exported_at": _json_value(utcnow()),
        "case": _case_json(case),
        "parties": [{"role": p.role.value, "kind": p.kind.value, "name": p.name, "phone": p.phone,
                     "id_number": p.id_number, "region_code": p.region_code, "address": p.address,
                     "email": p.email, "username": _username(p.user_id)} for p in case.parties],
        "events": [_event_json(e) for e in case.events],
        "evidence": evidence, "documents": documents,
        "files": {path: hashlib.sha256(data).hexdigest() for path, data in files.items()},
        "skipped": skipped,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True))
        for path, data in files.items():
            zf.writestr(path, data)
    return out.getvalue()


# --- import: checks ------------------------------------------------------------------------------------
@dataclass
class CheckedBundle:
    manifest: dict
    manifest_sha256: str
    files: dict[str, bytes]


def _unsafe(name: str) -> bool:
    parts = name.split("/")
    return (not name or name.startswith("/") or "\\" in name or ":" in parts[0] or "\x00" in name
            or any(p in ("", ".", "..") for p in parts))


def read_bundle(data: bytes) -> CheckedBundle:
    """Open and check a bundle completely (names, sizes, format, every SHA-256, the chain); write nothing."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise BundleError("不是有效的 zip 文件", f"not a valid zip file ({exc})") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise BundleError(f"文件数超过上限 {MAX_MEMBERS}", f"more than {MAX_MEMBERS} files in the bundle")
        names: set[str] = set()
        for info in infos:
            if _unsafe(info.filename):
                raise BundleError(f"不安全的文件路径：{info.filename}", f"unsafe path in the bundle: {info.filename}")
            if info.filename in names:
                raise BundleError(f"重复的文件：{info.filename}", f"duplicate file in the bundle: {info.filename}")
            names.add(info.filename)
        if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
            raise BundleError("解压后超过 200 MB 上限", "the bundle exceeds 200 MB uncompressed")
        if MANIFEST not in names:
            raise BundleError("缺少 manifest.json", "manifest.json is missing")
        contents: dict[str, bytes] = {}
        total = 0
        for info in infos:
            with zf.open(info) as fh:  # never trust the declared size: read at most what is left of the cap
                blob = fh.read(MAX_TOTAL_BYTES - total + 1)
            total += len(blob)
            if total > MAX_TOTAL_BYTES:
                raise BundleError("解压后超过 200 MB 上限", "the bundle exceeds 200 MB uncompressed")
            contents[info.filename] = blob
    raw = contents.pop(MANIFEST)
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError("manifest.json 无法解析", f"manifest.json is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError("不是解纷案件包", f"not a {FORMAT} (format field)")
    if manifest.get("version") not in READS:
        raise BundleError(f"不支持的版本：{manifest.get('version')}",
                          f"unsupported bundle version {manifest.get('version')!r} "
                          f"(this platform reads {', '.join(map(str, READS))})")
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        raise BundleError("manifest.json 缺少文件清单", "manifest.json has no files list")
    for path, digest in listed.items():
        if path not in contents:
            raise BundleError(f"清单中的文件缺失：{path}", f"file listed in the manifest is missing: {path}")
        if hashlib.sha256(contents[path]).hexdigest() != digest:
            raise BundleError(f"文件校验值不符（可能被篡改）：{path}",
                              f"SHA-256 mismatch (altered?): {path}")
    for path in sorted(contents):
        if path not in listed:
            raise BundleError(f"清单之外的文件：{path}", f"file not listed in the manifest: {path}")
    for entry in [*manifest.get("evidence", []), *manifest.get("documents", [])]:
        if entry.get("path") not in listed or listed[entry["path"]] != entry.get("sha256"):
            raise BundleError(f"证据或文书与清单不符：{entry.get('path')}",
                              f"evidence/document entry does not match the files list: {entry.get('path')}")
    _check_file_types(manifest, contents)
    _check_chain(manifest)
    return CheckedBundle(manifest, hashlib.sha256(raw).hexdigest(), contents)


def _both_languages(exc: EvidenceRefused) -> tuple[str, str]:
    """An evidence refusal in Chinese (the catalogue's source language) and in English, whatever the current one."""
    zh = exc.msgid % exc.variables if exc.variables else exc.msgid
    with force_locale("en"):
        return zh, babel_gettext(exc.msgid, **exc.variables)


def _check_file_types(manifest: dict, contents: dict[str, bytes]) -> None:
    """Each evidence file passes the upload's own check (content of an accepted type, an extension that belongs to
    it) and is the type the manifest claims; each document is a PDF. The first that fails refuses the bundle."""
    for item in manifest.get("evidence", []):
        path, claimed = item["path"], item.get("content_type")
        try:
            mime, _name = checked_evidence(item.get("original_name") or "evidence", contents[path])
        except EvidenceRefused as exc:
            zh, en = _both_languages(exc)
            raise BundleError(f"证据文件 {path} 不能导入：{zh}", f"evidence file {path} refused: {en}") from exc
        if mime != claimed:
            raise BundleError(f"证据文件 {path} 的内容是 {TYPE_LABELS[mime]}，不是清单所写的 {claimed}",
                              f"evidence file {path}: its content is {TYPE_LABELS[mime]}, "
                              f"not {claimed} as the manifest says")
    for doc in manifest.get("documents", []):
        if sniff_content_type(contents[doc["path"]]) != "application/pdf":
            raise BundleError(f"文书 {doc['path']} 不是 PDF 文件", f"document {doc['path']} is not a PDF file")


def _check_chain(manifest: dict) -> None:
    """Recompute every link exactly as app.cases.models.CaseEvent.compute_hash does."""
    case_id = manifest.get("case", {}).get("source_id")
    prev = GENESIS_HASH
    for expected_seq, event in enumerate(manifest.get("events", []), start=1):
        where_zh, where_en = f"事件 seq {event.get('seq')}（{event.get('action')}）", \
            f"event seq {event.get('seq')} ({event.get('action')})"
        if event.get("seq") != expected_seq:
            raise BundleError(f"{where_zh}：序号应为 {expected_seq}（缺少事件）",
                              f"{where_en}: expected seq {expected_seq} (an event is missing)")
        if event.get("prev_hash") != prev:
            raise BundleError(f"{where_zh}：与上一事件的哈希不衔接", f"{where_en}: prev_hash does not match")
        try:
            at = datetime.fromisoformat(event["at"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"{where_zh}：时间无效", f"{where_en}: invalid time") from exc
        actor = event.get("actor")
        row = SimpleNamespace(
            case_id=case_id, seq=event["seq"], actor_id=actor.get("source_id") if actor else None,
            action=event.get("action"), from_stage=event.get("from_stage"), from_status=event.get("from_status"),
            to_stage=event.get("to_stage"), to_status=event.get("to_status"), reason=event.get("reason"),
            reason_salt=event.get("reason_salt"), reason_digest=event.get("reason_digest"), created_at=at)
        if chain_hash(prev, event_payload(row)) != event.get("hash") or reason_problem(row):
            raise BundleError(f"{where_zh}：内容与哈希不符（已被篡改）",
                              f"{where_en}: content does not match its hash (altered)")
        prev = event["hash"]


# --- import: re-creating the case ------------------------------------------------------------------------
def _user_id(username: str | None) -> int | None:
    return db.session.scalar(sa.select(User.id).where(User.username == username)) if username else None


def _org_id(name: str | None) -> int | None:
    return db.session.scalar(sa.select(Organisation.id).where(Organisation.name == name)) if name else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def import_bundle(data: bytes, store: FileStorage) -> Case:
    """Check the bundle, then re-create its case under a new id (flushes, never commits)."""
    bundle = read_bundle(data)
    m = bundle.manifest
    c = m["case"]
    filed_by_id = _user_id(c.get("filed_by"))
    if filed_by_id is None:
        raise BundleError(f"本平台没有提交人账号 {c.get('filed_by')}，无法导入",
                          f"the filer {c.get('filed_by')!r} has no account here; create it first")
    case = Case(
        title=c["title"], stage=Stage(c["stage"]), status=CaseStatus(c["status"]), category=c.get("category"),
        amount=Decimal(c["amount"]) if c.get("amount") is not None else None, description=c["description"],
        desired_outcome=c.get("desired_outcome"), began_on=_date(c.get("began_on")),
        learned_on=_date(c.get("learned_on")), region_code=c.get("region_code"),
        has_arbitration_agreement=bool(c.get("has_arbitration_agreement")), filed_by_id=filed_by_id,
        organisation_id=_org_id(c.get("organisation")), mediator_id=_user_id(c.get("mediator")),
        arbitration_body_id=_org_id(c.get("arbitration_body")), court_id=_org_id(c.get("court")),
        court_case_number=c.get("court_case_number"), created_at=_datetime(c.get("created_at")) or utcnow(),
        updated_at=_datetime(c.get("updated_at")) or utcnow(), closed_at=_datetime(c.get("closed_at")),
        mediation_started_at=_datetime(c.get("mediation_started_at")),
        mediation_due_on=_date(c.get("mediation_due_on")))
    try:
        with db.session.begin_nested():
            db.session.add(case)
            db.session.flush()
    except IntegrityError as exc:
        raise BundleError("案件无法在本平台重建（所需的调解组织、调解员、仲裁机构或法院在此不存在）",
                          "the case cannot be re-created here: an organisation, mediator, arbitration body "
                          f"or court it needs does not exist on this platform ({exc.orig})") from exc
    for p in m.get("parties", []):
        db.session.add(CaseParty(case_id=case.id, role=PartyRole(p["role"]), kind=PartyKind(p["kind"]),
                                 name=p["name"], phone=p.get("phone"), id_number=p.get("id_number"),
                                 region_code=p.get("region_code"), address=p.get("address"),
                                 email=p.get("email"),
                                 user_id=_user_id(p.get("username"))))
    prev = GENESIS_HASH
    for e in m.get("events", []):
        actor_id = _user_id((e.get("actor") or {}).get("username"))
        event = CaseEvent(case_id=case.id, seq=e["seq"], actor_id=actor_id, action=e["action"],
                          from_stage=e.get("from_stage"), from_status=e.get("from_status"),
                          to_stage=e["to_stage"], to_status=e["to_status"], reason=e.get("reason"),
                          reason_salt=e.get("reason_salt"), reason_digest=e.get("reason_digest"),
                          created_at=datetime.fromisoformat(e["at"]), prev_hash=prev, hash="")
        event.hash = event.compute_hash()
        prev = event.hash
        db.session.add(event)
    for item in m.get("evidence", []):
        blob = bundle.files[item["path"]]
        db.session.add(EvidenceFile(
            case_id=case.id, uploaded_by_id=_user_id(item.get("uploaded_by")) or filed_by_id,
            original_name=(item.get("original_name") or "evidence")[-200:], content_type=item["content_type"],
            size_bytes=len(blob), sha256=hashlib.sha256(blob).hexdigest(), storage_key=store.put_random(blob),
            description=item.get("description"), created_at=_datetime(item.get("uploaded_at")) or utcnow()))
    from app.documents.models import Document

    for doc in m.get("documents", []):
        blob = bundle.files[doc["path"]]
        db.session.add(Document(kind=doc["kind"][:40], case_id=case.id,
                                template=(doc.get("template") or "bundle-import")[:120],
                                sha256=store.put(blob),
                                size_bytes=len(blob), created_at=_datetime(doc.get("issued_at")) or utcnow()))
    db.session.flush()
    append_event(case, None, "imported", (case.stage, case.status),
                 f"bundle {bundle.manifest_sha256} from case {c.get('source_id')}")
    return case
