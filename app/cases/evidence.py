"""Evidence uploads: checked by content (not name), size-limited, image metadata stripped, stored under random names."""
from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageOps, UnidentifiedImageError

from app.accounts.models import User
from app.cases.models import Case, EvidenceFile
from app.cases.operations import append_event
from app.core.errors import DomainError
from app.core.i18n import N_, gettext
from app.core.storage import FileStorage
from app.extensions import db

Image.MAX_IMAGE_PIXELS = 60_000_000  # a phone photo is ~12-50 MP; beyond this, refuse (decompression bombs)

_SIGNATURES = (
    (b"%PDF-", "application/pdf", 0),
    (b"\xff\xd8\xff", "image/jpeg", 0),
    (b"\x89PNG\r\n\x1a\n", "image/png", 0),
    (b"ID3", "audio/mpeg", 0),
    (b"ftyp", "video/mp4", 4),
)
ACCEPTED_MESSAGE = N_("只接受 PDF、JPEG、PNG、MP3 或 MP4 文件（按文件内容判断，不看文件名）。")


def sniff_content_type(head: bytes) -> str | None:
    """The evidence type from the file's first bytes, never from its name."""
    for magic, mime, offset in _SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            return mime
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # MPEG audio frame sync
        return "audio/mpeg"
    return None


def strip_image_metadata(data: bytes, mime: str) -> bytes:
    """Re-encode a photo without EXIF (GPS position, phone model, time) or text chunks; keep its orientation."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            upright = ImageOps.exif_transpose(img)
            out = io.BytesIO()
            if mime == "image/jpeg":
                upright = upright.convert("RGB") if upright.mode not in ("RGB", "L") else upright
                upright.save(out, "JPEG", quality=92, optimize=True, icc_profile=img.info.get("icc_profile"))
            else:
                upright.save(out, "PNG", optimize=True, icc_profile=img.info.get("icc_profile"))
            return out.getvalue()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DomainError(gettext("图片文件已损坏或过大，无法读取，请重新拍照或导出后再上传。"), 422) from exc


def add_evidence(case: Case, uploader: User, filename: str, data: bytes, store: FileStorage,
                 max_bytes: int, description: str | None = None) -> EvidenceFile:
    """Check the file by content and size, clean images, store it, record it in the case's history."""
    if not case.can_add_evidence(uploader):
        raise DomainError(gettext("您不能为此案件上传证据。"), 403)
    if not data:
        raise DomainError(gettext("上传的文件是空的。"), 422)
    if len(data) > max_bytes:
        raise DomainError(gettext("文件超过 %(mb)s MB，请压缩后再上传。", mb=f"{max_bytes / (1024 * 1024):.3g}"), 413)
    mime = sniff_content_type(data[:16])
    if mime is None:
        raise DomainError(gettext(ACCEPTED_MESSAGE), 422)
    if mime.startswith("image/"):
        data = strip_image_metadata(data, mime)
    key = store.put_random(data)
    evidence = EvidenceFile(case=case, uploaded_by_id=uploader.id, original_name=(filename or "evidence")[-200:],
                            content_type=mime, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                            storage_key=key, description=description)
    db.session.add(evidence)
    db.session.flush()
    append_event(case, uploader, "add_evidence", (case.stage, case.status), evidence.original_name)
    return evidence
