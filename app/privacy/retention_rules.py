"""What the retention job removes from a closed case, as data (reviewed with the personal-information rules).

Kept for statistics: the case skeleton (category, region codes, amount, dates, stages and statuses, organisation,
mediator, court and case number), the hash-chained history, counts, and the SHA-256 of every removed file.
Removed: every name, phone, ID number, address and e-mail of the parties; every free text typed by residents or
about them (what happened, claims, messages, statements, evidence descriptions, reasons, signatures); the files
(evidence and issued PDFs), and the reasons of the case's history events with their salts: the hash chain covers
a salted digest of each reason, not its text (app/cases/models.py). Reasons of events recorded before that digest
existed (migration d6f8b0c2e4a7) are in the chain itself and stay.
"""
from __future__ import annotations

from dataclasses import dataclass

PURGED = "（已清除）"
# A valid 1x1 transparent PNG: drawn signatures are replaced by it (the CHECK constraint wants an image).
BLANK_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4f70000000049454e44ae426082")
PARTY_LABELS = {"applicant": "申请人（已清除）", "respondent": "被申请人（已清除）"}
# Set through the ORM (not in CLEAR): phone and id_number are encrypted, their blind indexes follow the attribute.
PARTY_FIELDS = {"phone": None, "id_number": None, "address": None, "email": None}


@dataclass(frozen=True)
class Clear:
    """Set these columns of `table`'s rows that belong to the case. `via` names the parent table and the foreign
    key column when the table has no case_id of its own."""

    table: str
    values: dict
    via: tuple[str, str] | None = None


CLEAR: tuple[Clear, ...] = (
    Clear("evidence_files", {"original_name": PURGED, "description": None}),
    Clear("room_messages", {"body": PURGED}),
    Clear("offers", {"other_terms": None}),
    Clear("safety_flags", {"note": None}),
    Clear("record_statements", {"text": PURGED, "speaker_label": PURGED}),
    Clear("mediation_records", {"content": {}}),
    Clear("record_signatures", {"typed_name": PURGED, "ip_address": None}, via=("mediation_records", "record_id")),
    Clear("agreement_drafts", {"terms": []}),
    Clear("invitations", {"reason": None}),
    Clear("deadline_extensions", {"reason": PURGED}),
    Clear("arbitration_clauses", {"text": PURGED}),
    Clear("arbitration_clause_signatures", {"typed_name": PURGED, "ip_address": None},
          via=("arbitration_clauses", "clause_id")),
    Clear("arbitration_hearings", {"record_text": None}),
    Clear("arbitration_awards", {"claims": PURGED, "findings": PURGED, "reasoning": PURGED, "decision": PURGED}),
    Clear("court_filings", {"claims": PURGED, "facts": PURGED, "reasons": None}),
    Clear("confirmation_applications", {"reasons": None}),
    Clear("agreements", {"facts": PURGED, "responsibility": PURGED, "terms": [], "performance": PURGED,
                         "summary": None, "change_note": None}),
    Clear("agreement_signatures", {"typed_name": PURGED, "image_png": BLANK_PNG, "ip_address": None},
          via=("agreements", "agreement_id")),
    Clear("agreement_change_requests", {"text": PURGED}, via=("agreements", "agreement_id")),
    Clear("outbox_messages", {"to": PURGED, "subject": PURGED, "body": PURGED}),
    Clear("consent_records", {"subject_name": None, "ip": None}),
    Clear("routing_decisions", {"matched_words": [], "related": [], "reason": None}),
)
# Tables whose rows are frozen by database triggers (app/agreements/triggers.py): lifted inside the purge's own
# transaction and put back before it commits.
FROZEN_TABLES = {"agreements", "agreement_signatures"}

# When a case's dispute has ended: (stage, status or None for any). Closed cases end at closed_at; the others at
# their last event.
ENDED_STATES = (("closed", None), ("arbitrate", "awarded"), ("litigate", "accepted"))
