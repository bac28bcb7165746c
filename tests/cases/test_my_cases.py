"""The resident's case list (/my/cases) in pages of 20: newest activity first, a pager, bad page numbers answered
in words, someone else's cases never listed, and this page's cases loaded in bulk (no query per card)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.cases.models import Case
from app.core.time import utcnow
from app.extensions import db
from tests.conftest import sql_statements

TITLE_RE = re.compile(r'<article class="card case-card" id="case-\d+">\s*<h2><a href="/cases/\d+">([^<]+)</a>')
PAGER_RE = re.compile(r'<nav class="pager row" aria-label="([^"]+)">(.*?)</nav>', re.S)


def _file(app, username: str, n: int, prefix: str) -> None:
    """n disputes filed by username, the i-th last touched i minutes after the first (so the order is known)."""
    from decimal import Decimal

    from app.accounts.models import User
    from app.cases.models import PartyKind, PartyRole
    from app.cases.operations import CaseData, PartyData, file_case
    from app.cases.rules import current_rules

    with app.app_context():
        filer = db.session.scalar(sa.select(User).where(User.username == username))
        start = utcnow() - timedelta(days=1)
        for i in range(1, n + 1):
            data = CaseData(title=f"{prefix}{i:02d}", description="楼上装修噪音影响休息，多次沟通无果。",
                            category="neighbour", amount=Decimal("0"), region_code="340202001001")
            parties = [PartyData(role=PartyRole.applicant, kind=PartyKind.person, name="申请人",
                                 region_code="340202001001"),
                       PartyData(role=PartyRole.respondent, kind=PartyKind.person, name="被申请人",
                                 region_code="340202001001")]
            case = file_case(filer, data, parties, current_rules())
            db.session.flush()
            db.session.execute(sa.update(Case).where(Case.id == case.id)
                               .values(updated_at=start + timedelta(minutes=i)))
        db.session.commit()
        db.session.remove()


@pytest.fixture()
def resident_with_45(app, demo):
    """A new resident with 45 disputes (案件01 .. 案件45, 45 the newest), in the demo county."""
    from app.accounts.operations import register_resident

    with app.app_context():
        register_resident("many", demo, "多案居民", None)
        db.session.commit()
        db.session.remove()
    _file(app, "many", 45, "案件")
    return "many"


def titles(html: str) -> list[str]:
    return TITLE_RE.findall(html)


def page(web, query: str = "") -> str:
    resp = web.get("/my/cases" + query)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    return resp.get_data(as_text=True)


def test_twenty_newest_first_then_the_rest(app, resident_with_45, make_web):
    web = make_web()
    web.login(resident_with_45)
    first = page(web)
    assert titles(first) == [f"案件{i:02d}" for i in range(45, 25, -1)]
    assert titles(page(web, "?page=1")) == titles(first)
    assert titles(page(web, "?page=2")) == [f"案件{i:02d}" for i in range(25, 5, -1)]
    assert titles(page(web, "?page=3")) == [f"案件{i:02d}" for i in range(5, 0, -1)]
    assert "共 45 件纠纷" in first


def test_the_pager_links_and_marks_the_current_page(app, resident_with_45, make_web):
    web = make_web()
    web.login(resident_with_45)
    label, nav = PAGER_RE.search(page(web)).groups()
    assert label == "我的纠纷翻页"
    assert 'aria-current="page">第 1 / 3 页（共 45 件）' in nav
    assert "上一页" not in nav and 'href="/my/cases?page=2" rel="next">下一页' in nav

    _label, nav = PAGER_RE.search(page(web, "?page=2")).groups()
    assert 'href="/my/cases" rel="prev">上一页' in nav  # page 1 is the plain address
    assert 'href="/my/cases?page=3" rel="next">下一页' in nav and "第 2 / 3 页" in nav

    _label, nav = PAGER_RE.search(page(web, "?page=3")).groups()
    assert 'href="/my/cases?page=2" rel="prev">上一页' in nav and "下一页" not in nav


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "1.5", "２", "9" * 40, "%00"])
def test_a_page_that_is_not_a_positive_number_shows_page_1_and_says_so(raw, app, resident_with_45, make_web):
    web = make_web()
    web.login(resident_with_45)
    html = page(web, f"?page={raw}")
    assert "已显示第 1 页" in html and 'role="status"' in html
    assert titles(html)[0] == "案件45" and len(titles(html)) == 20


def test_a_page_past_the_end_shows_the_last_page_and_says_so(app, resident_with_45, make_web):
    web = make_web()
    web.login(resident_with_45)
    html = page(web, "?page=4")
    assert "没有第 4 页，已显示最后一页（第 3 页）。" in html
    assert titles(html) == [f"案件{i:02d}" for i in range(5, 0, -1)]
    assert "第 3 / 3 页" in html
    html = page(web, "?page=999999999")
    assert titles(html) == [f"案件{i:02d}" for i in range(5, 0, -1)]


def test_another_residents_cases_never_appear(app, resident_with_45, make_web):
    _file(app, "resident2", 3, "别人的")
    web = make_web()
    web.login(resident_with_45)
    shown = [t for n in (1, 2, 3) for t in titles(page(web, f"?page={n}"))]
    assert sorted(shown) == sorted(f"案件{i:02d}" for i in range(1, 46))
    other = make_web()
    other.login("resident2")
    html = page(other)
    assert not any(t.startswith("案件") for t in titles(html))
    assert {"别人的01", "别人的02", "别人的03"} <= set(titles(html))
    assert "pager" not in html  # a short list has no pager


def test_a_grid_worker_pages_the_cases_they_filed(app, demo, make_web):
    _file(app, "grid1", 25, "网格")
    web = make_web()
    web.login("grid1")
    with app.app_context():
        from app.accounts.models import User

        grid1 = db.session.scalar(sa.select(User).where(User.username == "grid1"))
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.visible_to(grid1)))
        db.session.remove()
    first, second = page(web), page(web, "?page=2")
    assert len(titles(first)) == 20 and titles(first)[0] == "网格25"
    assert len(titles(second)) == total - 20
    assert f"第 2 / 2 页（共 {total} 件）" in second


def test_a_resident_with_no_cases_is_invited_to_ask(app, make_web):
    from app.accounts.operations import register_resident

    with app.app_context():
        register_resident("nobody", "jiefen-demo", "新居民", None)
        db.session.commit()
        db.session.remove()
    web = make_web()
    web.login("nobody")
    html = page(web, "?page=5")
    assert "您还没有提交过纠纷" in html and "pager" not in html


def test_the_cards_of_a_page_are_loaded_in_a_few_queries(app, resident_with_45, make_web):
    web = make_web()
    web.login(resident_with_45)
    with sql_statements(app) as statements:
        page(web, "?page=2")
    on_cases = [s for s in statements if re.search(r"\bFROM (cases|case_events|case_parties)\b", s)]
    # the page's cases (with the number of all of them, for the pager) and their events: not one query per card,
    # nor the parties of cards the resident filed, nor a second statement to count. One of slack.
    assert len(on_cases) <= 3, "\n\n".join(on_cases)
