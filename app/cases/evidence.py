"""Evidence uploads: checked by content, the name's extension must match it, size-limited, image metadata stripped,
stored under random names; downloads named by the stored type."""
from __future__ import annotations

import hashlib
import io
import re
import struct
import unicodedata

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
)
ACCEPTED_MESSAGE = N_("只接受 PDF、JPEG、PNG、MP3 或 MP4 文件（按文件内容判断，不看文件名）。")
NAME_MISMATCH_MESSAGE = N_("文件扩展名（.%(ext)s）与文件内容（%(kind)s）不符，请上传原始文件。")

# The extensions a name may carry for each accepted type; the first is the one a download gets when the stored
# name's own does not belong. ISO media (ftyp) covers phone videos and voice memos: .m4a, .mov, .3gp alike.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "application/pdf": ("pdf",),
    "image/jpeg": ("jpg", "jpeg", "jpe", "jfif"),
    "image/png": ("png",),
    "audio/mpeg": ("mp3",),
    "video/mp4": ("mp4", "m4a", "m4v", "mov", "3gp"),
}
TYPE_LABELS = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG", "audio/mpeg": "MP3",
               "video/mp4": "MP4"}

# MPEG audio layer III: bitrates (kbit/s) by index for MPEG-1 and for MPEG-2/2.5; sample rates (Hz) by version bits.
_MP3_BITRATES = {1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
                 2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_MP3_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}

# ISO base media (ISO/IEC 14496-12) major brands stored as "video/mp4": what phones and cameras write for .mp4, .m4v,
# .mov, .3gp and .m4a. Any other brand (HEIC/AVIF pictures, Canon raw, DRM-protected M4P, ...) is refused.
ISO_MEDIA_BRANDS = frozenset({
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"mmp4", b"MSNV",  # MP4
    b"M4V ", b"M4VH", b"M4VP",                                                                     # iTunes video
    b"M4A ", b"M4B ",                                                                      # AAC audio, audiobooks
    b"qt  ",                                                                                    # QuickTime .mov
    b"3gp4", b"3gp5", b"3gp6", b"3gp7", b"3gp8", b"3gp9", b"3gg6", b"3gs7", b"3ge6", b"3ge7",         # 3GPP
    b"3g2a", b"3g2b", b"3g2c",                                                                        # 3GPP2
})
MAX_TOP_LEVEL_BOXES = 100_000  # a long fragmented recording has thousands; millions of 8-byte boxes is an attack


def _mp3_frame(data: bytes, pos: int) -> tuple[int, int] | None:
    """(frame length, version/sample-rate key) of a valid MPEG audio layer III frame header at pos, else None."""
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    b1, b2, b3 = data[pos + 1], data[pos + 2], data[pos + 3]
    version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
    bitrate_index, rate_index, padding = b2 >> 4, (b2 >> 2) & 3, (b2 >> 1) & 1
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3 or b3 & 3 == 2:
        return None  # reserved version, not layer III, free/bad bitrate, reserved sample rate or emphasis
    bitrate = _MP3_BITRATES[1 if version == 3 else 2][bitrate_index] * 1000
    rate = _MP3_SAMPLE_RATES[version][rate_index]
    length = (144 if version == 3 else 72) * bitrate // rate + padding
    return length, (b1 & 0x1E) << 8 | b2 & 0x0C


def _mp3_frames_at(data: bytes, pos: int) -> bool:
    """Two consecutive layer III frames of the same stream start at pos (one lucky header is not audio)."""
    first = _mp3_frame(data, pos)
    if first is None:
        return False
    second = _mp3_frame(data, pos + first[0])
    return second is not None and second[1] == first[1]


def _id3v2_end(data: bytes) -> int | None:
    """Where the audio starts after a well-formed ID3v2 tag at the start of data, else None."""
    if len(data) < 10 or data[:3] != b"ID3":
        return None
    major, revision, flags, size = data[3], data[4], data[5], data[6:10]
    allowed_flags = {2: 0xC0, 3: 0xE0, 4: 0xF0}.get(major)
    if allowed_flags is None or revision == 0xFF or flags & ~allowed_flags or any(b & 0x80 for b in size):
        return None
    length = size[0] << 21 | size[1] << 14 | size[2] << 7 | size[3]  # "synchsafe": 7 bits a byte
    end = 10 + length + (10 if major == 4 and flags & 0x10 else 0)  # v2.4 footer
    while end < len(data) and data[end] == 0:  # some encoders pad past the tag's declared size
        end += 1
    return end


def is_mp3(data: bytes) -> bool:
    """MPEG audio layer III: valid frame headers (sync, version, layer, bitrate, sample rate), after any ID3v2 tag."""
    start = _id3v2_end(data) if data[:3] == b"ID3" else 0
    return start is not None and _mp3_frames_at(data, start)


def _top_level_boxes(data: bytes) -> list[tuple[bytes, int, int]] | None:
    """(type, header length, size) of each top-level ISO box, or None unless the sizes chain exactly to the end of
    the file (size 1: a 64-bit size follows the type; size 0: the box runs to the end) and every type is ASCII."""
    boxes: list[tuple[bytes, int, int]] = []
    pos = 0
    while pos < len(data):
        if len(boxes) >= MAX_TOP_LEVEL_BOXES or pos + 8 > len(data):
            return None
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > len(data):
                return None
            (size,), header = struct.unpack_from(">Q", data, pos + 8), 16
        elif size == 0:
            size = len(data) - pos
        if size < header or pos + size > len(data) or not all(0x20 <= b <= 0x7E for b in kind):
            return None
        boxes.append((kind, header, size))
        pos += size
    return boxes


def is_iso_media(data: bytes) -> bool:
    """MP4, MOV, 3GP or M4A: a first `ftyp` box holding an accepted major brand (ISO_MEDIA_BRANDS), top-level boxes
    that chain to the end of the file, and a `moov` or `mdat` box among them (a bare "ftyp" at byte 4 is not one)."""
    if data[4:8] != b"ftyp":
        return False
    boxes = _top_level_boxes(data)
    if not boxes:
        return False
    _kind, header, size = boxes[0]
    if size < header + 8:  # the major brand and the minor version are not inside the box
        return False
    brand = data[header:header + 4]
    return brand in ISO_MEDIA_BRANDS and any(kind in (b"moov", b"mdat") for kind, _h, _s in boxes[1:])


def sniff_content_type(data: bytes) -> str | None:
    """The evidence type from the file's content (give the whole file: MP3 is checked frame by frame and ISO media
    box by box), never its name."""
    for magic, mime, offset in _SIGNATURES:
        if data[offset:offset + len(magic)] == magic:
            return mime
    if is_iso_media(data):
        return "video/mp4"
    if is_mp3(data):
        return "audio/mpeg"
    return None


_EXTENSION_RE = re.compile(r"[a-z0-9]{1,10}")
_ODD_IN_NAMES = re.compile(r'[<>:"/\\|?*;]')


def split_name(filename: str | None) -> tuple[str, str | None]:
    """(stem, lower-case extension or None) of an uploaded name: no folders, control or bidi-override characters,
    trailing dots or spaces. "v1.2" has no extension (one needs a letter)."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(" " if ch.isspace() else ch for ch in name if ch.isspace() or unicodedata.category(ch)[0] != "C")
    name = name.strip().rstrip(". ").strip()
    stem, dot, ext = name.rpartition(".")
    ext = ext.lower()
    if dot and _EXTENSION_RE.fullmatch(ext) and not ext.isdigit():
        return stem, ext
    return name, None


def clean_stem(stem: str, limit: int = 100) -> str:
    """A stem safe in a Content-Disposition name on every system: Chinese kept, odd characters replaced."""
    stem = _ODD_IN_NAMES.sub("_", stem)
    stem = re.sub(r"\s+", " ", stem).strip(" .")
    return stem[:limit].rstrip(" .")


class EvidenceRefused(DomainError):
    """A file refused as evidence for its content or its name (422). Keeps the catalogue message and its variables
    so that a caller outside a request (a bundle import) can say it in Chinese and English."""

    def __init__(self, msgid: str, **variables):
        super().__init__(gettext(msgid, **variables), 422)
        self.msgid, self.variables = msgid, variables


def stored_name(filename: str | None, mime: str) -> str:
    """The name to keep for an upload of this type; refuses (422) one whose extension belongs to another type."""
    stem, ext = split_name(filename)
    if ext is not None and ext not in EXTENSIONS[mime]:
        raise EvidenceRefused(NAME_MISMATCH_MESSAGE, ext=ext, kind=TYPE_LABELS[mime])
    stem = re.sub(r"\s+", " ", stem).strip(" .")[:150]  # shown escaped in pages; downloads clean it (served_as)
    return f"{stem or 'evidence'}.{ext or EXTENSIONS[mime][0]}"


def checked_evidence(filename: str | None, data: bytes) -> tuple[str, str]:
    """(content type, name to store) of a file by its content; EvidenceRefused when the content is none of the accepted
    types or the name's extension belongs to another type. Uploads and bundle imports both go through here."""
    mime = sniff_content_type(data)
    if mime is None:
        raise EvidenceRefused(ACCEPTED_MESSAGE)
    return mime, stored_name(filename, mime)


def served_as(evidence: EvidenceFile) -> tuple[str, str]:
    """(content type, download name) of a stored file: the name's extension always comes from the stored type, so
    a file never leaves as .html or .exe whatever it was called (rows imported or stored before this check too)."""
    mime = evidence.content_type if evidence.content_type in EXTENSIONS else "application/octet-stream"
    stem, ext = split_name(evidence.original_name)
    if ext is None or ext not in EXTENSIONS.get(mime, ()):
        ext = EXTENSIONS[mime][0] if mime in EXTENSIONS else "bin"
    return mime, f"{clean_stem(stem) or f'evidence-{evidence.id}'}.{ext}"


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
    mime, name = checked_evidence(filename, data)
    if mime.startswith("image/"):
        data = strip_image_metadata(data, mime)
    key = store.put_random(data)
    evidence = EvidenceFile(case=case, uploaded_by_id=uploader.id, original_name=name,
                            content_type=mime, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                            storage_key=key, description=description)
    db.session.add(evidence)
    db.session.flush()
    append_event(case, uploader, "add_evidence", (case.stage, case.status), evidence.original_name)
    return evidence
