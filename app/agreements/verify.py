"""Checking a signed agreement or arbitral award: an uploaded PDF (pyHanko validation against our trust roots,
and whether its SHA-256 is one we issued: an agreement's PDF or an issued award's) or the QR code's link (does
that agreement exist with that content hash?).

What a stranger learns is kept small: the case's number and title and the parties' names masked (王*英), never a
phone or ID number; through the QR link only when the content hash matches."""
from __future__ import annotations

import hashlib
import hmac
import io
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from app.agreements.models import Agreement, AgreementPdf
from app.agreements.pki import trust_roots
from app.cases.models import Case
from app.core.web import localtime
from app.extensions import db

log = logging.getLogger(__name__)


def mask_name(name: str) -> str:
    """王秀英 -> 王*英, 张三 -> 张*, 某某物业管理有限公司 -> 某********司."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


@dataclass
class AgreementFacts:
    """What /verify may say about one of our agreements."""

    agreement_id: int
    case_id: int
    case_title: str
    version: int
    status: str
    signed_at: str            # Beijing time, "" while not fully signed
    parties: list[tuple[str, str]] = field(default_factory=list)   # (role label, masked name)

    @property
    def fully_signed(self) -> bool:
        return bool(self.signed_at)


def agreement_facts(agreement: Agreement) -> AgreementFacts:
    case = db.session.get(Case, agreement.case_id)
    return AgreementFacts(agreement.id, case.id, case.title, agreement.version, agreement.status,
                          localtime(agreement.signed_at) if agreement.signed_at else "",
                          [(p.role.label, mask_name(p.name)) for p in case.parties])


@dataclass
class AwardFacts:
    """What /verify may say about an arbitral award (裁决书) we issued."""

    case_id: int
    number: str
    body: str
    issued_at: str            # Beijing time
    parties: list[tuple[str, str]] = field(default_factory=list)   # (role label, masked name)


def award_by_sha256(sha256: str) -> AwardFacts | None:
    """The issued award whose signed PDF has this SHA-256 (the escalation package's table; imported late)."""
    from app.escalation.models import Award

    award = db.session.scalar(sa.select(Award).where(Award.sha256 == sha256, Award.status == "issued"))
    if award is None:
        return None
    case = db.session.get(Case, award.case_id)
    roles = {"applicant": "申请人", "respondent": "被申请人"}
    return AwardFacts(case.id, award.number or "", award.body.name, localtime(award.issued_at),
                      [(roles.get(p.role.value, p.role.label), mask_name(p.name))
                       for p in sorted(case.parties, key=lambda p: (p.role.value != "applicant", p.id))])


# --- an uploaded PDF ---------------------------------------------------------------------------------
@dataclass
class Verdict:
    sha256: str
    readable: bool = False          # a PDF pyHanko could open
    signed: bool = False            # holds at least one signature
    intact: bool = False            # the signed bytes are unchanged
    valid: bool = False             # the signature is cryptographically valid
    trusted: bool = False           # its certificate chains to one of our trust roots
    whole_file: bool = False        # nothing was added after the signature
    signer: str | None = None       # the certificate's subject
    signed_at: str | None = None    # the signing time the signature reports (Beijing)
    timestamped: bool = False       # a timestamp token (B-T)
    agreement: AgreementFacts | None = None  # the SHA-256 is that of an agreement PDF we issued
    award: AwardFacts | None = None          # ... or that of an arbitral award we issued
    problem: str | None = None      # why it could not be checked at all (for the log)

    @property
    def signature_ok(self) -> bool:
        """What pyHanko can say: intact, valid, trusted, covering the whole file."""
        return self.signed and self.intact and self.valid and self.trusted and self.whole_file

    @property
    def ok(self) -> bool:
        """The bottom line: a good signature on exactly the bytes we issued (their SHA-256 is in our register).
        The register makes "one changed byte -> invalid" hold even for bytes no signature covers (the
        signature's own padding, the unsigned parts of the CMS object)."""
        return self.signature_ok and self.issued_here

    @property
    def issued_here(self) -> bool:
        """Its SHA-256 is in our register: an agreement's or an award's PDF."""
        return self.agreement is not None or self.award is not None


def _signing_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return localtime(value, "%Y-%m-%d %H:%M:%S")


def _der_end(data: bytes) -> int:
    """Where the DER SEQUENCE at the start of data ends."""
    if len(data) < 2 or data[0] != 0x30:
        raise ValueError("the signature is not a DER SEQUENCE")
    if data[1] < 0x80:
        return 2 + data[1]
    size = data[1] & 0x7F
    if not 0 < size <= 4 or len(data) < 2 + size:
        raise ValueError("bad DER length")
    return 2 + size + int.from_bytes(data[2:2 + size], "big")


def contents_untouched(signature) -> bool:
    """The /Contents placeholder holds the CMS object and zeros after it. The signature does not cover its own
    placeholder, and a parser stops at the end of the CMS object, so a byte changed in the zero padding would
    otherwise go unnoticed: we insist on the padding being as the signer left it."""
    raw = bytes(signature.sig_object.get("/Contents") or b"")
    end = _der_end(raw)
    return end <= len(raw) and not any(raw[end:])


def certificates_untouched(signature, status) -> bool:
    """Every certificate carried in the (unsigned) certificate set of the CMS is one of the validated path's:
    a changed copy of, say, the CA certificate would otherwise be ignored rather than noticed."""
    if status.validation_path is None:
        return False
    known = {cert.dump() for cert in status.validation_path.iter_certs(include_root=True)}
    return all(choice.chosen.dump() in known for choice in signature.signed_data["certificates"] or [])


def check_signatures(data: bytes, verdict: Verdict) -> None:
    """Fill verdict from pyHanko's validation of every signature in the PDF (raises on an unreadable file)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    verdict.readable = True
    signatures = reader.embedded_signatures
    if not signatures:
        return
    verdict.signed = True
    context = ValidationContext(trust_roots=trust_roots(), allow_fetching=False)
    statuses = [validate_pdf_signature(sig, context) for sig in signatures]
    last = statuses[-1]
    verdict.intact = all(s.intact and contents_untouched(sig) and (not s.trusted or certificates_untouched(sig, s))
                         for sig, s in zip(signatures, statuses))
    verdict.valid = all(s.valid for s in statuses)
    verdict.trusted = all(s.trusted for s in statuses) and all(s.bottom_line for s in statuses)
    verdict.whole_file = last.coverage == SignatureCoverageLevel.ENTIRE_FILE
    verdict.signer = last.signing_cert.subject.human_friendly if last.signing_cert else None
    verdict.signed_at = _signing_time(last.signer_reported_dt)
    verdict.timestamped = last.timestamp_validity is not None


def verify_pdf(data: bytes) -> Verdict:
    """Validate the PDF's signatures and look its SHA-256 up among the PDFs we issued."""
    verdict = Verdict(sha256=hashlib.sha256(data).hexdigest())
    try:
        check_signatures(data, verdict)
    except Exception as exc:  # noqa: BLE001  a damaged or hostile file: invalid, never a 5xx
        verdict.problem = f"{type(exc).__name__}: {exc}"[:300]
        verdict.intact = verdict.valid = verdict.trusted = False
        log.info("verify: could not check an upload (%s): %s", verdict.sha256[:12], verdict.problem)
    row = db.session.scalar(sa.select(AgreementPdf).where(AgreementPdf.sha256 == verdict.sha256,
                                                          AgreementPdf.status == "done"))
    if row is not None:
        agreement = db.session.get(Agreement, row.agreement_id)
        if agreement is not None:
            verdict.agreement = agreement_facts(agreement)
    if verdict.agreement is None:
        verdict.award = award_by_sha256(verdict.sha256)
    return verdict


# --- the QR code's link -----------------------------------------------------------------------------
@dataclass
class LinkCheck:
    exists: bool
    hash_matches: bool
    facts: AgreementFacts | None = None     # only when the hash matches
    superseded: bool = False
    pdf_ready: bool = False


def check_link(agreement_id: int, content_hash: str) -> LinkCheck:
    """Does agreement `agreement_id` exist with this content hash? Details only when it does."""
    agreement = db.session.get(Agreement, agreement_id)
    if agreement is None:
        return LinkCheck(False, False)
    stored = agreement.content_hash or ""
    if not stored or not hmac.compare_digest(stored.encode(), (content_hash or "").strip().lower().encode()):
        return LinkCheck(True, False)
    newer_signed = db.session.scalar(sa.select(sa.func.count()).select_from(Agreement).where(
        Agreement.case_id == agreement.case_id, Agreement.version > agreement.version,
        Agreement.signed_at.is_not(None)))
    row = db.session.scalar(sa.select(AgreementPdf).where(AgreementPdf.agreement_id == agreement.id))
    return LinkCheck(True, True, agreement_facts(agreement),
                     superseded=agreement.status == "superseded" or bool(newer_signed),
                     pdf_ready=row is not None and row.status == "done")
