"""The mediation record (调解笔录): statements, the content drawn from the session, frozen versions, signatures.

Content is plain JSON (dates as ISO strings, amounts as strings) so that its SHA-256 is stable; a signature
binds to the hash its signer saw. Operations flush, never commit."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from app.accounts.models import User
from app.accounts.operations import authenticate
from app.cases import facts
from app.cases.models import Case, CaseEvent, CaseParty, Stage
from app.cases.rules import current_rules
from app.core.errors import DomainError
from app.core.i18n import gettext
from app.core.time import utcnow
from app.extensions import db
from app.mediation.record_models import MediationRecord, RecordSignature, RecordStatement
from app.mediation.room_models import Offer, RoomMessage

PLACE = "线上调解（解纷平台）"
MEDIATOR = "mediator"
SIDE_LABELS = {"applicant": "申请人", "respondent": "被申请人", "mediator": "调解员"}
OFFER_STATUS_LABELS = {"open": "待答复", "accepted": "已接受", "rejected": "已拒绝", "withdrawn": "已撤回"}
OUTCOME_ACTIONS = ("record_settlement", "record_failure", "withdraw")


class SignatureRefused(DomainError):
    """A signature that cannot be taken now (not the signer's turn, a newer version); shown on the page."""

    status_code = 409


# --- who is who ------------------------------------------------------------------------------
def speaker_choices(case: Case) -> list[tuple[str, str]]:
    """(value, label) of everyone who may speak: each party by role and name, then the mediator."""
    choices = [(f"party-{p.id}", f"{p.role.label} {p.name}") for p in case.parties]
    if case.mediator:
        choices.append((MEDIATOR, f"{gettext('调解员')} {case.mediator.display_name}"))
    return choices


def _speaker(case: Case, value: str) -> tuple[int | None, str]:
    """(user id, stored label) of a speaker choice; the label is stored in Chinese, as the record is."""
    if value == MEDIATOR and case.mediator:
        return case.mediator_id, f"调解员 {case.mediator.display_name}"
    for p in case.parties:
        if value == f"party-{p.id}":
            return p.user_id, f"{SIDE_LABELS[p.role.value]} {p.name}"
    raise DomainError(gettext("请选择发言人。"), 422)


def is_mediator(case: Case, user: User) -> bool:
    return user.is_authenticated and case.mediator_id is not None and case.mediator_id == user.id


def party_signers(case: Case) -> list[CaseParty]:
    """Parties who can sign online: those linked to a user (once each)."""
    seen, out = set(), []
    for p in case.parties:
        if p.user_id and p.user_id not in seen and p.user_id != case.mediator_id:
            seen.add(p.user_id)
            out.append(p)
    return out


def signer_party(case: Case, user: User) -> CaseParty | None:
    return next((p for p in party_signers(case) if p.user_id == user.id), None)


def can_sign(case: Case, user: User) -> bool:
    return is_mediator(case, user) or signer_party(case, user) is not None


# --- statements --------------------------------------------------------------------------------
def statements(case: Case) -> list[RecordStatement]:
    return db.session.scalars(sa.select(RecordStatement).where(RecordStatement.case_id == case.id)
                              .order_by(RecordStatement.created_at, RecordStatement.id)).all()


def frozen_statement_ids(case: Case) -> set[int]:
    """Statements that are part of a frozen version: they stay as they were signed."""
    ids: set[int] = set()
    query = sa.select(MediationRecord.content).where(MediationRecord.case_id == case.id)
    for content in db.session.scalars(query):
        ids.update(s["id"] for s in content.get("statements", []))
    return ids


def _editable(case: Case) -> None:
    if case.mediator_id is None or case.stage not in (Stage.mediate, Stage.closed):
        raise DomainError(gettext("调解程序已结束或尚未开始，不能再修改调解笔录。"), 409)


def save_statement(case: Case, author: User, speaker: str, text: str,
                   statement_id: int | None = None) -> RecordStatement:
    """Add a statement, or change one that no frozen version holds yet."""
    _editable(case)
    speaker_id, label = _speaker(case, speaker)
    if statement_id:
        row = _own_statement(case, statement_id)
    else:
        row = RecordStatement(case_id=case.id, created_by_id=author.id, created_at=utcnow())
        db.session.add(row)
    row.speaker_id, row.speaker_label, row.text = speaker_id, label, text.strip()
    db.session.flush()
    return row


def _own_statement(case: Case, statement_id: int) -> RecordStatement:
    row = db.session.get(RecordStatement, statement_id)
    if row is None or row.case_id != case.id:
        raise DomainError(gettext("没有这条陈述。"), 404)
    if row.id in frozen_statement_ids(case):
        raise DomainError(gettext("这条陈述已写入定稿的笔录，不能再修改或删除；如需更正，请补充一条陈述后重新定稿。"), 409)
    return row


def delete_statement(case: Case, statement_id: int) -> None:
    _editable(case)
    db.session.delete(_own_statement(case, statement_id))
    db.session.flush()


# --- the content -----------------------------------------------------------------------------------
def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _money(value: Decimal | None) -> str | None:
    return f"{value:.2f}" if value is not None else None


def is_labour(case: Case) -> bool:
    cat = current_rules().category(case.category)
    return cat is not None and cat.arbitration == "statutory"


def _participants(case: Case) -> list[dict]:
    senders = set(db.session.scalars(sa.select(RoomMessage.sender_id).where(
        RoomMessage.case_id == case.id, RoomMessage.sender_id.is_not(None)).distinct()))
    return [{"party_id": p.id, "role": p.role.value, "role_label": SIDE_LABELS[p.role.value], "name": p.name,
             "kind": p.kind.value, "user_id": p.user_id,
             "joined": p.user_id is not None and p.user_id in senders}
            for p in case.parties]


def _session_times(case: Case) -> tuple[str | None, str | None]:
    at = RoomMessage.created_at
    first, last = db.session.execute(sa.select(sa.func.min(at), sa.func.max(at))
                                     .where(RoomMessage.case_id == case.id)).one()
    return _iso(first), _iso(last)


def _offers(case: Case) -> list[dict]:
    rows = db.session.scalars(sa.select(Offer).where(Offer.case_id == case.id)
                              .order_by(Offer.created_at, Offer.id))
    return [{"id": o.id, "made_by": o.made_by.display_name, "side": o.side, "side_label": SIDE_LABELS[o.side],
             "amount": _money(o.amount), "instalments": o.instalments, "pay_by": _iso(o.pay_by),
             "apology": bool(o.apology), "other_terms": o.other_terms, "status": o.status,
             "status_label": OFFER_STATUS_LABELS.get(o.status, o.status), "created_at": _iso(o.created_at),
             "accepted_by": [r.user.display_name for r in o.responses if r.answer == "accept"],
             "rejected_by": [r.user.display_name for r in o.responses if r.answer == "reject"]}
            for o in rows]


def outcome(case: Case) -> dict:
    """Settled, not settled (with the reason), withdrawn, or still running, from the case's history."""
    event = db.session.scalar(sa.select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                         CaseEvent.action.in_(OUTCOME_ACTIONS))
                              .order_by(CaseEvent.seq.desc()).limit(1))
    if event is None:
        return {"status": "in_progress", "label": "调解进行中", "reason": None, "at": None}
    status, label = {"record_settlement": ("settled", "调解成功，达成协议"),
                     "record_failure": ("failed", "调解不成"),
                     "withdraw": ("withdrawn", "申请人撤回调解申请")}[event.action]
    return {"status": status, "label": label, "reason": event.reason, "at": _iso(event.created_at)}


def build_content(case: Case) -> dict:
    """The record as drawn from the session now: plain JSON, ready to be frozen and hashed."""
    started, ended = _session_times(case)
    category = current_rules().category(case.category)
    return {
        "document_title": "劳动争议调解笔录" if is_labour(case) else "人民调解笔录",
        "case": {"id": case.id, "title": case.title, "category": category.zh if category else None,
                 "court_case_number": case.court_case_number},
        "organisation": case.organisation.name if case.organisation else None,
        "mediator": {"user_id": case.mediator_id,
                     "name": case.mediator.display_name if case.mediator else None},
        "participants": _participants(case),
        "started_at": started, "ended_at": ended, "place": PLACE,
        "statements": [{"id": s.id, "speaker": s.speaker_label, "text": s.text,
                        "created_at": _iso(s.created_at)} for s in statements(case)],
        "offers": _offers(case),
        "outcome": outcome(case),
    }


def canonical_json(content: dict) -> str:
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(content: dict) -> str:
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


# --- versions ---------------------------------------------------------------------------------------
def current_record(case: Case) -> MediationRecord | None:
    if not facts.may_have(case, "mediation_records"):
        return None
    return db.session.scalar(sa.select(MediationRecord).where(MediationRecord.case_id == case.id,
                                                              MediationRecord.superseded_at.is_(None))
                             .order_by(MediationRecord.version.desc()).limit(1))


def versions(case: Case) -> list[MediationRecord]:
    return db.session.scalars(sa.select(MediationRecord).where(MediationRecord.case_id == case.id)
                              .order_by(MediationRecord.version.desc())).all()


def freeze(case: Case, mediator: User) -> MediationRecord:
    """Freeze the record as it stands as version n+1; the previous one is superseded, its signatures kept."""
    _editable(case)
    content = build_content(case)
    if not content["statements"]:
        raise DomainError(gettext("请先录入至少一条陈述，再定稿笔录。"), 409)
    digest = content_hash(content)
    current = current_record(case)
    if current is not None and current.content_hash == digest:
        raise DomainError(gettext("笔录内容与第 %(n)s 版相同，无需重新定稿。", n=current.version), 409)
    now = utcnow()
    last = db.session.scalar(sa.select(sa.func.max(MediationRecord.version))
                             .where(MediationRecord.case_id == case.id))
    if current is not None:
        current.superseded_at = now
    record = MediationRecord(case_id=case.id, version=(last or 0) + 1, content=content, content_hash=digest,
                             created_by_id=mediator.id, created_at=now)
    db.session.add(record)
    db.session.flush()
    return record


# --- signatures ---------------------------------------------------------------------------------------
@dataclass
class SignatureLine:
    role_label: str
    name: str
    user_id: int | None
    signature: RecordSignature | None


def signature_lines(case: Case, record: MediationRecord | None) -> list[SignatureLine]:
    """Every party (in order), then the mediator, with their signature of this version (or None)."""
    signed = {s.user_id: s for s in (record.signatures if record else [])
              if s.content_hash == record.content_hash}
    lines = [SignatureLine(SIDE_LABELS[p.role.value], p.name, p.user_id,
                           signed.get(p.user_id) if p.user_id else None) for p in case.parties]
    if case.mediator:
        lines.append(SignatureLine(SIDE_LABELS[MEDIATOR], case.mediator.display_name, case.mediator_id,
                                   signed.get(case.mediator_id)))
    return lines


def waiting_for_parties(case: Case, record: MediationRecord) -> list[CaseParty]:
    signed = {s.user_id for s in record.signatures}
    return [p for p in party_signers(case) if p.user_id not in signed]


def has_signed(record: MediationRecord | None, user: User) -> bool:
    return record is not None and any(s.user_id == user.id for s in record.signatures)


def expected_names(case: Case, user: User) -> set[str] | None:
    """Names the signer may type (None: any name, e.g. the representative of an organisation)."""
    party = signer_party(case, user)
    if party is not None and party.kind.value == "organisation":
        return None
    return {n for n in (user.display_name, party.name if party else None) if n}


def check_turn(case: Case, user: User, record: MediationRecord | None, seen_hash: str) -> None:
    """Refuse (409) a signature that cannot be taken now; the message says why."""
    if record is None:
        raise SignatureRefused(gettext("调解员尚未定稿笔录，暂时不能签名。"))
    if has_signed(record, user):
        raise SignatureRefused(gettext("您已签署第 %(n)s 版笔录。", n=record.version))
    if seen_hash != record.content_hash:
        raise SignatureRefused(gettext("笔录已更新为第 %(n)s 版，您看到的不是最新版本。请阅读最新版本后再签名。",
                                       n=record.version))
    if is_mediator(case, user) and waiting_for_parties(case, record):
        names = "、".join(p.name for p in waiting_for_parties(case, record))
        raise SignatureRefused(gettext("请等各方当事人签名后，调解员最后签名。尚未签名：%(names)s。", names=names))


def password_ok(user: User, password: str) -> bool:
    """The signer's own password, checked as at login."""
    found = authenticate(user.username, password or "")
    return found is not None and found.id == user.id


def sign(case: Case, user: User, record: MediationRecord, typed_name: str, seen_hash: str,
         ip_address: str | None) -> RecordSignature:
    """Store the signature of this version (the caller checked the turn, the name and the password)."""
    check_turn(case, user, record, seen_hash)
    signature = RecordSignature(record_id=record.id, user_id=user.id, typed_name=typed_name.strip(),
                                content_hash=record.content_hash, ip_address=ip_address, signed_at=utcnow())
    db.session.add(signature)
    db.session.flush()
    db.session.refresh(record)
    return signature


def fully_signed(case: Case, record: MediationRecord | None) -> bool:
    return record is not None and all(
        line.signature is not None for line in signature_lines(case, record) if line.user_id is not None)


facts.register_case_fact("mediation_records",
                        lambda: sa.exists().where(MediationRecord.case_id == Case.id))
