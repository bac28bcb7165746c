"""The governance dashboard's 60-second panel cache: a second look runs no SQL for the panels and shows the same
numbers; the cache key holds the scope the user is allowed, so an org admin never gets another organisation's (or
the platform's) cached panels; entries expire; a rollup refresh empties it; the page says when figures were read."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.analytics import panel_cache
from app.core.time import utcnow
from app.extensions import db
from tests.analytics.test_dashboard_views import FUNNEL_ALL, FUNNEL_ORG1, URL, csv_rows, dashboard, logged_in
from tests.conftest import sql_statements

# What the panels read; a request's own statements (the session, the user, the organisation's name) are not panels.
PANEL_TABLES = re.compile(r"\b(dash_\w+|cases|case_events|case_parties|satisfaction_ratings|mediator_profiles|"
                          r"confirmation_applications)\b")


@pytest.fixture()
def clock(monkeypatch):
    """panel_cache's clock, moved by hand: clock.now += 61."""
    class Clock:
        now = 1_000_000.0

    monkeypatch.setattr(panel_cache, "_now", lambda: Clock.now)
    return Clock


def _file_one_more_case(app) -> None:
    """One more dispute on the platform (filed by grid1, no organisation yet): the funnel's first step counts it."""
    from decimal import Decimal

    from app.accounts.models import User
    from app.cases.models import PartyKind, PartyRole
    from app.cases.operations import CaseData, PartyData, file_case
    from app.cases.rules import current_rules

    with app.app_context():
        filer = db.session.scalar(sa.select(User).where(User.username == "grid1"))
        data = CaseData(title="新来的纠纷", description="邻居楼道堆放杂物，影响通行。", category="neighbour",
                        amount=Decimal("0"), region_code="340202001001")
        parties = [PartyData(role=PartyRole.applicant, kind=PartyKind.person, name="甲", region_code="340202001001"),
                   PartyData(role=PartyRole.respondent, kind=PartyKind.person, name="乙", region_code="340202001001")]
        file_case(filer, data, parties, current_rules())
        db.session.commit()
        db.session.remove()


def test_a_second_look_within_a_minute_runs_no_panel_sql_and_shows_the_same_numbers(app, demo, make_web, clock):
    web = logged_in(make_web, "admin")
    with sql_statements(app) as first_sql:
        first_html, first = dashboard(web)
    assert [s for s in first_sql if PANEL_TABLES.search(s)], "the first look builds the panels"
    clock.now += 59
    with sql_statements(app) as second_sql:
        second_html, second = dashboard(web)
    assert [s for s in second_sql if PANEL_TABLES.search(s)] == []
    assert len(second_sql) < len(first_sql) - 30
    assert second.panels == first.panels and second.charts == first.charts
    assert second.body("funnel") == FUNNEL_ALL
    stamp = re.search(r'数据更新于 <time datetime="([^"]+)">(\d\d:\d\d)</time>', second_html)
    assert stamp and stamp.groups() == re.search(r'数据更新于 <time datetime="([^"]+)">(\d\d:\d\d)</time>',
                                                 first_html).groups()
    beijing = (utcnow() + timedelta(hours=8)).strftime("%H:%M")
    assert stamp.group(2) <= beijing or beijing < "00:02"  # Beijing time, not UTC


def test_the_csv_export_reuses_the_cache_too(app, demo, make_web, clock):
    web = logged_in(make_web, "admin")
    rows = csv_rows(web.get(f"{URL}/funnel.csv"))
    with sql_statements(app) as sql:
        again = csv_rows(web.get(f"{URL}/funnel.csv"))
    assert again == rows and [s for s in sql if PANEL_TABLES.search(s)] == []


def test_an_org_admin_never_gets_other_cached_panels(app, demo, make_web, clock):
    _html, t = dashboard(logged_in(make_web, "admin"))  # the platform's panels are cached first
    assert t.body("funnel") == FUNNEL_ALL
    html, t = dashboard(logged_in(make_web, "orgadmin2"))  # organisation B: no demo cases
    assert [r[1] for r in t.body("funnel")] == ["0"] * 6 and "团结社区人民调解委员会" not in html
    html, t = dashboard(logged_in(make_web, "orgadmin1"))  # organisation A: its own five cases only
    assert "治理看板 · 团结社区人民调解委员会" in html
    assert t.body("funnel") == FUNNEL_ORG1
    assert sum(int(r[1]) for r in t.body("category")) == 5
    # ...and each of them again, now from the cache: still their own
    assert dashboard(logged_in(make_web, "orgadmin2"))[1].body("funnel")[0][1] == "0"
    assert dashboard(logged_in(make_web, "admin"))[1].body("funnel") == FUNNEL_ALL
    assert csv_rows(logged_in(make_web, "orgadmin2").get(f"{URL}/mediators.csv"))[1:] == []


def test_the_filter_and_the_language_are_part_of_the_key(app, demo, make_web, clock):
    web = logged_in(make_web, "admin")
    next_month = ((utcnow() + timedelta(hours=8)).date().replace(day=28) + timedelta(days=5)).strftime("%Y-%m")
    assert dashboard(web)[1].body("funnel") == FUNNEL_ALL
    assert [r[1] for r in dashboard(web, f"?since={next_month}")[1].body("funnel")] == ["0"] * 6
    assert dashboard(web)[1].body("funnel") == FUNNEL_ALL
    web.get("/lang/en")
    html, _t = dashboard(web)
    assert "化解漏斗转化" not in html  # English titles, not the cached Chinese panels


def test_figures_are_kept_a_minute_then_read_again(app, demo, make_web, clock):
    web = logged_in(make_web, "admin")
    assert dashboard(web)[1].body("funnel")[0] == ["咨询", "11", "—", "—"]
    _file_one_more_case(app)
    clock.now += 30
    assert dashboard(web)[1].body("funnel")[0] == ["咨询", "11", "—", "—"]  # within the minute: as computed
    clock.now += 31
    assert dashboard(web)[1].body("funnel")[0] == ["咨询", "12", "—", "—"]  # expired: read again


def test_a_rollup_refresh_empties_the_cache(app, demo, make_web, clock):
    web = logged_in(make_web, "admin")
    dashboard(web)
    assert panel_cache.size() == 1
    _file_one_more_case(app)
    assert app.test_cli_runner().invoke(args=["dashboard", "refresh"]).exit_code == 0
    assert panel_cache.size() == 0
    assert dashboard(web)[1].body("funnel")[0] == ["咨询", "12", "—", "—"]


def test_the_cache_is_capped_and_drops_expired_entries_first(monkeypatch, clock):
    monkeypatch.setattr(panel_cache, "MAX_ENTRIES", 3)
    for key in "abc":
        assert panel_cache.get_or_build(key, lambda k=key: k.upper())[0] == key.upper()
    clock.now += 61  # a, b and c expire
    panel_cache.get_or_build("d", lambda: "D")
    assert panel_cache.size() == 1
    for key in "efg":
        panel_cache.get_or_build(key, lambda k=key: k.upper())
    assert panel_cache.size() == 3
    built = []
    assert panel_cache.get_or_build("d", lambda: built.append("d") or "D2")[0] == "D2"  # d, the oldest, went
    assert built == ["d"]
    assert panel_cache.get_or_build("g", lambda: "never")[0] == "G"



def test_off_under_testing_unless_asked_for(app, demo, make_web, monkeypatch, clock):
    """Other test folders wipe the data between tests behind the cache's back: there it stays off."""
    monkeypatch.delitem(app.config, "DASHBOARD_PANEL_CACHE")
    web = logged_in(make_web, "admin")
    dashboard(web)
    assert panel_cache.size() == 0
    with sql_statements(app) as sql:
        dashboard(web)
    assert [s for s in sql if PANEL_TABLES.search(s)]
