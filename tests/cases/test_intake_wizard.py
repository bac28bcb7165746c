"""The intake wizard: drafts saved step by step, nothing lost on errors or navigation, checks by content,
grid workers filing with the resident's confirmation, personal numbers masked for everyone but their owner."""
from __future__ import annotations

import io
import re

import sqlalchemy as sa
from PIL import Image

from app.cases.models import Case, CaseEvent, EvidenceFile
from tests.cases.test_funnel_journeys import VERSION_RE, file_dispute

VALID_ID = "11010519491231002X"  # the GB 11643 example number


def start(web, **fields):
    data = {"title": "装修噪音", "description": "楼上邻居装修每天早上七点开始电钻施工，严重影响休息。", **fields}
    resp = web.post("/cases/new", data, page="/cases/new")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    return int(re.search(r"/cases/(\d+)/intake/2$", resp.headers["Location"]).group(1))


def post_step(web, case_id, step, data):
    url = f"/cases/{case_id}/intake/{step}"
    version = VERSION_RE.search(web.get(url).get_data(as_text=True)).group(1)
    return web.post(url, {"version": version, **data})


def test_draft_survives_errors_and_back_and_forth(app, demo, make_web):
    web = make_web()
    web.login("resident1")
    bad = web.post("/cases/new", {"title": "装修噪音", "description": "楼上装修噪音很大影响休息。", "began_on": "2026-05-10",
                                  "learned_on": "2026-05-01"}, page="/cases/new")
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "不能早于纠纷开始的日期" in body
    assert "楼上装修噪音很大影响休息。" in body and 'value="2026-05-10"' in body
    case_id = start(web, began_on="2026-05-01", learned_on="2026-05-10")
    resp = post_step(web, case_id, 2, {"category": "neighbour", "amount": "abc", "nav": "next"})
    assert resp.status_code == 422 and "abc" in resp.get_data(as_text=True)
    resp = post_step(web, case_id, 2, {"category": "neighbour", "amount": "1200", "nav": "back"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case_id}/intake/1")
    page = web.get(f"/cases/{case_id}/intake/1").get_data(as_text=True)
    assert "装修噪音" in page and 'value="2026-05-10"' in page
    page = web.get(f"/cases/{case_id}/intake/2").get_data(as_text=True)
    assert 'value="1200.00"' in page and re.search(r'<option selected value="neighbour"|<option value="neighbour" selected', page)
    assert "装修噪音" in web.get("/my/cases").get_data(as_text=True)  # the draft is on the dashboard


def test_category_is_suggested_from_the_text_and_can_be_changed(app, demo, make_web):
    web = make_web()
    web.login("resident1")
    case_id = start(web, title="工地老板拖欠工资", description="我在工地干了三个月，老板一直拖欠工资不给，共一万八千元。")
    page = web.get(f"/cases/{case_id}/intake/2").get_data(as_text=True)
    assert "系统建议" in page and "劳动与欠薪纠纷" in page and "工资" in page
    assert re.search(r'<option selected value="labour_wages"|<option value="labour_wages" selected', page)
    assert post_step(web, case_id, 2, {"category": "contract", "nav": "next"}).status_code == 302
    from app.extensions import db

    with app.app_context():
        assert db.session.get(Case, case_id).category == "contract"


def test_a_new_rules_version_changes_the_suggestion_of_a_draft_already_shown(app, demo, make_web):
    import yaml

    web = make_web()
    web.login("resident1")
    case_id = start(web, title="说不清", description="我们两个天天鸡飞狗跳，快一年了，不知道怎么办。")
    for _ in range(2):  # shown again: the same answer
        page = web.get(f"/cases/{case_id}/intake/2").get_data(as_text=True)
        assert "系统未能从您的描述中确定纠纷类型" in page and "鸡飞狗跳</span>" not in page
    admin = make_web()
    admin.login("admin")
    text = re.search(r'<textarea[^>]*name="rules"[^>]*>(.*?)</textarea>',
                     admin.get("/admin/routing/neighbour").get_data(as_text=True), re.S).group(1)
    import html

    fields = yaml.safe_load(html.unescape(text))
    fields["keywords"]["鸡飞狗跳"] = 5
    assert admin.post("/admin/routing/neighbour", {"rules": yaml.safe_dump(fields, allow_unicode=True),
                                                   "note": "加入口语说法"}).status_code == 302
    page = web.get(f"/cases/{case_id}/intake/2").get_data(as_text=True)
    assert "系统建议" in page and "鸡飞狗跳</span>" in page
    assert re.search(r'<option selected value="neighbour"|<option value="neighbour" selected', page)


def test_evidence_is_checked_by_content_and_photos_lose_their_metadata(app, demo, make_web):
    web = make_web()
    web.login("resident1")
    case_id = start(web)
    html = post_step(web, case_id, 4, {"file": (io.BytesIO(b"<html><script>alert(1)</script></html>"), "借条.pdf")})
    assert html.status_code == 422 and "按文件内容判断" in html.get_data(as_text=True)
    img = Image.new("RGB", (32, 24), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {2: (31.0, 20.0, 0.0), 1: "N"}  # GPS info
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    assert Image.open(io.BytesIO(buf.getvalue())).getexif()
    ok = post_step(web, case_id, 4, {"file": (io.BytesIO(buf.getvalue()), "现场照片.jpg"), "description": "漏水现场"})
    assert ok.status_code == 302
    from app.extensions import db

    with app.app_context():
        evidence = db.session.scalars(sa.select(EvidenceFile).where(EvidenceFile.case_id == case_id)).one()
        assert evidence.content_type == "image/jpeg" and evidence.storage_key and evidence.storage_key != evidence.sha256
        evidence_id = evidence.id
    resp = web.client.get(f"/cases/{case_id}/evidence/{evidence_id}")
    stored = resp.get_data()
    resp.close()  # the served file stays open until the response is closed
    assert not Image.open(io.BytesIO(stored)).getexif()
    assert Image.open(io.BytesIO(stored)).size == (32, 24)


def test_submission_needs_category_and_respondent_and_says_where_to_fix(app, demo, make_web):
    web = make_web()
    web.login("resident1")
    case_id = start(web)
    resp = post_step(web, case_id, 5, {"nav": "submit", "truthful": "y"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "请先选择纠纷类型" in body and f"/cases/{case_id}/intake/2" in body
    unconfirmed = post_step(web, case_id, 5, {"nav": "submit"})
    assert unconfirmed.status_code == 422 and "请勾选确认后再提交" in unconfirmed.get_data(as_text=True)


def test_bad_id_number_and_phone_are_refused_next_to_the_field(app, demo, make_web):
    web = make_web()
    web.login("resident1")
    case_id = start(web)
    resp = post_step(web, case_id, 3, {"applicant_id_number": "110105194912310021", "applicant_phone": "1390553",
                                       "respondent1-kind": "person", "respondent1-name": "李建国"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="applicant_id_number-error">身份证号码校验位不正确' in body
    assert 'id="applicant_phone-error">请输入有效的 11 位手机号码' in body
    assert "李建国" in body  # what was typed is still there


def test_grid_worker_files_with_the_residents_confirmation(app, demo, make_web):
    grid = make_web()
    grid.login("grid1")
    case_id = start(grid, title="独居老人被拖欠房租", description="租客拖欠独居老人张大爷三个月房租共四千五百元。")
    missing = post_step(grid, case_id, 3, {"respondent1-kind": "person", "respondent1-name": "租客吴某"})
    assert missing.status_code == 422 and "请填写申请人（居民）的姓名" in missing.get_data(as_text=True)
    assert "租客吴某" in missing.get_data(as_text=True)
    assert post_step(grid, case_id, 2, {"category": "tenancy"}).status_code == 302
    assert post_step(grid, case_id, 3, {"applicant_name": "张大爷", "applicant_phone": "13905531111",
                                        "respondent1-kind": "person", "respondent1-name": "租客吴某"}).status_code == 302
    unconfirmed = post_step(grid, case_id, 5, {"nav": "submit", "truthful": "y"})
    assert unconfirmed.status_code == 422 and "须居民本人当面确认" in unconfirmed.get_data(as_text=True)
    no_consent = post_step(grid, case_id, 5, {"nav": "submit", "truthful": "y", "resident_confirmed": "y"})
    assert no_consent.status_code == 422 and "须记录居民本人对个人信息处理规则的同意" in no_consent.get_data(as_text=True)
    done = post_step(grid, case_id, 5, {"nav": "submit", "truthful": "y", "resident_confirmed": "y",
                                        "resident_consented": "y", "consent_method": "in_person_signed"})
    assert done.status_code == 302
    page = grid.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "张大爷" in page and "13905531111" in page  # the filer sees the resident's number in full
    from app.extensions import db

    with app.app_context():
        event = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.action == "assess")).one()
        assert "居民本人已当面确认" in event.reason


def test_numbers_are_masked_for_everyone_but_their_owner(app, demo, make_web):
    resident, mediator, orgadmin = make_web(), make_web(), make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "邻居狗叫扰民", "neighbour", "隔壁邻居家的狗每天半夜狂叫，老人无法入睡。",
                           applicant_id_number=VALID_ID)
    resident.post(f"/cases/{case_id}/steps/request_mediation",
                  {"version": VERSION_RE.search(resident.get(f"/cases/{case_id}").get_data(as_text=True)).group(1)})
    own = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "13905531234" in own and VALID_ID in own
    assert "13905539876" not in own and "139****9876" in own  # the respondent's number is not the applicant's
    for web, username in ((mediator, "mediator1"), (orgadmin, "orgadmin1")):
        web.login(username)
        for url in (f"/cases/{case_id}", f"/org/cases/{case_id}/assign", "/org/cases", "/mediator/inbox"):
            body = web.get(url).get_data(as_text=True)
            assert "13905531234" not in body and VALID_ID not in body and "13905539876" not in body, (username, url)
        assert "139****1234" in web.get(f"/cases/{case_id}").get_data(as_text=True)
        assert "110***********002X" in web.get(f"/cases/{case_id}").get_data(as_text=True)


def test_a_file_over_the_limit_is_refused_next_to_the_field(app, demo, make_web):
    assert app.config["MAX_EVIDENCE_BYTES"] == 20 * 1024 * 1024  # the limit residents are told about
    web = make_web()
    web.login("resident1")
    case_id = start(web)
    app.config["MAX_EVIDENCE_BYTES"] = 104_857  # 0.1 MB; enforce a small limit: the test client spools big bodies to files
    try:
        resp = post_step(web, case_id, 4, {"file": (io.BytesIO(b"%PDF-1.7\n" + b"0" * 200 * 1024), "合同扫描件.pdf")})
    finally:
        app.config["MAX_EVIDENCE_BYTES"] = 20 * 1024 * 1024
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="file-error">文件超过 0.1 MB' in body
    from app.extensions import db

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EvidenceFile)
                                 .where(EvidenceFile.case_id == case_id)) == 0
