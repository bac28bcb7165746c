"""Evidence names: an upload whose extension belongs to another type than its content is refused next to the file
field; downloads (web and court API) are always named <stem>.<extension of the stored type>; MP3 is recognised by
real frame headers, not by two bytes; MP4 by its boxes (tests/cases/test_iso_media.py)."""
from __future__ import annotations

import hashlib
import io
import re
from urllib.parse import unquote

import pytest
import sqlalchemy as sa

from app.cases.evidence import served_as, sniff_content_type, stored_name
from app.cases.models import EvidenceFile
from tests.api.test_api import Api, issue, litigated_case_ids
from tests.cases.test_intake_wizard import post_step, start
from tests.cases.test_iso_media import FTYP_THEN_GARBAGE, M4A, MP4
from tests.test_permissions import PNG

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"
FRAME = b"\xff\xfb\x90\x44" + b"\x00" * 413  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz: 417 bytes a frame
MP3 = FRAME * 4
ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"TIT2\x00\x00\x00\x00\x00\x00"  # v2.4 tag, 10 bytes of frames


def _download_name(resp) -> str:
    """The file name a browser saves: filename*=UTF-8''... when it is not ASCII, else filename=."""
    header = resp.headers["Content-Disposition"]
    star = re.search(r"filename\*=UTF-8''([^;]+)", header)
    return unquote(star.group(1)) if star else re.search(r'filename="?([^";]+)"?', header).group(1)


def _rows(app, case_id) -> list[tuple[str, str]]:
    from app.extensions import db

    with app.app_context():
        rows = db.session.scalars(sa.select(EvidenceFile).where(EvidenceFile.case_id == case_id)
                                  .order_by(EvidenceFile.id)).all()
        out = [(e.original_name, e.content_type) for e in rows]
        db.session.remove()
    return out


@pytest.mark.parametrize(("name", "data", "message"), [
    ("notes.html", b"%PDF-1.4\n<html><script>alert(document.domain)</script></html>",
     "文件扩展名（.html）与文件内容（PDF）不符，请上传原始文件。"),
    ("notes.htm", PDF, "文件扩展名（.htm）与文件内容（PDF）不符"),
    ("照片.PNG", MP3, "文件扩展名（.png）与文件内容（MP3）不符"),
    ("录音.mp3", PNG, "文件扩展名（.mp3）与文件内容（PNG）不符"),
    ("run.exe", b"\xff\xfbMZ this is not audio at all", "只接受 PDF、JPEG、PNG、MP3 或 MP4 文件"),
    ("x.svg", b"ID3<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
     "只接受 PDF、JPEG、PNG、MP3 或 MP4 文件"),
    ("视频.mp4", FTYP_THEN_GARBAGE, "只接受 PDF、JPEG、PNG、MP3 或 MP4 文件"),
    ("视频.mp4", MP4[:-5], "只接受 PDF、JPEG、PNG、MP3 或 MP4 文件"),
    ("视频.pdf", MP4, "文件扩展名（.pdf）与文件内容（MP4）不符"),
])
def test_a_mismatched_or_disguised_upload_is_refused_next_to_the_file_field_and_the_draft_keeps_all(
        app, demo, make_web, name, data, message):
    web = make_web()
    web.login("resident1")
    case_id = start(web)
    resp = post_step(web, case_id, 4, {"file": (io.BytesIO(data), name), "description": "楼上漏水的照片和录音"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and message in html
    assert 'value="楼上漏水的照片和录音"' in html  # what was typed stays in the form
    assert _rows(app, case_id) == []
    again = web.get(f"/cases/{case_id}/intake/1").get_data(as_text=True)
    assert "装修噪音" in again and "楼上邻居装修" in again  # the draft lost nothing
    assert post_step(web, case_id, 4, {"file": (io.BytesIO(PNG), "现场.png")}).status_code == 302


def test_the_case_page_upload_refuses_a_mismatched_name_too(app, demo, make_web):
    web = make_web()
    web.login("resident1")
    case_id = litigated_case_ids(app)[0]
    before = _rows(app, case_id)
    resp = web.post(f"/cases/{case_id}/evidence", {"file": (io.BytesIO(PDF), "notes.html"), "description": "借条原件"},
                    page=f"/cases/{case_id}", content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "办理记录" in html                      # the case page itself, again
    assert '<p class="error" id="file-error">文件扩展名（.html）与文件内容（PDF）不符' in html  # by the file field
    assert 'value="借条原件"' in html                                          # the description is kept
    assert _rows(app, case_id) == before
    empty = web.post(f"/cases/{case_id}/evidence", {"description": "借条原件"}, page=f"/cases/{case_id}",
                     content_type="multipart/form-data")
    assert empty.status_code == 422 and '<p class="error" id="file-error">请选择要上传的文件。</p>' in empty.get_data(
        as_text=True)


@pytest.mark.parametrize(("name", "data", "stored", "downloaded", "mime"), [
    ("借条扫描件.PDF", PDF, "借条扫描件.pdf", "借条扫描件.pdf", "application/pdf"),
    ("聊天记录", PNG, "聊天记录.png", "聊天记录.png", "image/png"),
    ("报告 v1.2", PDF, "报告 v1.2.pdf", "报告 v1.2.pdf", "application/pdf"),
    ("\u202e3pm.mp3", MP3, "3pm.mp3", "3pm.mp3", "audio/mpeg"),
    ("录音.MP3", ID3 + MP3, "录音.mp3", "录音.mp3", "audio/mpeg"),
    ("录音.m4a", M4A, "录音.m4a", "录音.m4a", "video/mp4"),
    ("视频", MP4, "视频.mp4", "视频.mp4", "video/mp4"),
    (".pdf", PDF, "evidence.pdf", "evidence.pdf", "application/pdf"),
])
def test_accepted_names_are_stored_with_the_type_s_extension_and_downloaded_so(
        app, demo, make_web, name, data, stored, downloaded, mime):
    web = make_web()
    web.login("resident1")
    case_id = start(web)
    assert post_step(web, case_id, 4, {"file": (io.BytesIO(data), name)}).status_code == 302
    assert _rows(app, case_id) == [(stored, mime)]
    from app.extensions import db

    with app.app_context():
        evidence_id = db.session.scalar(sa.select(EvidenceFile.id).where(EvidenceFile.case_id == case_id))
        db.session.remove()
    resp = web.client.get(f"/cases/{case_id}/evidence/{evidence_id}")
    assert resp.status_code == 200 and resp.mimetype == mime and _download_name(resp) == downloaded
    assert resp.headers["Content-Disposition"].startswith("attachment")
    resp.close()


@pytest.mark.parametrize(("name", "content_type", "downloaded", "served"), [
    ("notes.html", "application/pdf", "notes.pdf", "application/pdf"),       # stored before the name was checked
    ("run.exe", "audio/mpeg", "run.mp3", "audio/mpeg"),
    ("x.svg", "audio/mpeg", "x.mp3", "audio/mpeg"),
    ("照片.jpeg", "image/jpeg", "照片.jpeg", "image/jpeg"),                    # an alias of the type is kept
    ("页面.html", "text/html", "页面.bin", "application/octet-stream"),       # a type we never accept (an import)
    ("..", "application/pdf", None, "application/pdf"),
])
def test_stored_rows_are_downloaded_under_their_type_s_extension_on_the_web_and_the_court_api(
        app, demo, make_web, name, content_type, downloaded, served):
    from app.core.storage import storage
    from app.extensions import db

    case_id = litigated_case_ids(app)[0]
    with app.app_context():
        key = storage().put_random(PDF)
        row = EvidenceFile(case_id=case_id, uploaded_by_id=1, original_name=name, content_type=content_type,
                           size_bytes=len(PDF), sha256=hashlib.sha256(PDF).hexdigest(), storage_key=key)
        db.session.add(row)
        db.session.commit()
        evidence_id = row.id
        db.session.remove()
    downloaded = downloaded or f"evidence-{evidence_id}.pdf"
    web = make_web()
    web.login("resident1")
    api = Api(app, issue(app)[1])
    for resp in (web.client.get(f"/cases/{case_id}/evidence/{evidence_id}"),
                 api.get(f"/api/v1/cases/{case_id}/evidence/{evidence_id}")):
        assert resp.status_code == 200 and resp.mimetype == served
        assert _download_name(resp) == downloaded and resp.headers["Content-Disposition"].startswith("attachment")
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        resp.close()


@pytest.mark.parametrize(("uploaded", "mime", "stored", "downloaded"), [
    ("C:\\fakepath\\收据.png", "image/png", "收据.png", "收据.png"),            # an old browser's full path
    ('a"b<c>|d?.png', "image/png", 'a"b<c>|d?.png', "a_b_c__d_.png"),                # pages escape; downloads clean
    ("合同\u202e.pdf", "application/pdf", "合同.pdf", "合同.pdf"),                 # bidi override dropped
    ("  借条 .JPG. ", "image/jpeg", "借条.jpg", "借条.jpg"),                      # trailing dots and spaces
    ("a.tar.gz", "application/pdf", None, None),
    ("x.html.", "application/pdf", None, None),
])
def test_names_are_cleaned_and_refused_the_same_way_as_on_the_pages(uploaded, mime, stored, downloaded):
    from app.core.errors import DomainError

    if stored is None:
        with pytest.raises(DomainError, match="与文件内容（PDF）不符"):
            stored_name(uploaded, mime)
        return
    assert stored_name(uploaded, mime) == stored
    assert served_as(EvidenceFile(id=7, original_name=uploaded, content_type=mime)) == (mime, downloaded)


MPEG2 = b"\xff\xf3\x80\xc4" + b"\x00" * 204  # MPEG-2 layer III, 64 kbit/s, 22.05 kHz: 208 bytes a frame


@pytest.mark.parametrize(("data", "expected"), [
    (MP3, "audio/mpeg"),
    (ID3 + MP3, "audio/mpeg"),
    (ID3 + b"\x00" * 32 + MP3, "audio/mpeg"),                            # padding past the tag's size
    (MPEG2 * 3, "audio/mpeg"),
    (b"\xff\xfb\x92\x44" + b"\x00" * 414 + FRAME, "audio/mpeg"),       # a padded frame is a byte longer
    (b"\xff\xfb\x92\x44" + b"\x00" * 413 + FRAME, None),               # ... so the next one is not where expected
    (FRAME, None),                                                       # one frame alone is not audio
    (FRAME + b"<html>" * 100, None),                                     # a header, then anything
    (b"\xff\xfbMZ this is not audio at all", None),                      # reserved sample rate
    (b"\xff\xeb\x90\x44" + FRAME * 3, None),                             # reserved MPEG version
    (b"\xff\xfd\x90\x44" + b"\x00" * 413 + FRAME * 3, None),             # layer II is not MP3
    (b"\xff\xfb\x00\x44" + b"\x00" * 413 + FRAME * 3, None),             # free-format bitrate
    (b"\xff\xfb\xf0\x44" + b"\x00" * 413 + FRAME * 3, None),             # bad bitrate
    (b"\xff\xfb\x90\x46" + b"\x00" * 413 + FRAME * 3, None),             # reserved emphasis
    (b"ID3\x04\x00\x01\x00\x00\x00\x0a" + b"\x00" * 10 + MP3, None),     # undefined flag bit
    (b"ID3\x04\x00\x00\x00\x00\x80\x0a" + b"\x00" * 10 + MP3, None),     # a size byte that is not synchsafe
    (b"ID3\x05\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10 + MP3, None),     # no such ID3 version
    (b"ID3<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", None),
    (ID3 + b"<svg>" + MP3, None),                                        # a tag, then not audio
    (PDF, "application/pdf"),
    (PNG, "image/png"),
])
def test_mp3_needs_real_frame_headers(data, expected):
    assert sniff_content_type(data) == expected
