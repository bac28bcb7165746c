"""The signed agreement's PDF: what it says (pdftotext), its embedded CJK font (pdffonts), two pages with
"第 N 页 共 M 页", nothing read or fetched whatever the text holds, the progress page and its failures."""
from __future__ import annotations

import base64
import hashlib
import http.server
import io
import subprocess
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.agreements.models import Agreement, AgreementPdf, AgreementSignature
from app.cases.models import Case
from app.core.time import utcnow
from app.documents import Document, fonts
from app.extensions import db
from tests.mediation.test_record import case_with_both_parties

FACTS = ("申请人王秀英与被申请人李建国系上下楼邻居。2026年8月起，被申请人家卫生间防水层老化漏水，致申请人家卫生间及客厅"
         "天花板发霉、墙皮脱落。申请人多次上门协商未果，遂申请调解。争议事项：漏水责任的承担、维修费用及赔偿数额。")
RESPONSIBILITY = "被申请人对其房屋卫生间防水层疏于维护，对漏水造成的损失承担全部责任；申请人对损失扩大无过错。"
TERMS = ["被申请人李建国于2026年12月31日前一次性向申请人王秀英支付维修费及损失赔偿共计人民币伍仟元整（¥5,000.00）。",
         "被申请人于2026年12月15日前委托有资质的施工单位重做卫生间防水层，并在完工后做闭水试验48小时，申请人予以配合。",
         "被申请人就漏水给申请人生活造成的不便，当面向申请人赔礼道歉。",
         "双方对本协议内容负有保密义务，不得向无关人员散布对方的个人信息。",
         "被申请人未按期足额履行第一项付款义务的，申请人可以就未付部分向人民法院申请强制执行，被申请人并承担由此产生的费用。",
         "本协议履行完毕后，双方就本次漏水纠纷再无其他争议。"]
PERFORMANCE = ("付款方式：银行转账至申请人指定账户（开户行：徽商银行镜湖支行）。履行地点：芜湖市镜湖区团结社区。"
               "履行期限：第一项于2026年12月31日前，第二项于2026年12月15日前，第三项于本协议签订之日起三日内。")


# --- helpers (shared by the other test modules of this folder) -------------------------------------
def add_signed_agreement(app, case_id, *, terms=None, facts=FACTS, image=None) -> int:
    """A fully signed agreement as model rows (parties typed, the mediator last), as signing would leave it."""
    from app.agreements.drafting import compute_hash

    with app.app_context():
        case = db.session.get(Case, case_id)
        now = utcnow()
        agreement = Agreement(case_id=case_id, version=1, status="signed", facts=facts,
                              responsibility=RESPONSIBILITY, performance=PERFORMANCE,
                              terms=[{"clause": "custom", "params": {}, "text": t} for t in (terms or TERMS)],
                              summary="李建国赔偿5000元、重做防水并道歉。", created_by_id=case.mediator_id,
                              created_at=now - timedelta(hours=1), signed_at=now)
        agreement.content_hash = compute_hash(case, agreement)
        signers = [(p.role.value, p.user_id, p.name) for p in case.parties if p.user_id]
        signers.append(("mediator", case.mediator_id, case.mediator.display_name))
        for i, (role, user_id, name) in enumerate(signers):
            drawn = image is not None and role == "applicant"
            agreement.signatures.append(AgreementSignature(
                user_id=user_id, role=role, method="drawn" if drawn else "typed", typed_name=name,
                image_png=image if drawn else None, content_hash=agreement.content_hash, ip_address="127.0.0.1",
                signed_at=now - timedelta(minutes=10 - i)))
        db.session.add(agreement)
        db.session.commit()
        agreement_id = agreement.id
        db.session.remove()
    return agreement_id


def make_pdf(app, agreement_id):
    """Ask for the PDF as signing does; without Redis the job runs at the commit."""
    from app.agreements.pdf import request_pdf

    with app.app_context():
        request_pdf(agreement_id)
        db.session.commit()
        db.session.remove()
    return pdf_state(app, agreement_id)


def pdf_state(app, agreement_id) -> dict:
    with app.app_context():
        row = db.session.scalar(sa.select(AgreementPdf).where(AgreementPdf.agreement_id == agreement_id))
        out = None if row is None else {"id": row.id, "status": row.status, "attempts": row.attempts,
                                        "error": row.error, "sha256": row.sha256, "document_id": row.document_id}
        db.session.remove()
    return out


def signed_case(app, make_web, **kw):
    """resident1 (王秀英) v resident2 (李建国), a fully signed agreement and its signed PDF made."""
    case_id, applicant, respondent, mediator = case_with_both_parties(app, make_web)
    agreement_id = add_signed_agreement(app, case_id, **kw)
    state = make_pdf(app, agreement_id)
    assert state["status"] == "done", state
    return case_id, agreement_id, applicant, respondent, mediator


def pdf_tools(pdf: bytes, tmp_path, name="agreement.pdf") -> tuple[str, str, int]:
    """(pdftotext -raw text: words in reading order, pdffonts output, page count)."""
    path = tmp_path / name
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
    fonts_out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    return text, fonts_out, pages


def flat(text: str) -> str:
    return "".join(text.split())


# --- the PDF --------------------------------------------------------------------------------------------
def test_the_signed_pdf_reads_as_an_agreement(app, demo, make_web, tmp_path):
    case_id, agreement_id, applicant, respondent, mediator = signed_case(app, make_web)
    resp = applicant.client.get(f"/cases/{case_id}/agreement.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert resp.headers["Cache-Control"] == "no-store"
    pdf = resp.get_data()
    state = pdf_state(app, agreement_id)
    assert hashlib.sha256(pdf).hexdigest() == state["sha256"] == resp.headers["X-Content-SHA256"]
    with app.app_context():  # registered as an issued document, stored by its hash
        document = db.session.get(Document, state["document_id"])
        assert (document.kind, document.case_id, document.sha256) == ("agreement", case_id, state["sha256"])
        db.session.remove()

    text, fonts_out, pages = pdf_tools(pdf, tmp_path)
    assert pages == 2
    assert "第 1 页 共 2 页" in text and "第 2 页 共 2 页" in text
    body = flat(text)
    for phrase in ("人民调解协议书", "申请人", "被申请人", "王秀英", "李建国", "纠纷主要事实、争议事项", "各方责任",
                   "自愿达成如下协议", "履行方式、地点和期限", "一式三份", "调解员（签名）", "（印）", "内容校验值"):
        assert phrase in body, phrase
    for term in TERMS:
        assert flat(term) in body, term
    cjk = [line for line in fonts_out.splitlines() if "WenQuanYi" in line or "CJK" in line]
    assert cjk and all(line.split()[-5] == "yes" for line in cjk), fonts_out  # the emb column
    with app.app_context():
        content_hash = db.session.get(Agreement, agreement_id).content_hash
        db.session.remove()
    assert content_hash in body and f"/verify/{agreement_id}?c={content_hash}" in body  # the QR code's URL


def test_the_pdf_is_signed_once_and_asking_again_changes_nothing(app, demo, make_web):
    case_id, agreement_id, *_ = signed_case(app, make_web)
    first = pdf_state(app, agreement_id)
    assert make_pdf(app, agreement_id) == first
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AgreementPdf)) == 1
        db.session.remove()


def test_a_drawn_signature_is_an_image_in_the_pdf(app, demo, make_web, tmp_path):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (300, 100), (255, 255, 255)).save(buf, "PNG")
    case_id, agreement_id, applicant, *_ = signed_case(app, make_web, image=buf.getvalue())
    pdf = applicant.client.get(f"/cases/{case_id}/agreement.pdf").get_data()
    path = tmp_path / "drawn.pdf"
    path.write_bytes(pdf)
    images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    sizes = {tuple(line.split()[3:5]) for line in images.splitlines()[2:]}
    assert ("300", "100") in sizes, images  # the handwriting, next to the seal and the QR code


# --- nothing read or fetched -------------------------------------------------------------------------------
class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def counting_server():
    _Counter.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Counter.hits
    server.shutdown()
    server.server_close()


def test_markup_in_the_agreement_is_text_and_nothing_is_read_or_fetched(app, demo, make_web, tmp_path,
                                                                         counting_server):
    port, hits = counting_server
    hostile = ['<img src="file:///etc/passwd">', f'<a href="http://127.0.0.1:{port}/a">看这里</a>',
               f'<link rel="stylesheet" href="http://127.0.0.1:{port}/x.css">',
               '<style>@import url(file:///etc/passwd);</style>']
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="300" '
           f'height="100"><image xlink:href="http://127.0.0.1:{port}/sig.png" width="10" height="10"/>'
           f'<image xlink:href="file:///etc/passwd" width="10" height="10"/></svg>')
    case_id, applicant, respondent, mediator = case_with_both_parties(app, make_web)
    agreement_id = add_signed_agreement(app, case_id, terms=TERMS[:2] + hostile,
                                        facts=FACTS + f'<img src="http://127.0.0.1:{port}/facts.png">')
    assert make_pdf(app, agreement_id)["status"] == "done"
    pdf = applicant.client.get(f"/cases/{case_id}/agreement.pdf").get_data()
    text, _, _ = pdf_tools(pdf, tmp_path)
    assert '<img src="file:///etc/passwd">' in text and f"http://127.0.0.1:{port}/a" in text
    assert "root:" not in text and b"root:x:0:0" not in pdf

    # Data that is not the agreement's text: images that are not data: URLs, an SVG pointing out.
    from app.agreements.pdf import render_content

    with app.app_context():
        from app.agreements.content import pdf_data

        data = pdf_data(db.session.get(Agreement, agreement_id))
        data["organisation"]["seal_png"] = "file:///etc/passwd"
        data["signatures"][0].update(method="drawn", image=f"http://127.0.0.1:{port}/drawn.png")
        data["signatures"][1].update(method="drawn", image="data:image/svg+xml;base64,"
                                     + base64.b64encode(svg.encode()).decode())
        with app.test_request_context("/"):
            other = render_content(data)
        db.session.remove()
    assert b"root:x:0:0" not in other
    assert hits == [], hits


# --- progress, failures -------------------------------------------------------------------------------------
def test_progress_page_and_status_when_done(app, demo, make_web):
    case_id, agreement_id, applicant, respondent, mediator = signed_case(app, make_web)
    page = applicant.get(f"/cases/{case_id}/agreement/pdf")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "协议书 PDF 已生成" in html and f"/cases/{case_id}/agreement.pdf" in html
    assert "<script>" not in html and "js/agreement_pdf.js" in html
    status = applicant.client.get(f"/cases/{case_id}/agreement/pdf/status")
    assert status.status_code == 200 and status.json["status"] == "done"
    assert status.json["sha256"] == pdf_state(app, agreement_id)["sha256"]
    assert status.json["download_url"] == f"/cases/{case_id}/agreement.pdf"
    case_page = applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "下载协议书 PDF" in case_page


def test_no_signed_agreement_yet(app, demo, make_web):
    case_id, applicant, respondent, mediator = case_with_both_parties(app, make_web)
    page = applicant.get(f"/cases/{case_id}/agreement/pdf")
    assert page.status_code == 200 and "协议尚未全部签署" in page.get_data(as_text=True)
    assert applicant.client.get(f"/cases/{case_id}/agreement/pdf/status").json["status"] == "none"
    resp = applicant.client.get(f"/cases/{case_id}/agreement.pdf")
    assert resp.status_code == 409 and "协议尚未全部签署" in resp.get_data(as_text=True)
    assert mediator.post(f"/cases/{case_id}/agreement/pdf/retry", page=f"/cases/{case_id}/agreement/pdf"
                         ).status_code == 409


@pytest.fixture()
def no_cjk_font(tmp_path, monkeypatch):
    """A server without a Chinese font: fontconfig (fc-list) reads an empty configuration."""
    conf = tmp_path / "fonts.conf"
    conf.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig></fontconfig>')
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    fonts.forget()
    yield
    fonts.forget()  # monkeypatch restores the environment


def test_without_a_cjk_font_the_page_says_why_and_the_mediator_retries(app, demo, make_web, no_cjk_font,
                                                                       monkeypatch):
    case_id, applicant, respondent, mediator = case_with_both_parties(app, make_web)
    agreement_id = add_signed_agreement(app, case_id)
    state = make_pdf(app, agreement_id)
    assert state["status"] == "failed" and state["sha256"] is None and state["attempts"] == 1  # no use retrying
    for web in (applicant, mediator):
        page = web.get(f"/cases/{case_id}/agreement/pdf")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "服务器缺少中文字体" in html
        assert (f"/cases/{case_id}/agreement/pdf/retry" in html) == (web is mediator)  # the retry button
    assert applicant.client.get(f"/cases/{case_id}/agreement.pdf").status_code == 409
    assert "服务器缺少中文字体" in applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    assert applicant.post(f"/cases/{case_id}/agreement/pdf/retry").status_code == 403

    monkeypatch.delenv("FONTCONFIG_FILE")  # the administrator installed the font
    fonts.forget()
    resp = mediator.post(f"/cases/{case_id}/agreement/pdf/retry", page=f"/cases/{case_id}/agreement/pdf")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/cases/{case_id}/agreement/pdf"
    assert pdf_state(app, agreement_id)["status"] == "done"


def test_a_render_that_takes_too_long_is_tried_three_times_then_fails(app, demo, make_web, monkeypatch):
    case_id, applicant, respondent, mediator = case_with_both_parties(app, make_web)
    agreement_id = add_signed_agreement(app, case_id)
    monkeypatch.setitem(app.config, "AGREEMENT_PDF_TIMEOUT", 0.001)
    state = make_pdf(app, agreement_id)
    assert (state["status"], state["attempts"]) == ("failed", 3)
    page = mediator.get(f"/cases/{case_id}/agreement/pdf")
    assert page.status_code == 200 and "生成协议 PDF 超时，已尝试 3 次" in page.get_data(as_text=True)
    status = applicant.client.get(f"/cases/{case_id}/agreement/pdf/status")
    assert status.status_code == 200 and status.json["status"] == "failed" and "超时" in status.json["message"]
