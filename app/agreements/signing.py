"""Review and signing: change requests, drawn or typed signatures with the password re-entered, parties first
and the mediator last; the last signature makes the agreement signed and asks for its PDF. Operations flush,
never commit.

Who signs: every party of the case, through the user linked to it (a party that has not joined the platform
cannot sign online, which is why sending for signing requires every party to have joined), then the case's
mediator."""
from __future__ import annotations

import base64
import binascii
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from app.accounts.models import User
from app.agreements.drafting import ROLE_LABELS
from app.agreements.models import Agreement, AgreementSignature, ChangeRequest
from app.cases.models import Case, CaseParty
from app.core.errors import DomainError
from app.core.i18n import gettext
from app.core.time import utcnow
from app.extensions import db
from app.mediation.record import is_mediator, password_ok  # noqa: F401  (password_ok: used by the views)

MAX_IMAGE_BYTES = 200 * 1024
MAX_SIDE = 4000          # pixels: a canvas is at most a few thousand wide; larger is not a signature
OUT_WIDTH = 600          # the stored signature's width at most
MIN_INK = 12             # pixels: the drawn strokes must span at least this much
DATA_URL_PREFIX = "data:image/png;base64,"
ROLE_LABELS_ALL = {**ROLE_LABELS, "mediator": "调解员"}


class SignatureRefused(DomainError):
    """A signature that cannot be taken now; the message says why."""

    status_code = 409


class SignatureImageError(ValueError):
    """The drawn signature is missing, blank or not an image; the message is for the page."""


# --- who signs ------------------------------------------------------------------------------------
def party_signers(case: Case) -> list[CaseParty]:
    """Parties in order (applicants first), each user once; the mediator is never a party signer."""
    seen, out = set(), []
    for p in sorted(case.parties, key=lambda p: (p.role.value != "applicant", p.id)):
        if p.user_id and p.user_id not in seen and p.user_id != case.mediator_id:
            seen.add(p.user_id)
            out.append(p)
    return out


def signer_party(case: Case, user: User) -> CaseParty | None:
    return next((p for p in party_signers(case) if user.is_authenticated and p.user_id == user.id), None)


def signer_role(case: Case, user: User) -> str | None:
    if is_mediator(case, user):
        return "mediator"
    party = signer_party(case, user)
    return party.role.value if party else None


@dataclass
class SignatureLine:
    role: str
    role_label: str
    name: str
    user_id: int | None
    signature: AgreementSignature | None


def signature_lines(case: Case, agreement: Agreement | None) -> list[SignatureLine]:
    """Every party (applicants first), then the mediator, with their signature of this version (or None)."""
    signed = {s.user_id: s for s in (agreement.signatures if agreement else [])
              if s.content_hash == agreement.content_hash}
    parties = sorted(case.parties, key=lambda p: (p.role.value != "applicant", p.id))
    lines = [SignatureLine(p.role.value, ROLE_LABELS[p.role.value], p.name, p.user_id,
                           signed.get(p.user_id) if p.user_id else None) for p in parties]
    signed_by = _mediator_signature(agreement)
    mediator_id = signed_by.user_id if signed_by else case.mediator_id
    mediator = db.session.get(User, mediator_id) if mediator_id else None
    if mediator is not None:
        lines.append(SignatureLine("mediator", ROLE_LABELS_ALL["mediator"], mediator.display_name,
                                   mediator.id, signed.get(mediator.id)))
    return lines


def _mediator_signature(agreement: Agreement | None) -> AgreementSignature | None:
    return next((s for s in (agreement.signatures if agreement else []) if s.role == "mediator"), None)


def has_signed(agreement: Agreement | None, user: User) -> bool:
    return agreement is not None and any(s.user_id == user.id for s in agreement.signatures)


def waiting_for_parties(case: Case, agreement: Agreement) -> list[CaseParty]:
    signed = {s.user_id for s in agreement.signatures}
    return [p for p in party_signers(case) if p.user_id not in signed]


def may_sign_now(case: Case, user: User, agreement: Agreement | None) -> bool:
    return (agreement is not None and agreement.status == "signing" and signer_role(case, user) is not None
            and not has_signed(agreement, user))


def check_turn(case: Case, user: User, agreement: Agreement | None, seen_hash: str) -> None:
    """Refuse (409) a signature that cannot be taken now."""
    if agreement is None or agreement.status not in ("signing", "signed"):
        raise SignatureRefused(gettext("调解协议尚未送交各方审阅，暂时不能签署。"))
    if has_signed(agreement, user):
        raise SignatureRefused(gettext("您已签署第 %(n)s 版调解协议。", n=agreement.version))
    if agreement.status == "signed":
        raise SignatureRefused(gettext("调解协议已签署完毕。"))
    if seen_hash != agreement.content_hash:
        raise SignatureRefused(gettext("协议已更新为第 %(n)s 版，您看到的不是最新版本。请阅读最新版本后再签署。",
                                       n=agreement.version))
    if is_mediator(case, user) and waiting_for_parties(case, agreement):
        names = "、".join(p.name for p in waiting_for_parties(case, agreement))
        raise SignatureRefused(gettext("请等各方当事人签署后，调解员最后签署。尚未签署：%(names)s。", names=names))


def expected_names(case: Case, user: User) -> set[str] | None:
    """Names the signer may type (None: any, e.g. the representative signing for an organisation)."""
    party = signer_party(case, user)
    if party is not None and party.kind.value == "organisation":
        return None
    return {n for n in (user.display_name, party.name if party else None) if n}


# --- the drawn signature ----------------------------------------------------------------------------
def decode_drawn(data_url: str) -> bytes:
    """The canvas's PNG data URL -> a re-encoded PNG (greyscale with alpha, cropped to the strokes, at most
    600 px wide). Raises SignatureImageError for anything missing, too large, not a PNG, or blank."""
    data_url = (data_url or "").strip()
    if not data_url:
        raise SignatureImageError(gettext("请在框内手写签名，或改为输入姓名签署。"))
    if not data_url.startswith(DATA_URL_PREFIX):
        raise SignatureImageError(gettext("签名图片无效，请清除后重新书写。"))
    encoded = data_url[len(DATA_URL_PREFIX):]
    if len(encoded) > MAX_IMAGE_BYTES * 4 // 3 + 8:
        raise SignatureImageError(gettext("签名图片过大（最多 200 KB），请清除后重新书写。"))
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureImageError(gettext("签名图片无效，请清除后重新书写。")) from None
    if len(raw) > MAX_IMAGE_BYTES:
        raise SignatureImageError(gettext("签名图片过大（最多 200 KB），请清除后重新书写。"))
    return _reencode(raw)


def _reencode(raw: bytes) -> bytes:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(raw))
            if img.format != "PNG" or max(img.size) > MAX_SIDE:
                raise SignatureImageError(gettext("签名图片无效，请清除后重新书写。"))
            img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError):
        raise SignatureImageError(gettext("签名图片无效，请清除后重新书写。")) from None
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    ink = ImageOps.invert(Image.alpha_composite(white, rgba).convert("L"))  # strokes bright, paper black
    box = ink.point(lambda v: 255 if v > 40 else 0).getbbox()
    if box is None or max(box[2] - box[0], box[3] - box[1]) < MIN_INK:
        raise SignatureImageError(gettext("签名是空白的，请在框内手写您的签名。"))
    pad = 8
    box = (max(box[0] - pad, 0), max(box[1] - pad, 0),
           min(box[2] + pad, ink.width), min(box[3] + pad, ink.height))
    alpha = ink.crop(box)
    if alpha.width > OUT_WIDTH:
        height = max(1, round(alpha.height * OUT_WIDTH / alpha.width))
        alpha = alpha.resize((OUT_WIDTH, height), Image.LANCZOS)
    out = Image.new("LA", alpha.size, 0)
    out.putalpha(alpha)  # dark ink (black) wherever the signer drew, transparent elsewhere
    buf = io.BytesIO()
    out.save(buf, "PNG", optimize=True)
    return buf.getvalue()


# --- signing --------------------------------------------------------------------------------------
def sign(case: Case, user: User, agreement: Agreement, *, method: str, typed_name: str,
         image_png: bytes | None, seen_hash: str, ip_address: str | None,
         request_pdf: bool = True) -> AgreementSignature:
    """Store one signature (the caller checked the name and the password). The mediator's, which comes last,
    makes the agreement signed and asks for its PDF (app.agreements.pdf.request_pdf; request_pdf=False for the
    demo seed, whose PDF is made when it is first asked for)."""
    check_turn(case, user, agreement, seen_hash)
    role = signer_role(case, user)
    if role is None:
        raise DomainError(gettext("您不是本协议的签署人。"), 403)
    if method not in ("drawn", "typed") or (method == "drawn") != (image_png is not None):
        raise DomainError(gettext("请选择签署方式。"), 422)
    now = utcnow()
    signature = AgreementSignature(agreement_id=agreement.id, user_id=user.id, role=role, method=method,
                                   typed_name=typed_name.strip(), image_png=image_png,
                                   content_hash=agreement.content_hash, ip_address=ip_address, signed_at=now)
    db.session.add(signature)
    db.session.flush()
    db.session.refresh(agreement)
    if role == "mediator":
        agreement.status, agreement.signed_at = "signed", now
        db.session.flush()
        if request_pdf:
            _request_pdf(agreement.id)
            _schedule_confirmation_reminders(agreement)
    return signature


def _schedule_confirmation_reminders(agreement: Agreement) -> None:
    from app.agreements.confirmation import (
        schedule_confirmation_reminders,  # confirmation imports this module
    )

    schedule_confirmation_reminders(agreement)


def _request_pdf(agreement_id: int) -> None:
    from app.agreements.pdf import request_pdf

    request_pdf(agreement_id)


def fully_signed(agreement: Agreement | None) -> bool:
    return agreement is not None and agreement.status == "signed" and agreement.signed_at is not None


# --- change requests --------------------------------------------------------------------------------
def request_change(case: Case, user: User, agreement: Agreement | None, text: str) -> ChangeRequest:
    """A party asks the mediator to change the version under review."""
    if signer_party(case, user) is None:
        raise DomainError(gettext("只有本案当事人可以提出修改意见。"), 403)
    if agreement is None or agreement.status != "signing":
        raise DomainError(gettext("调解协议尚未送交各方审阅，暂时不能提出修改意见。"), 409)
    request = ChangeRequest(agreement_id=agreement.id, user_id=user.id, text=text.strip(),
                            created_at=utcnow())
    db.session.add(request)
    db.session.flush()
    return request
