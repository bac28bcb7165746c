"""MP4 / MOV / 3GP / M4A evidence is recognised by its ISO base media structure: a first `ftyp` box with an accepted
brand, top-level boxes chaining to the end of the file, a `moov` or `mdat` among them; "ftyp" at byte 4 is not enough.
Every file here is written out by hand, box by box."""
from __future__ import annotations

import pytest

from app.cases.evidence import sniff_content_type

# ftyp: size 32, major brand isom, minor version 0x200, compatible brands isom iso2 avc1 mp41
FTYP = b"\x00\x00\x00\x20ftyp" b"isom" b"\x00\x00\x02\x00" b"isomiso2avc1mp41"
FREE = b"\x00\x00\x00\x08free"
MDAT = b"\x00\x00\x00\x18mdat" + bytes(range(16))
# moov holding one mvhd (version 0): times 0, timescale 1000, duration 0, rate 1.0, volume 1.0, the identity
# matrix, next track id 2
MVHD = (b"\x00\x00\x00\x6cmvhd" b"\x00\x00\x00\x00" b"\x00\x00\x00\x00" b"\x00\x00\x00\x00" b"\x00\x00\x03\xe8"
        b"\x00\x00\x00\x00" b"\x00\x01\x00\x00" b"\x01\x00" + b"\x00" * 10
        + b"\x00\x01\x00\x00" + b"\x00" * 12 + b"\x00\x01\x00\x00" + b"\x00" * 12 + b"\x40\x00\x00\x00"
        + b"\x00" * 24 + b"\x00\x00\x00\x02")
MOOV = b"\x00\x00\x00\x74moov" + MVHD
MP4 = FTYP + FREE + MDAT + MOOV
# A voice memo: ftyp "M4A " (size 24, one compatible brand) then moov
M4A = b"\x00\x00\x00\x18ftyp" b"M4A " b"\x00\x00\x00\x00" b"M4A isom" + MOOV
MOV = b"\x00\x00\x00\x14ftyp" b"qt  " b"\x00\x00\x02\x00" b"qt  " + MDAT + MOOV
THREE_GP = b"\x00\x00\x00\x18ftyp" b"3gp4" b"\x00\x00\x02\x00" b"isom3gp4" + MOOV + MDAT
# mdat with size 1: the real size (8 + 8 + 16 = 32) follows as 64 bits
LARGE_MDAT = b"\x00\x00\x00\x01mdat" b"\x00\x00\x00\x00\x00\x00\x00\x20" + bytes(16)
# mdat with size 0: runs to the end of the file
OPEN_MDAT = b"\x00\x00\x00\x00mdat" + bytes(40)
FTYP_THEN_GARBAGE = b"\x00\x00\x00\x18ftyp" b"isom" b"\x00\x00\x02\x00" b"isommp42" \
    b"<html><script>alert(document.domain)</script></html>"


def test_the_hand_made_file_is_what_it_claims():
    assert len(MVHD) == 0x6C and len(MOOV) == 0x74 and len(FTYP) == 0x20 and len(MDAT) == 0x18


@pytest.mark.parametrize("data", [
    MP4, M4A, MOV, THREE_GP,
    FTYP + MOOV + LARGE_MDAT,                                      # a 64-bit box size
    FTYP + MOOV + OPEN_MDAT,                                       # the last box runs to the end
    FTYP + MOOV + b"\x00\x00\x00\x18uuid" + bytes(16),              # a box of a type we do not know is fine
    FTYP.replace(b"ftypisom", b"ftypmp42", 1) + MDAT,              # mdat alone (moov written later, or elsewhere)
])
def test_iso_media_with_a_known_brand_and_chained_boxes_is_mp4(data):
    assert sniff_content_type(data) == "video/mp4"


@pytest.mark.parametrize("data", [
    FTYP_THEN_GARBAGE,                                             # ftyp at byte 4, then anything
    b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00",                   # a 32-byte ftyp in a 16-byte file
    MP4[:-5],                                                      # truncated inside moov
    MP4[:len(FTYP) + 3],                                           # truncated inside a box header
    FTYP,                                                          # ftyp and nothing else
    FTYP + FREE,                                                   # neither moov nor mdat
    FTYP + MOOV + b"\x00\x00\x00",                                 # three stray bytes after the last box
    b"\x00\x00\x00\x0cftypisom" + MOOV,                            # ftyp too short to hold its brand and version
    b"\x00\x00\x00\x07ftypisom" + MOOV,                            # a size smaller than its own header
    b"\x00\x00\x00\x00ftyp" b"isom" b"\x00\x00\x02\x00" + MOOV,    # ftyp of size 0 swallows the file: no moov
    FTYP.replace(b"ftypisom", b"ftypheic", 1) + MDAT,              # a HEIC picture is not a video
    FTYP.replace(b"ftypisom", b"ftypM4P ", 1) + MOOV,              # DRM-protected audio
    FTYP + b"\x00\x00\x00\x01mdat" b"\x00\x00\x00\x00\x00\x00\x10\x00" + bytes(16),  # a 64-bit size past the end
    FTYP + b"\x00\x00\x00\x01mdat" b"\x00\x00\x00\x00\x00\x00\x00\x08" + bytes(16),  # ... or inside its header
    FTYP + b"\x00\x00\x00\x18md\x00t" + bytes(16),                 # a box type that is not text
    MOOV + FTYP + MDAT,                                            # ftyp not first
    b"MZ\x90\x00ftypisom" + bytes(8) + MOOV,                        # a Windows program with ftyp at byte 4
])
def test_anything_less_is_refused(data):
    assert sniff_content_type(data) is None
