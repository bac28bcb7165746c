"""Verification: pyHanko finds the signed PDF intact and valid with the development CA as trust root; one changed
byte makes it invalid; /verify says so to anyone, with the parties' names masked and never a phone or ID number;
the QR code's link checks the content hash."""
from __future__ import annotations

import hashlib
import io
import re

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.agreements.models import Agreement
from app.cases.models import Case
from app.extensions import db
from tests.agreements.test_pdf import signed_case


@pytest.fixture(autouse=True)
def _generous_rate_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "1000/minute")


def _pdf(web, case_id) -> bytes:
    resp = web.client.get(f"/cases/{case_id}/agreement.pdf")
    assert resp.status_code == 200
    return resp.get_data()


def _flip(pdf: bytes, at: int) -> bytes:
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1:]


def _upload(web, data: bytes, name="agreement.pdf"):
    return web.post("/verify", {"file": (io.BytesIO(data), name)}, page="/verify", content_type="multipart/form-data")


def _secrets(app, case_id) -> list[str]:
    """Phones and ID numbers of the case's parties and their users: never shown by /verify."""
    with app.app_context():
        case = db.session.get(Case, case_id)
        out = [v for p in case.parties for v in (p.phone, p.id_number) if v]
        out += [u.phone for u in db.session.scalars(sa.select(User).where(
            User.id.in_([p.user_id for p in case.parties if p.user_id]))) if u.phone]
        db.session.remove()
    return out


def test_pyhanko_finds_the_signature_intact_and_trusted(app, demo, make_web):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    from app.agreements import pki

    case_id, agreement_id, applicant, *_ = signed_case(app, make_web)
    pdf = _pdf(applicant, case_id)
    with app.app_context():
        roots = pki.trust_roots()
        ca_file = pki.pki_dir() / "ca.pem"
        organisation = db.session.get(Case, case_id).organisation.name
        db.session.remove()
    assert ca_file.is_file() and len(roots) == 1  # the development CA, instance/pki/ca.pem

    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=roots))
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert organisation[:10] in status.signing_cert.subject.human_friendly

    untrusted = validate_pdf_signature(PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0],
                                       ValidationContext(trust_roots=[]))
    assert untrusted.intact and not untrusted.trusted  # a signature is worth its root

    changed = _flip(pdf, len(pdf) // 2)  # one byte in the middle of the signed content
    status = validate_pdf_signature(PdfFileReader(io.BytesIO(changed), strict=False).embedded_signatures[0],
                                    ValidationContext(trust_roots=roots))
    assert not status.intact and not status.bottom_line


def test_any_one_changed_byte_makes_it_invalid(app, demo, make_web):
    from app.agreements.verify import verify_pdf

    case_id, agreement_id, applicant, *_ = signed_case(app, make_web)
    pdf = _pdf(applicant, case_id)
    contents = re.search(rb"/Contents\s*<([0-9a-fA-F]+)>", pdf)
    der_end = contents.start(1) + len(contents.group(1).rstrip(b"0"))
    positions = sorted({*range(0, len(pdf), len(pdf) // 150), contents.start(1) + 8, der_end - 3,  # the CMS
                        der_end + 40, contents.end(1) - 1,  # its zero padding
                        contents.end(1) + 2, len(pdf) - 2})
    with app.app_context():
        assert verify_pdf(pdf).ok
        for at in positions:
            verdict = verify_pdf(_flip(pdf, at))
            assert not verdict.ok and verdict.agreement is None, at
            if not (contents.start(1) <= at < contents.end(1)):
                assert not verdict.signature_ok, at  # pyHanko alone sees every change the signature covers
        db.session.remove()


def test_the_verify_page_shows_valid_and_the_masked_parties(app, demo, make_web):
    case_id, agreement_id, applicant, *_ = signed_case(app, make_web)
    pdf = _pdf(applicant, case_id)
    stranger = make_web()  # no login needed
    form = stranger.get("/verify")
    assert form.status_code == 200 and 'type="file"' in form.get_data(as_text=True)
    page = _upload(stranger, pdf)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "verdict-valid" in html and "有效" in html
    assert "王*英" in html and "李*国" in html and "王秀英" not in html and "李建国" not in html
    assert f"#{case_id}" in html and "楼上漏水殃及我家天花板" in html
    assert "签名人" in html and "签名时间" in html
    digest = hashlib.sha256(pdf).hexdigest()
    assert digest == re.sub(r"<wbr>", "", re.search(r'<code class="hash">(.*?)</code>', html).group(1))
    for secret in _secrets(app, case_id):
        assert secret not in html, secret

    bad = _upload(stranger, _flip(pdf, len(pdf) // 2))
    html = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "verdict-invalid" in html and "无效" in html and "verdict-valid" not in html
    assert "王*英" not in html  # not a PDF we issued


def test_uploads_that_are_not_pdfs_are_refused_next_to_the_field(app, make_web):
    web = make_web()
    resp = _upload(web, b"hello, not a pdf", name="x.pdf")
    assert resp.status_code == 422 and "这不是 PDF 文件" in resp.get_data(as_text=True)
    resp = web.post("/verify", {}, page="/verify")
    assert resp.status_code == 422 and "请选择要核验的 PDF 文件" in resp.get_data(as_text=True)
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    big = b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024)
    web.get("/verify")  # encoded in memory: the test client would spool it to a file it never closes
    boundary, body = encode_multipart({"csrf_token": web.token,
                                       "file": FileStorage(io.BytesIO(big), "big.pdf", "file")})
    resp = web.client.post("/verify", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert resp.status_code == 422 and "文件超过 10 MB" in resp.get_data(as_text=True)
    resp = _upload(web, b"%PDF-1.7\n%%EOF garbage")
    assert resp.status_code == 200 and "verdict-invalid" in resp.get_data(as_text=True)


def test_the_qr_link_checks_the_content_hash(app, demo, make_web):
    case_id, agreement_id, *_ = signed_case(app, make_web)
    with app.app_context():
        content_hash = db.session.get(Agreement, agreement_id).content_hash
        db.session.remove()
    stranger = make_web()
    ok = stranger.get(f"/verify/{agreement_id}?c={content_hash}")
    html = ok.get_data(as_text=True)
    assert ok.status_code == 200 and "内容校验值相符" in html and "已全部签署" in html
    assert "王*英" in html and "李*国" in html and "王秀英" not in html
    assert "/verify" in html  # the link to a full check
    for secret in _secrets(app, case_id):
        assert secret not in html, secret

    wrong = stranger.get(f"/verify/{agreement_id}?c={'0' * 64}")
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 200 and "内容校验值不符" in html and "王*英" not in html and "#" + str(case_id) not in html
    missing = stranger.get(f"/verify/{agreement_id + 1000}?c={content_hash}")
    assert missing.status_code == 200 and "没有编号为" in missing.get_data(as_text=True)


def test_verify_uploads_are_rate_limited(app, make_web, monkeypatch):
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "2/minute")
    web = make_web()
    answers = [_upload(web, b"not a pdf").status_code for _ in range(3)]
    assert answers == [422, 422, 429]


def test_masking():
    from app.agreements.verify import mask_name

    assert [mask_name(n) for n in ("王秀英", "张三", "欧阳娜娜", "李", "")] == ["王*英", "张*", "欧**娜", "*", ""]
