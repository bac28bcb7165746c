"""The mediation record (调解笔录): statements, frozen versions, signatures (parties first), the PDF."""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.accounts.models import User
from app.cases.models import Case
from app.core.time import utcnow
from app.extensions import db
from app.mediation.record_models import MediationRecord, RecordSignature, RecordStatement
from app.mediation.room_models import Offer, OfferResponse, RoomMessage
from tests.cases.test_funnel_journeys import file_dispute, mediator_of, step
from tests.mediation.test_invitations import case_with_both_parties

TITLE = "楼上漏水殃及我家天花板"
SAID = "申请人称：楼上卫生间漏水已三个月，天花板发霉，要求赔偿维修费。"
SCRIPT = "<script>alert(1)</script>"


def _users(app, *usernames):
    with app.app_context():
        rows = {u.username: (u.id, u.display_name) for u in
                db.session.scalars(sa.select(User).where(User.username.in_(usernames)))}
        db.session.remove()
    return rows


def _parties(app, case_id):
    """{role: party id} of the case."""
    with app.app_context():
        case = db.session.get(Case, case_id)
        out = {p.role.value: p.id for p in case.parties}
        db.session.remove()
    return out


def add_session(app, case_id):
    """What the room would have stored: the applicant's messages and an offer both sides accepted."""
    users = _users(app, "resident1", "resident2")
    start = utcnow() - timedelta(hours=2)
    with app.app_context():
        db.session.add_all([
            RoomMessage(case_id=case_id, room="joint", sender_id=users["resident1"][0], body="您好",
                        created_at=start),
            RoomMessage(case_id=case_id, room="joint", sender_id=None, kind="system", body="调解开始",
                        created_at=start + timedelta(minutes=1)),
            RoomMessage(case_id=case_id, room="joint", sender_id=users["resident1"][0], body="我同意",
                        created_at=start + timedelta(minutes=50))])
        offer = Offer(case_id=case_id, room="joint", made_by_id=users["resident2"][0], side="respondent",
                      amount=Decimal("5000.00"), instalments=1, pay_by=date(2026, 12, 31), apology=True,
                      other_terms="修好卫生间防水", status="accepted", created_at=start + timedelta(minutes=30),
                      decided_at=start + timedelta(minutes=40))
        db.session.add(offer)
        db.session.flush()
        db.session.add(OfferResponse(offer_id=offer.id, user_id=users["resident1"][0], side="applicant",
                                     answer="accept"))
        db.session.commit()
        db.session.remove()
    return start


def add_statement(web, case_id, speaker, text, **extra):
    return web.post(f"/cases/{case_id}/record/statements", {"speaker": speaker, "text": text, **extra},
                    page=f"/cases/{case_id}/record")


def freeze(web, case_id):
    return web.post(f"/cases/{case_id}/record/freeze", page=f"/cases/{case_id}/record")


def current(app, case_id):
    with app.app_context():
        rec = db.session.scalar(sa.select(MediationRecord).where(MediationRecord.case_id == case_id,
                                                                 MediationRecord.superseded_at.is_(None)))
        out = None if rec is None else {"id": rec.id, "version": rec.version, "hash": rec.content_hash,
                                        "content": rec.content}
        db.session.remove()
    return out


def signatures(app, case_id):
    with app.app_context():
        rows = db.session.execute(sa.select(RecordSignature.user_id, RecordSignature.typed_name,
                                            RecordSignature.content_hash, RecordSignature.ip_address,
                                            MediationRecord.version)
                                  .join(MediationRecord, MediationRecord.id == RecordSignature.record_id)
                                  .where(MediationRecord.case_id == case_id)
                                  .order_by(RecordSignature.id)).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def sign(web, case_id, name, password="jiefen-demo", content_hash=None):
    page = web.get(f"/cases/{case_id}/record").get_data(as_text=True)
    if content_hash is None:
        m = re.search(r'name="content_hash" type="hidden" value="([0-9a-f]*)"', page)
        content_hash = m.group(1) if m else ""
    return web.post(f"/cases/{case_id}/record/sign",
                    {"typed_name": name, "password": password, "content_hash": content_hash})


def recorded_case(app, make_web):
    """A case with a session, two statements (one from each side) and version 1 frozen."""
    case_id, applicant, respondent, mediator = case_with_both_parties(app, make_web)
    add_session(app, case_id)
    parties = _parties(app, case_id)
    assert add_statement(mediator, case_id, f"party-{parties['applicant']}", SAID).status_code == 302
    resp = add_statement(mediator, case_id, f"party-{parties['respondent']}", "被申请人称：愿意承担维修费用。")
    assert resp.status_code == 302
    assert freeze(mediator, case_id).status_code == 302
    return case_id, applicant, respondent, mediator


def test_mediator_enters_statements_and_freezes_a_version(app, demo, make_web):
    case_id, applicant, respondent, mediator = case_with_both_parties(app, make_web)
    start = add_session(app, case_id)
    parties = _parties(app, case_id)
    page = mediator.get(f"/cases/{case_id}/record").get_data(as_text=True)
    assert "申请人 王秀英" in page and "被申请人 李建国" in page and "调解员 " in page  # the speaker choices

    resp = add_statement(mediator, case_id, f"party-{parties['applicant']}", "")
    assert resp.status_code == 422 and "请填写陈述内容" in resp.get_data(as_text=True)
    assert add_statement(mediator, case_id, f"party-{parties['applicant']}", "初稿").status_code == 302
    with app.app_context():
        first = db.session.scalar(sa.select(RecordStatement.id).where(RecordStatement.case_id == case_id))
    resp = add_statement(mediator, case_id, f"party-{parties['applicant']}", SAID, statement_id=first)
    assert resp.status_code == 302
    assert add_statement(mediator, case_id, "mediator", "调解员释明相邻关系的法律规定。").status_code == 302
    assert add_statement(mediator, case_id, f"party-{parties['respondent']}", "要删掉的").status_code == 302
    with app.app_context():
        last = db.session.scalar(sa.select(sa.func.max(RecordStatement.id))
                                 .where(RecordStatement.case_id == case_id))
    assert mediator.post(f"/cases/{case_id}/record/statements/{last}/delete").status_code == 302

    assert freeze(mediator, case_id).status_code == 302
    rec = current(app, case_id)
    canonical = json.dumps(rec["content"], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert rec["version"] == 1 and rec["hash"] == hashlib.sha256(canonical.encode()).hexdigest()
    c = rec["content"]
    assert c["document_title"] == "人民调解笔录" and c["place"] == "线上调解（解纷平台）"
    assert [s["text"] for s in c["statements"]] == [SAID, "调解员释明相邻关系的法律规定。"]
    assert c["statements"][0]["speaker"] == "申请人 王秀英"
    assert [(p["name"], p["role_label"], p["joined"]) for p in c["participants"]] == \
        [("王秀英", "申请人", True), ("李建国", "被申请人", False)]
    assert c["started_at"] == start.isoformat()
    assert c["ended_at"] == (start + timedelta(minutes=50)).isoformat()
    offer = c["offers"][0]
    assert (offer["amount"], offer["pay_by"], offer["status"], offer["accepted_by"]) == \
        ("5000.00", "2026-12-31", "accepted", ["王秀英"])
    assert c["outcome"] == {"status": "in_progress", "label": "调解进行中", "reason": None, "at": None}

    # frozen statements stay as signed; the unchanged record is not frozen twice
    resp = add_statement(mediator, case_id, "mediator", "改", statement_id=first)
    assert resp.status_code == 409 and "已写入定稿的笔录" in resp.get_data(as_text=True)
    assert mediator.post(f"/cases/{case_id}/record/statements/{first}/delete").status_code == 409
    resp = freeze(mediator, case_id)
    assert resp.status_code == 409 and "无需重新定稿" in resp.get_data(as_text=True)
    assert add_statement(mediator, case_id, "mediator", "补充：双方同意次日复查。").status_code == 302
    assert freeze(mediator, case_id).status_code == 302
    assert current(app, case_id)["version"] == 2
    with app.app_context():
        v1 = db.session.scalar(sa.select(MediationRecord).where(MediationRecord.case_id == case_id,
                                                                MediationRecord.version == 1))
        assert v1.superseded_at is not None


def test_only_the_mediator_edits(app, demo, make_web):
    case_id, applicant, respondent, mediator = case_with_both_parties(app, make_web)
    parties = _parties(app, case_id)
    page = applicant.get(f"/cases/{case_id}/record").get_data(as_text=True)
    assert "/record/statements" not in page and "/record/freeze" not in page
    assert add_statement(applicant, case_id, f"party-{parties['applicant']}", "我说的").status_code == 403
    assert freeze(respondent, case_id).status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RecordStatement)) == 0


def test_signing_checks_the_password_and_the_mediator_signs_last(app, demo, make_web):
    case_id, applicant, respondent, mediator = recorded_case(app, make_web)
    rec = current(app, case_id)
    page = applicant.get(f"/cases/{case_id}/record").get_data(as_text=True)
    assert SAID in page and rec["hash"] in page and "确认签名" in page

    resp = sign(applicant, case_id, "王秀英", password="wrong-password")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    field = re.search(r'<div class="field has-error">\s*<label for="password".*?</div>', html, re.S)
    assert field and "密码不正确" in field.group(0)
    assert 'value="王秀英"' in html  # the typed name is kept
    assert signatures(app, case_id) == []

    resp = sign(applicant, case_id, "李建国")
    assert resp.status_code == 422 and "请输入您本人的姓名：王秀英" in resp.get_data(as_text=True)
    assert signatures(app, case_id) == []

    mediator_name = _users(app, mediator_of(app, case_id))[mediator_of(app, case_id)][1]
    page = mediator.get(f"/cases/{case_id}/record").get_data(as_text=True)
    assert "请等各方当事人签名后" in page and "确认签名" not in page
    resp = sign(mediator, case_id, mediator_name, content_hash=rec["hash"])
    assert resp.status_code == 409 and "请等各方当事人签名后，调解员最后签名" in resp.get_data(as_text=True)
    assert signatures(app, case_id) == []

    assert sign(applicant, case_id, "王秀英").status_code == 302
    users = _users(app, "resident1", "resident2")
    assert signatures(app, case_id) == [(users["resident1"][0], "王秀英", rec["hash"], "127.0.0.1", 1)]
    resp = sign(applicant, case_id, "王秀英", content_hash=rec["hash"])
    assert resp.status_code == 409 and "您已签署第 1 版笔录" in resp.get_data(as_text=True)
    assert sign(mediator, case_id, mediator_name, content_hash=rec["hash"]).status_code == 409

    assert sign(respondent, case_id, "李建国").status_code == 302
    assert sign(mediator, case_id, mediator_name).status_code == 302
    assert len(signatures(app, case_id)) == 3
    page = applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "第 1 版已定稿，3 / 3 人已签名" in page


def test_a_newer_version_supersedes_and_a_stale_signature_is_refused(app, demo, make_web):
    case_id, applicant, respondent, mediator = recorded_case(app, make_web)
    v1 = current(app, case_id)
    assert sign(applicant, case_id, "王秀英").status_code == 302
    assert add_statement(mediator, case_id, "mediator", "补充陈述。").status_code == 302
    assert freeze(mediator, case_id).status_code == 302
    resp = sign(respondent, case_id, "李建国", content_hash=v1["hash"])  # read before the new version
    assert resp.status_code == 409 and "笔录已更新为第 2 版" in resp.get_data(as_text=True)
    assert [s[4] for s in signatures(app, case_id)] == [1]
    page = applicant.get(f"/cases/{case_id}/record").get_data(as_text=True)
    assert "确认签名" in page  # the signature of version 1 no longer counts
    assert "第 1 版（1 人签名）" in page
    assert sign(applicant, case_id, "王秀英").status_code == 302
    assert [s[4] for s in signatures(app, case_id)] == [1, 2]


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "record.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_the_pdf_reads_as_a_record_with_its_signatures(app, demo, make_web, tmp_path):
    case_id, applicant, respondent, mediator = recorded_case(app, make_web)
    assert sign(applicant, case_id, "王秀英").status_code == 302
    assert sign(respondent, case_id, "李建国").status_code == 302
    resp = applicant.client.get(f"/cases/{case_id}/record.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Cache-Control"] == "no-store"
    text = _pdf_text(resp.data, tmp_path)
    flat = "".join(text.split())
    assert "人民调解笔录" in flat and "王秀英" in flat and "李建国" in flat
    assert "".join(SAID.split()) in flat and "线上调解（解纷平台）" in flat
    assert "未签" in flat  # the mediator has not signed yet
    assert current(app, case_id)["hash"] in flat
    assert "第1页共" in flat
    fonts = subprocess.run(["pdffonts", str(tmp_path / "record.pdf")], capture_output=True, text=True,
                           check=True).stdout
    assert "WenQuanYi" in fonts or "CJK" in fonts


def test_outsiders_get_404(app, demo, make_web):
    case_id, *_ = recorded_case(app, make_web)
    for username in ("grid1", "mediator3", "court1"):
        web = make_web()
        web.login(username)
        assert web.get(f"/cases/{case_id}/record").status_code == 404
        assert web.client.get(f"/cases/{case_id}/record.pdf").status_code == 404


def test_a_statement_with_markup_is_shown_as_text(app, demo, make_web, tmp_path):
    case_id, applicant, respondent, mediator = case_with_both_parties(app, make_web)
    parties = _parties(app, case_id)
    assert add_statement(mediator, case_id, f"party-{parties['respondent']}", SCRIPT).status_code == 302
    assert freeze(mediator, case_id).status_code == 302
    for web in (mediator, applicant):
        html = web.get(f"/cases/{case_id}/record").get_data(as_text=True)
        assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = _pdf_text(applicant.client.get(f"/cases/{case_id}/record.pdf").data, tmp_path)
    assert SCRIPT in text


def test_a_labour_case_gets_the_labour_title(app, demo, make_web, tmp_path):
    applicant, mediator = make_web(), make_web()
    applicant.login("resident1")
    case_id = file_dispute(applicant, "饭店拖欠两个月工资", "labour_wages", "我在镇上饭店做厨师，老板拖欠两个月工资共九千元。",
                           respondent="赵老板")
    assert step(applicant, case_id, "request_mediation").status_code == 302
    mediator.login(mediator_of(app, case_id))
    assert add_statement(mediator, case_id, "mediator", "调解员告知劳动争议调解期限为十五日。").status_code == 302
    assert freeze(mediator, case_id).status_code == 302
    assert current(app, case_id)["content"]["document_title"] == "劳动争议调解笔录"
    text = "".join(_pdf_text(mediator.client.get(f"/cases/{case_id}/record.pdf").data, tmp_path).split())
    assert "劳动争议调解笔录" in text and "赵老板" in text and "未签（未在平台注册" not in text
