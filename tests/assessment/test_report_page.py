"""The assessment report of a demo case: the page (zh and en), its PDF (text, fonts, footer, stored with its hash),
the limitation warning against a frozen clock, anonymised similar cases, and who may see it."""
from __future__ import annotations

import hashlib
import subprocess
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.cases import assessment_views
from app.cases.models import Case, CaseParty, CaseStatus, PartyKind, PartyRole, Stage
from app.documents import Document, fonts
from tests.documents.tripwire import tripwire_server

TODAY = date(2026, 5, 20)
TENANCY = "退租后房东不退押金"
LABOUR = "工地拖欠三个月工资"


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch):
    monkeypatch.setattr(assessment_views, "beijing_today", lambda: TODAY)


def update_case(app, find_title, **values):
    from app.extensions import db

    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.title == find_title))
        for key, value in values.items():
            setattr(case, key, value)
        db.session.commit()
        case_id = case.id
        db.session.remove()
    return case_id


def add_concluded_cases(app, category, outcomes):
    """Earlier cases of the category, concluded, with names and titles that must never be shown."""
    from app.accounts.models import User
    from app.extensions import db

    with app.app_context():
        filer = db.session.scalar(sa.select(User).where(User.username == "resident2"))
        for i, (status, amount, days) in enumerate(outcomes):
            created = datetime(2025, 1, 1) + timedelta(days=i)
            case = Case(title=f"机密标题{i}", stage=Stage.closed, status=status, category=category, amount=amount,
                        description="机密描述", filed_by_id=filer.id, created_at=created,
                        closed_at=created + timedelta(days=days))
            case.parties.append(CaseParty(role=PartyRole.applicant, kind=PartyKind.person, name=f"赵机密{i}"))
            db.session.add(case)
        db.session.commit()
        db.session.remove()


def pdf_tools(pdf: bytes, tmp_path) -> tuple[str, str]:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                          check=True).stdout.decode("utf-8")
    fonts_out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True).stdout.decode("utf-8", "replace")
    return text, fonts_out


def test_the_report_page_of_a_tenancy_case(app, demo, make_web):
    case_id = update_case(app, TENANCY, learned_on=date(2023, 7, 1), began_on=date(2023, 6, 1))  # ends 2026-07-01
    add_concluded_cases(app, "tenancy", [(CaseStatus.settled, Decimal(2_500), 20), (CaseStatus.settled, Decimal(60_000), 35),
                                         (CaseStatus.withdrawn, None, 5)])
    resident = make_web()
    resident.login("resident1")
    resp = resident.get(f"/cases/{case_id}/assessment")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    for phrase in ("纠纷评估报告", TENANCY, "房屋租赁纠纷", "系统识别依据", "押金", "先申请人民调解",
                   "司法确认", "如双方订有书面仲裁协议", "小额诉讼", "诉讼时效：3 年", "《民法典》第一百八十八条",
                   "时效即将届满：还剩 42 天", "2026-07-01", "人民调解不收费", "3,000 元", "50 元", "25 元",
                   "已办结的同类案件 3 件", "调解成功：2 件", "1 万–5 万", "申请调解后，系统将分派给",
                   "下载 PDF 报告", "仅供参考"):
        assert phrase.replace("1 万–5 万", "10,000 元及以下") in page, phrase
    assert "机密" not in page and "赵机密" not in page  # similar cases: no titles, names or texts
    assert 'role="alert"' in page


def test_past_and_unknown_limitation_warnings(app, demo, make_web):
    case_id = update_case(app, TENANCY, learned_on=date(2023, 5, 1))
    resident = make_web()
    resident.login("resident1")
    assert "时效可能已经届满" in resident.get(f"/cases/{case_id}/assessment").get_data(as_text=True)
    update_case(app, TENANCY, learned_on=None)
    page = resident.get(f"/cases/{case_id}/assessment").get_data(as_text=True)
    assert "尚未填写“知道权利受损的日期”" in page and "不足 3 件" in page


def test_a_labour_case_report(app, demo, make_web):
    case_id = update_case(app, LABOUR, learned_on=date(2025, 12, 1))
    resident = make_web()
    resident.login("resident1")
    page = resident.get(f"/cases/{case_id}/assessment").get_data(as_text=True)
    for phrase in ("先申请劳动争议调解：自申请之日起 15 日内", "劳动人事争议仲裁委员会申请仲裁", "劳动仲裁时效：1 年",
                   "劳动争议案件每件交纳 10 元", "本案由", "劳动关系存续期间"):
        assert phrase in page, phrase
    assert "小额诉讼" not in page


def test_the_report_in_english(app, demo, make_web):
    import re

    case_id = update_case(app, TENANCY, learned_on=date(2023, 7, 1))
    resident = make_web()
    resident.login("resident1")
    page = resident.get(f"/cases/{case_id}/assessment?lang=en").get_data(as_text=True)
    for phrase in ("Assessment report", "Tenancy", "Limitation period: 3 years", "Civil Code, Article 188",
                   "days left", "Download the PDF report"):
        assert phrase in page, phrase
    # Data stays as written: the resident's title and key words, organisation names.
    page = re.sub(r'<span class="word">[^<]*</span>', "", page)
    from app.accounts.models import Organisation
    from app.extensions import db

    with app.app_context():
        for name in db.session.scalars(sa.select(Organisation.name)):
            page = page.replace(name, "")
    visible = re.sub(r"<[^>]+>", " ", page).replace("解纷 Jiefen", "").replace("中文", "").replace(TENANCY, "").replace("王秀英", "")
    leftover = re.findall(r"[^\s]*[\u4e00-\u9fff][^\s]*", visible)
    assert not leftover, leftover


def test_the_pdf_report(app, demo, make_web, tmp_path):
    case_id = update_case(app, TENANCY, learned_on=date(2023, 7, 1))
    resident = make_web()
    resident.login("resident1")
    resp = resident.client.get(f"/cases/{case_id}/assessment.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert resp.headers["Cache-Control"] == "no-store"
    pdf = resp.get_data()
    text, fonts_out = pdf_tools(pdf, tmp_path)
    assert "第 1 页 共 2 页" in text and "第 2 页 共 2 页" in text
    for phrase in ("纠纷评估报告", TENANCY, "房屋租赁纠纷", "时效即将届满", "3,000元", "小额诉讼"):
        assert phrase in text.replace(" ", ""), phrase
    cjk = [line for line in fonts_out.splitlines() if "WenQuanYi" in line or "CJK" in line]
    assert cjk and all(line.split()[-5] == "yes" for line in cjk), fonts_out  # the emb column
    from app.core.storage import storage
    from app.extensions import db

    with app.app_context():
        doc = db.session.scalar(sa.select(Document).where(Document.case_id == case_id))
        assert doc.sha256 == hashlib.sha256(pdf).hexdigest() == resp.headers["X-Content-SHA256"]
        assert doc.kind == "assessment_report" and doc.size_bytes == len(pdf)
        with storage().open(doc.sha256) as fh:
            assert fh.read() == pdf


def test_case_text_with_urls_renders_as_text(app, demo, make_web, tmp_path):
    with tripwire_server() as (base, hits):
        _render_hostile_case(app, make_web, tmp_path, base, hits)


def _render_hostile_case(app, make_web, tmp_path, base, hits):
    title = f'<img src="file:///etc/passwd"><img src="{base}/x.png">'
    case_id = update_case(app, TENANCY, title=title, description='押金 <link rel="attachment" href="file:///etc/passwd">')
    resident = make_web()
    resident.login("resident1")
    pdf = resident.client.get(f"/cases/{case_id}/assessment.pdf").get_data()
    text, _ = pdf_tools(pdf, tmp_path)
    assert 'src="file:///etc/passwd"' in text  # shown as the words the resident typed
    assert hits == [] and b"root:x:0:0" not in pdf and b"/EmbeddedFile" not in pdf


def test_no_cjk_font_refuses_with_a_clear_message_and_no_5xx(app, demo, make_web, monkeypatch):
    case_id = update_case(app, TENANCY, learned_on=date(2023, 7, 1))
    resident = make_web()
    resident.login("resident1")
    monkeypatch.setattr(fonts, "cjk_font_families", list)
    fonts.forget()
    try:
        resp = resident.client.get(f"/cases/{case_id}/assessment.pdf")
        assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case_id}/assessment")
        assert "缺少中文字体" in resident.get(resp.headers["Location"]).get_data(as_text=True)
    finally:
        fonts.forget()
    from app.extensions import db

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == 0


def test_only_those_who_may_see_the_case_see_its_report(app, demo, make_web):
    case_id = update_case(app, TENANCY)
    other = make_web()
    other.login("resident2")
    assert other.get(f"/cases/{case_id}/assessment").status_code == 404
    assert other.get(f"/cases/{case_id}/assessment.pdf").status_code == 404
    anonymous = make_web()
    assert anonymous.get(f"/cases/{case_id}/assessment").status_code == 302


def test_a_case_without_a_category_has_no_report_yet(app, demo, make_web):
    case_id = update_case(app, "楼上每晚十一点后还在拖动家具")
    resident = make_web()
    resident.login("resident1")
    resp = resident.get(f"/cases/{case_id}/assessment")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case_id}")
