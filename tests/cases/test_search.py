"""Case search (案件查询): an org admin finds their own organisation's cases by words of the title, description, a
party's name or the court case number, never another organisation's; the admin searches the platform."""
from __future__ import annotations

import re

import sqlalchemy as sa

from app.cases.models import Case, CaseParty
from app.cases.search import runs, search_cases, tsquery_text, tsvector_literal
from app.extensions import db

ROW = re.compile(r'href="/cases/(\d+)">#\d+ ')


def _ids(html: str) -> list[int]:
    return [int(i) for i in ROW.findall(html)]


def _org_cases(app, username: str, *, others: bool = False) -> tuple[int, list[Case]]:
    """The organisation of `username` and its cases (others: every case outside it)."""
    from app.accounts.models import User

    with app.app_context():
        org = db.session.scalar(sa.select(User.organisation_id).where(User.username == username))
        mine = Case.organisation_id == org
        where = sa.or_(~mine, Case.organisation_id.is_(None)) if others else mine
        cases = db.session.scalars(sa.select(Case).where(where).order_by(Case.id)).all()
        for c in cases:
            c.parties  # noqa: B018 - load before the session closes
        db.session.expunge_all()
        return org, cases


def test_bigrams_and_phrases():
    assert runs("拖欠 工资，ＡＢＣ１") == ["拖欠", "工资", "abc1"]
    assert tsvector_literal("拖欠工资", "王伟") == ("'拖欠':1 '欠工':2 '工资':3 '王伟':5 "
                                                "'伟' '工' '拖' '欠' '王' '资'")
    assert tsquery_text("拖欠工资 王伟") == "('拖欠' <-> '欠工' <-> '工资') & ('王伟')"
    assert tsquery_text("王") == "('王')"
    assert tsquery_text("，。") is None


def test_org_admin_finds_own_cases_by_title_party_and_description_only(app, demo, web):
    org, mine = _org_cases(app, "orgadmin1")
    _org, theirs = _org_cases(app, "orgadmin1", others=True)
    assert mine and theirs
    web.login("orgadmin1")
    listing = web.get("/org/cases/search")
    assert listing.status_code == 200 and listing.headers["Cache-Control"] == "no-store"
    assert sorted(_ids(listing.get_data(as_text=True))) == sorted(c.id for c in mine)
    target = mine[0]
    for query in (target.title[1:5], target.parties[0].name, target.description[2:8]):
        page = web.get("/org/cases/search", query_string={"q": query}).get_data(as_text=True)
        assert target.id in _ids(page), query
        assert not set(_ids(page)) & {c.id for c in theirs}
    # another organisation's case, searched by its own exact title, is not found
    page = web.get("/org/cases/search", query_string={"q": theirs[0].title}).get_data(as_text=True)
    assert theirs[0].id not in _ids(page)
    assert "没有符合条件的案件" in page or _ids(page)


def test_admin_searches_every_organisation(app, demo, web):
    _org, theirs = _org_cases(app, "orgadmin1", others=True)
    web.login("admin")
    page = web.get("/org/cases/search", query_string={"q": theirs[0].title}).get_data(as_text=True)
    assert theirs[0].id in _ids(page)


def test_words_must_appear_as_typed(app, demo, web):
    web.login("admin")
    page = web.get("/org/cases/search", query_string={"q": "不存在的词语组合"}).get_data(as_text=True)
    assert _ids(page) == [] and "没有符合条件的案件。" in page


def test_a_renamed_party_is_found_under_the_new_name(app, demo, web):
    org, mine = _org_cases(app, "orgadmin1")
    with app.app_context():
        party = db.session.get(CaseParty, mine[0].parties[-1].id)
        party.name = "欧阳娜娜"
        db.session.commit()
        assert [r.id for r in search_cases(organisation_id=org, query="欧阳娜娜").rows] == [mine[0].id]
        assert search_cases(organisation_id=org, query="欧阳娜娜丽").rows == []
        assert mine[0].id in [r.id for r in search_cases(organisation_id=org, query="欧").rows]  # one character


def test_stage_filter_pages_and_bad_input(app, demo, web):
    web.login("orgadmin1")
    page = web.get("/org/cases/search", query_string={"stage": "mediate"}).get_data(as_text=True)
    with app.app_context():
        from app.accounts.models import User

        org = db.session.scalar(sa.select(User.organisation_id).where(User.username == "orgadmin1"))
        expected = set(db.session.scalars(sa.select(Case.id).where(Case.organisation_id == org,
                                                                   Case.stage == "mediate")))
    assert set(_ids(page)) == expected and expected
    bad = web.get("/org/cases/search", query_string={"q": "字" * 101, "page": "0", "stage": "nowhere"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 200
    assert 'id="q-error"' in html and "关键词最多 100 个字。" in html
    assert "页码应在 1 到 250 之间。" in html
    assert 'id="stage-error"' in html
    assert "字" * 101 in html  # what was typed stays in the box


def test_pagination_has_next_page(app, demo, web, monkeypatch):
    from app.cases import search

    monkeypatch.setattr(search, "PAGE_SIZE", 2)
    web.login("admin")
    first = web.get("/org/cases/search").get_data(as_text=True)
    second = web.get("/org/cases/search", query_string={"page": 2}).get_data(as_text=True)
    assert len(_ids(first)) == 2 and len(_ids(second)) == 2 and not set(_ids(first)) & set(_ids(second))
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_who_may_search(app, demo, web):
    for username in ("resident1", "mediator1", "court1"):
        web.login(username)
        assert web.get("/org/cases/search").status_code == 403
        web.logout()


def test_both_search_paths_give_the_same_newest_first_answer(app, demo, monkeypatch):
    """Words common among the newest cases are found there; a case outside that window, through the index."""
    from app.cases import search

    monkeypatch.setattr(search, "PAGE_SIZE", 1)
    monkeypatch.setattr(search, "RECENT_WINDOW", 1)  # the window is then 4 x (offset + limit) = 8 cases
    with app.app_context():
        cases = db.session.scalars(sa.select(Case).order_by(Case.created_at.desc(), Case.id.desc())).all()
        assert len(cases) > 8
        oldest = cases[-1]
        assert [r.id for r in search_cases(organisation_id=None, query=oldest.title).rows] == [oldest.id]
        newest_first = []
        for page in range(1, len(cases) + 2):  # every case, one per page: the window path, then the index path
            result = search_cases(organisation_id=None, query="", page=page)
            newest_first += [r.id for r in result.rows]
            if not result.has_next:
                break
        assert newest_first == [c.id for c in cases]
