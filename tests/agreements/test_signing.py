"""Review and signing: the password re-entered, drawn signatures checked and re-encoded, parties before the mediator,
change requests answered by a new version with its differences shown, hash/IP/time recorded, the seal applied."""
from __future__ import annotations

import base64
import io
import re

import sqlalchemy as sa
from PIL import Image, ImageDraw

from app.agreements.models import Agreement, AgreementPdf, AgreementSignature, ChangeRequest
from app.extensions import db
from tests.agreements.test_drafting import agreements, editor_fields, save_draft, send, sent_case

HASH_RE = re.compile(r'name="content_hash" type="hidden" value="([0-9a-f]*)"')


def png_data_url(size=(900, 360), strokes=True, background=(0, 0, 0, 0)) -> str:
    img = Image.new("RGBA", size, background)
    if strokes:
        draw = ImageDraw.Draw(img)
        draw.line([(80, 250), (200, 90), (320, 260), (460, 100), (620, 240)], fill=(17, 17, 17, 255), width=7)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def sign(web, case_id, name, *, method="typed", password="jiefen-demo", image="", content_hash=None):
    page = web.get(f"/cases/{case_id}/agreement").get_data(as_text=True)
    if content_hash is None:
        m = HASH_RE.search(page)
        content_hash = m.group(1) if m else ""
    return web.post(f"/cases/{case_id}/agreement/sign", {
        "method": method, "typed_name": name, "password": password, "signature_data": image,
        "content_hash": content_hash})


def signatures(app, case_id):
    with app.app_context():
        rows = db.session.execute(
            sa.select(AgreementSignature.role, AgreementSignature.method, AgreementSignature.typed_name,
                      AgreementSignature.content_hash, AgreementSignature.ip_address, AgreementSignature.signed_at,
                      AgreementSignature.image_png, Agreement.version)
            .join(Agreement, Agreement.id == AgreementSignature.agreement_id)
            .where(Agreement.case_id == case_id).order_by(AgreementSignature.id)).all()
        db.session.remove()
    return [r._asdict() for r in rows]


def test_a_wrong_password_is_refused_next_to_the_field_and_nothing_is_stored(app, demo, make_web):
    case_id, applicant, _, _ = sent_case(app, make_web)
    resp = sign(applicant, case_id, "王秀英", password="not-my-password")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "密码不正确，请重新输入您的登录密码。" in page
    assert signatures(app, case_id) == []
    resp = sign(applicant, case_id, "张三")
    assert resp.status_code == 422 and "请输入您本人的姓名：王秀英" in resp.get_data(as_text=True)
    assert signatures(app, case_id) == []


def test_a_drawn_signature_is_checked_and_re_encoded(app, demo, make_web):
    case_id, applicant, _, _ = sent_case(app, make_web)
    sent = png_data_url()
    resp = sign(applicant, case_id, "王秀英", method="drawn", image=sent)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    [row] = signatures(app, case_id)
    assert row["method"] == "drawn" and row["role"] == "applicant"
    stored = row["image_png"]
    assert stored != base64.b64decode(sent.split(",", 1)[1])  # re-encoded, not the bytes sent
    img = Image.open(io.BytesIO(stored))
    assert img.format == "PNG" and img.mode == "LA" and img.width <= 600
    assert img.getchannel("A").getbbox() is not None  # the strokes survived
    page = applicant.get(f"/cases/{case_id}/agreement").get_data(as_text=True)
    assert 'class="signature-image" src="data:image/png;base64,' in page and "王秀英 的手写签名" in page


def test_a_blank_or_invalid_drawing_is_refused(app, demo, make_web):
    case_id, applicant, _, _ = sent_case(app, make_web)
    for image, message in [
        (png_data_url(strokes=False), "签名是空白的"),
        (png_data_url(strokes=False, background=(255, 255, 255, 255)), "签名是空白的"),
        ("", "请在框内手写签名"),
        ("data:image/png;base64,bm90IGEgcG5n", "签名图片无效"),
        ("data:text/html;base64,PHNjcmlwdD4=", "签名图片无效"),
        ("data:image/png;base64," + "A" * 300_000, "签名图片过大"),
    ]:
        resp = sign(applicant, case_id, "王秀英", method="drawn", image=image)
        assert resp.status_code == 422, image[:40]
        page = resp.get_data(as_text=True)
        field = re.search(r'<div class="field signature-field has-error".*?</div>\s*</div>|'
                          r'<div class="field signature-field has-error".*?id="signature_data-error">[^<]*</p>',
                          page, re.S)
        assert field and message in field.group(0), image[:40]
    assert signatures(app, case_id) == []


def test_the_mediator_signs_last(app, demo, make_web):
    case_id, applicant, respondent, mediator = sent_case(app, make_web)
    resp = sign(mediator, case_id, "张桂兰")
    assert resp.status_code == 409
    assert "请等各方当事人签署后，调解员最后签署。尚未签署：王秀英、李建国" in resp.get_data(as_text=True)
    assert sign(applicant, case_id, "王秀英").status_code == 302
    resp = sign(mediator, case_id, "张桂兰")
    assert resp.status_code == 409 and "尚未签署：李建国" in resp.get_data(as_text=True)
    assert [r["role"] for r in signatures(app, case_id)] == ["applicant"]
    resp = sign(applicant, case_id, "王秀英")
    assert resp.status_code == 409 and "您已签署第 1 版调解协议" in resp.get_data(as_text=True)


def test_signing_records_hash_ip_and_time_and_the_last_signature_seals_it(app, demo, make_web):
    case_id, applicant, respondent, mediator = sent_case(app, make_web)
    [draft] = agreements(app, case_id)
    assert sign(applicant, case_id, "王秀英").status_code == 302
    assert sign(respondent, case_id, "李建国", method="drawn", image=png_data_url()).status_code == 302
    assert agreements(app, case_id)[0]["status"] == "signing"
    assert sign(mediator, case_id, "张桂兰").status_code == 302
    rows = signatures(app, case_id)
    assert [(r["role"], r["method"], r["typed_name"]) for r in rows] == [
        ("applicant", "typed", "王秀英"), ("respondent", "drawn", "李建国"), ("mediator", "typed", "张桂兰")]
    assert {r["content_hash"] for r in rows} == {draft["hash"]}
    assert {r["ip_address"] for r in rows} == {"127.0.0.1"}
    assert all(r["signed_at"] is not None for r in rows)
    [signed] = agreements(app, case_id)
    assert signed["status"] == "signed" and signed["signed_at"] == rows[-1]["signed_at"]
    with app.app_context():  # the PDF was asked for (the PDF module's job takes it from there)
        assert db.session.scalar(sa.select(AgreementPdf.id).where(AgreementPdf.agreement_id == signed["id"]))
        db.session.remove()
    page = applicant.get(f"/cases/{case_id}/agreement").get_data(as_text=True)
    assert "已签署生效" in page and "团结社区人民调解委员会 印章" in page and "确认签署" not in page
    case_page = applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "3 / 3 人已签署" in case_page


def test_a_stale_page_cannot_sign_a_newer_version(app, demo, make_web):
    case_id, applicant, _, _ = sent_case(app, make_web)
    resp = sign(applicant, case_id, "王秀英", content_hash="0" * 64)
    assert resp.status_code == 409 and "您看到的不是最新版本" in resp.get_data(as_text=True)
    assert signatures(app, case_id) == []


def test_a_change_request_leads_to_a_new_version_with_the_differences_shown(app, demo, make_web):
    case_id, applicant, respondent, mediator = sent_case(app, make_web)
    assert sign(applicant, case_id, "王秀英").status_code == 302  # signed v1 before the respondent objected
    resp = respondent.post(f"/cases/{case_id}/agreement/changes", {"text": "我只能出四千元，请改为4000元。"},
                           page=f"/cases/{case_id}/agreement")
    assert resp.status_code == 302
    assert "我只能出四千元" in mediator.get(f"/cases/{case_id}/agreement/edit").get_data(as_text=True)
    resp = save_draft(mediator, case_id, {"terms-0-amount": "4000", "change_note": "按被申请人意见把金额改为 4000 元。"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    v1, v2 = agreements(app, case_id)
    assert (v1["status"], v2["status"], v2["version"], v2["supersedes_id"]) == ("superseded", "draft", 2, v1["id"])
    with app.app_context():
        [request] = db.session.scalars(sa.select(ChangeRequest).where(ChangeRequest.agreement_id == v1["id"])).all()
        assert request.answered_by_version_id == v2["id"]
        db.session.remove()
    assert send(mediator, case_id).status_code == 302
    page = applicant.get(f"/cases/{case_id}/agreement").get_data(as_text=True)
    diff = re.search(r'<section class="card agreement-diff".*?</section>', page, re.S).group(0)
    assert "与第 1 版相比的修改" in diff and "按被申请人意见把金额改为 4000 元。" in diff
    removed = re.findall(r'<li class="diff-removed"><span class="diff-mark">删除</span> <del>(.*?)</del></li>', diff)
    added = re.findall(r'<li class="diff-added"><span class="diff-mark">新增</span> <ins>(.*?)</ins></li>', diff)
    assert removed == ["1. 被申请人李建国于2026年12月31日前一次性向申请人王秀英支付人民币 5,000.00 元（大写：伍仟元整）。"]
    assert added == ["1. 被申请人李建国于2026年12月31日前一次性向申请人王秀英支付人民币 4,000.00 元（大写：肆仟元整）。"]
    assert "已据此修改" in page
    # the applicant's signature of version 1 does not count for version 2
    assert "0 / 3 人已签署" in applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    assert sign(applicant, case_id, "王秀英").status_code == 302
    assert [r["version"] for r in signatures(app, case_id)] == [1, 2]


def test_a_change_request_needs_text_and_a_party(app, demo, make_web):
    case_id, applicant, _, mediator = sent_case(app, make_web)
    resp = applicant.post(f"/cases/{case_id}/agreement/changes", {"text": ""}, page=f"/cases/{case_id}/agreement")
    assert resp.status_code == 422 and "请写明您希望修改的内容" in resp.get_data(as_text=True)
    resp = mediator.post(f"/cases/{case_id}/agreement/changes", {"text": "改一改"}, page=f"/cases/{case_id}/agreement")
    assert resp.status_code == 403


def test_the_editor_keeps_the_version_under_review_until_saved(app, demo, make_web):
    case_id, _, _, mediator = sent_case(app, make_web)
    fields = editor_fields(mediator.get(f"/cases/{case_id}/agreement/edit").get_data(as_text=True))
    assert fields["terms-0-amount"] == "5000.00"
    assert [a["status"] for a in agreements(app, case_id)] == ["signing"]


def test_five_simultaneous_sign_requests_store_one_signature_and_none_fails(app, demo, make_web, live_server):
    """A double tap on a phone sends the same signature twice at once: one is stored, the others are answered
    with the page (never a server error)."""
    import threading

    import requests

    from tests.conftest import CSRF_RE

    case_id, _applicant, _, _ = sent_case(app, make_web)
    http = requests.Session()
    token = CSRF_RE.search(http.get(f"{live_server}/login", timeout=10).text).group(1)
    assert http.post(f"{live_server}/login", data={"username": "resident1", "password": "jiefen-demo",
                                                    "csrf_token": token}, allow_redirects=False, timeout=10).status_code == 302
    page = http.get(f"{live_server}/cases/{case_id}/agreement", timeout=10).text
    form = {"method": "typed", "typed_name": "王秀英", "password": "jiefen-demo", "signature_data": "",
            "content_hash": HASH_RE.search(page).group(1), "csrf_token": CSRF_RE.search(page).group(1)}
    barrier, statuses = threading.Barrier(5), []

    def post() -> None:
        client = requests.Session()
        client.cookies.update(http.cookies)
        barrier.wait()
        statuses.append(client.post(f"{live_server}/cases/{case_id}/agreement/sign", data=form,
                                    allow_redirects=False, timeout=30).status_code)

    threads = [threading.Thread(target=post) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 5 and all(code < 500 for code in statuses), statuses
    assert 302 in statuses
    assert [(s["role"], s["typed_name"]) for s in signatures(app, case_id)] == [("applicant", "王秀英")]
