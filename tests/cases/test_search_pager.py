"""Case search's pager (the shared templates/_pager.html): the next and previous links keep the words and the stage
filter, so page 2 shows the next matches of the same search."""
from __future__ import annotations

import html
import re
from collections import Counter
from urllib.parse import parse_qs, urlsplit

from app.cases.models import Case
from app.extensions import db
from tests.cases.test_search import _ids

LINK = r'href="([^"]+)" rel="{}"'


def _link(page: str, rel: str) -> tuple[str, dict]:
    url = html.unescape(re.search(LINK.format(rel), page).group(1))
    return url, parse_qs(urlsplit(url).query)


def test_page_two_keeps_the_query_and_the_filter(app, demo, web, monkeypatch):
    from app.cases import search

    with app.app_context():  # the stage holding most of the cases with a respondent named 某… (某物业…, 前夫刘某)
        stage, matches = Counter(r.stage for r in search.search_cases(organisation_id=None, query="某").rows
                                 ).most_common(1)[0]
        db.session.remove()
    assert matches >= 2
    monkeypatch.setattr(search, "PAGE_SIZE", 1)
    web.login("admin")
    first = web.get("/org/cases/search", query_string={"q": "某", "stage": stage}).get_data(as_text=True)
    url, query = _link(first, "next")
    assert query == {"q": ["某"], "stage": [stage], "page": ["2"]}
    assert 'rel="prev"' not in first and "第 1 页" in first

    second = web.get(url).get_data(as_text=True)
    assert "第 2 页" in second and 'value="某"' in second  # the form still shows the search
    (shown,) = _ids(second)
    assert shown not in _ids(first)
    with app.app_context():
        assert db.session.get(Case, shown).stage.value == stage
        db.session.remove()
    url, query = _link(second, "prev")
    assert query == {"q": ["某"], "stage": [stage]}  # page 1 without ?page
    assert _ids(web.get(url).get_data(as_text=True)) == _ids(first)
