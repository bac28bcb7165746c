"""The governance dashboard page and its CSV exports on the demo county: what the tables show (the charts draw the
same numbers), who may open it, and that an org admin sees only their organisation."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from app.cases.models import Case
from app.core.time import utcnow
from app.extensions import db

URL = "/dashboard/governance"
PANELS = ["funnel", "category", "region", "tier", "month", "stage_times", "mediators", "organisations",
          "satisfaction", "overdue", "warnings"]
FUNNEL_ALL = [["咨询", "11", "—", "—"], ["评估立案", "10", "90.9%", "咨询"], ["进入调解", "4", "40.0%", "评估立案"],
              ["调解成功", "1", "25.0%", "进入调解"], ["进入仲裁", "2", "20.0%", "评估立案"], ["进入诉讼", "1", "10.0%", "评估立案"]]
# orgadmin1's committee (团结社区) handles five demo cases: two in mediation, one awaiting a mediator, one sent on to
# court after mediation failed, one settled.
FUNNEL_ORG1 = [["咨询", "5", "—", "—"], ["评估立案", "5", "100.0%", "咨询"], ["进入调解", "4", "80.0%", "评估立案"],
               ["调解成功", "1", "25.0%", "进入调解"], ["进入仲裁", "0", "0.0%", "评估立案"], ["进入诉讼", "1", "20.0%", "评估立案"]]
# 在办 counts only cases still waiting for or in mediation: the one sent on to court has ended.
MEDIATOR1 = ["张桂兰", "团结社区人民调解委员会", "2", "1", "1", "50.0%"]
ORG1 = ["团结社区人民调解委员会", "3", "1", "1", "50.0%"]


class Tables(HTMLParser):
    """Each dashboard panel's table rows as the text of their cells ({panel key: [[cell, ...], ...]}), and the
    links inside them."""

    def __init__(self, html: str):
        super().__init__()
        self.panels: dict[str, list[list[str]]] = {}
        self.links: dict[str, list[tuple[str, str]]] = {}
        self.charts: dict[str, dict] = {}
        self._panel = self._row = self._cell = self._href = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and (a.get("id") or "").startswith("panel-"):
            self._panel = a["id"].removeprefix("panel-")
            self.panels[self._panel], self.links[self._panel] = [], []
        elif tag == "div" and "data-chart" in a and self._panel:
            self.charts[self._panel] = json.loads(a["data-chart"])
        elif tag == "tr" and self._panel:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a" and self._cell is not None:
            self._href, self._link_text = a.get("href"), []

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links[self._panel].append(("".join(self._link_text).strip(), self._href))
            self._href = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.panels[self._panel].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._href is not None:
            self._link_text.append(data)

    def body(self, panel: str) -> list[list[str]]:
        """The rows without the header rows."""
        return [r for r in self.panels[panel] if r and r[0] not in ("环节", "纠纷类型", "地区", "层级", "月份", "阶段",
                                                                      "调解员", "调解组织", "评分", "案件", "预警")]


def dashboard(web, query: str = "") -> tuple[str, Tables]:
    resp = web.get(URL + query)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:1000]
    html = resp.get_data(as_text=True)
    return html, Tables(html)


def logged_in(make_web, username):
    web = make_web()
    web.login(username)
    return web


def csv_rows(resp) -> list[list[str]]:
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=governance-")
    assert resp.data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel opens the Chinese right
    return list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))


# --- the admin: the whole platform ------------------------------------------------------------------------------
def test_admin_sees_every_panel_as_a_table_with_the_demo_numbers(app, demo, make_web):
    html, t = dashboard(logged_in(make_web, "admin"))
    assert list(t.panels) == PANELS
    assert t.body("funnel") == FUNNEL_ALL
    category = t.body("category")
    assert category[0] == ["邻里纠纷", "2"] and sum(int(r[1]) for r in category) == 11
    assert ["未分类", "1"] in category
    assert t.body("region") == [["镜湖区（340202）", "11"]]
    assert sorted(t.body("tier")) == sorted([["尚无调解组织", "6"], ["村（社区）级", "5"]])
    assert sum(int(r[1]) for r in t.body("month")) == 11
    assert t.body("stage_times") == [["在线咨询", "0", "—", "—"], ["在线评估", "8", "0.0", "0.0"],
                                     ["在线调解", "2", "0.0", "0.0"], ["在线仲裁", "0", "—", "—"],
                                     ["在线诉讼", "0", "—", "—"]]
    assert t.body("mediators") == [MEDIATOR1]
    assert t.body("organisations") == [ORG1]
    assert t.body("satisfaction") == [[f"{n} 分", "0"] for n in range(5, 0, -1)] and "尚无评价" in html
    assert t.body("overdue") == [["暂无数据"]] * 4
    # ...and the charts draw the same numbers, from ECharts served by the site itself.
    assert t.charts["funnel"]["series"][0]["values"] == [11, 10, 4, 1, 2, 1]
    assert t.charts["mediators"]["labels"] == ["张桂兰"]
    assert set(t.charts) == set(PANELS) - {"warnings"}
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert scripts == ["/static/vendor/echarts.min.js", "/static/js/dashboard.js"]
    assert "<script>" not in html and " style=" not in html  # the CSP allows neither
    assert f'href="{URL}"' in html  # the navigation links here


def test_the_echarts_file_is_served_locally(app, make_web):
    resp = make_web().client.get("/static/vendor/echarts.min.js")
    assert resp.status_code == 200 and b"echarts" in resp.data[:2000]
    resp.close()


def test_ratings_show_in_the_satisfaction_panel(app, demo, make_web):
    with app.app_context():
        cid = db.session.scalar(sa.select(Case.id).where(Case.title == "车位被邻居长期占用"))
        db.session.remove()
    for username, score in (("resident1", "5"), ("resident2", "3")):
        web = logged_in(make_web, username)
        assert web.post(f"/cases/{cid}/rating", {"score": score}, page=f"/cases/{cid}").status_code == 302
    html, t = dashboard(logged_in(make_web, "admin"))
    assert "共 2 条评价，平均 4.00 分" in html
    assert t.body("satisfaction") == [["5 分", "1"], ["4 分", "0"], ["3 分", "1"], ["2 分", "0"], ["1 分", "0"]]
    assert t.charts["satisfaction"]["series"][0]["values"] == [1, 0, 1, 0, 0]
    html, t = dashboard(logged_in(make_web, "orgadmin2"))  # another organisation's case: not theirs
    assert "尚无评价" in html


def test_an_overdue_mediation_is_listed_with_a_link_to_its_case(app, demo, make_web):
    today = (utcnow() + timedelta(hours=8)).date()
    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.title == "楼上卫生间漏水泡坏我家天花板"))
        case.mediation_due_on = today - timedelta(days=5)
        db.session.commit()
        cid = case.id
        db.session.remove()
    html, t = dashboard(logged_in(make_web, "admin"))
    assert [f"#{cid} 楼上卫生间漏水泡坏我家天花板", "5", "团结社区人民调解委员会"] in t.body("overdue")
    assert (f"#{cid} 楼上卫生间漏水泡坏我家天花板", f"/cases/{cid}") in t.links["overdue"]
    assert "调解超期（一个月）（1）" in html
    rows = csv_rows(logged_in(make_web, "orgadmin1").get(f"{URL}/overdue.csv"))
    assert rows[0] == ["清单", "案件", "超期天数", "调解组织"]
    assert rows[1:] == [["调解超期（一个月）（1）", f"#{cid} 楼上卫生间漏水泡坏我家天花板", "5", "团结社区人民调解委员会"]]
    assert "楼上卫生间漏水泡坏我家天花板" not in dashboard(logged_in(make_web, "orgadmin2"))[0]


# --- org admins: their organisation only -------------------------------------------------------------------------
def test_org_admin_sees_only_their_organisation(app, demo, make_web):
    html, t = dashboard(logged_in(make_web, "orgadmin1"))
    assert "治理看板 · 团结社区人民调解委员会" in html and "本组织受理的案件" in html
    assert t.body("funnel") == FUNNEL_ORG1
    assert sum(int(r[1]) for r in t.body("category")) == 5
    assert t.body("mediators") == [MEDIATOR1] and t.body("organisations") == [ORG1]

    html, t = dashboard(logged_in(make_web, "orgadmin2"))  # 弋矶山街道: no cases in the demo
    assert "治理看板 · 弋矶山街道人民调解委员会" in html
    assert [r[1] for r in t.body("funnel")] == ["0"] * 6
    assert "张桂兰" not in html and "团结社区人民调解委员会" not in html
    assert t.body("mediators") == [["暂无数据"]]
    assert csv_rows(logged_in(make_web, "orgadmin2").get(f"{URL}/mediators.csv")) == [
        ["调解员", "调解组织", "在办", "已结", "调解成功", "调解成功率"]]


@pytest.mark.parametrize("user", ["resident1", "grid1", "mediator1", "arbitrator1", "court1"])
def test_every_other_role_gets_403(user, app, demo, make_web):
    web = logged_in(make_web, user)
    for url in (URL, f"{URL}/funnel.csv", f"{URL}/overdue.csv"):
        resp = web.get(url)
        assert resp.status_code == 403, url
        assert "化解漏斗转化" not in resp.get_data(as_text=True) and "panel-" not in resp.get_data(as_text=True)
    assert f'href="{URL}"' not in web.get("/dashboard", follow_redirects=True).get_data(as_text=True)


def test_anonymous_is_sent_to_log_in(app, make_web):
    for url in (URL, f"{URL}/funnel.csv"):
        resp = make_web().client.get(url)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


# --- CSV and filters ----------------------------------------------------------------------------------------------
def test_each_panel_exports_the_numbers_of_its_table(app, demo, make_web):
    web = logged_in(make_web, "admin")
    _html, t = dashboard(web)
    for panel in PANELS:
        rows = csv_rows(web.get(f"{URL}/{panel}.csv"))
        if panel == "overdue":
            continue  # several lists: a first column names each (test_an_overdue_mediation_is_listed...)
        shown = [["" if c in ("—", "暂无数据") else c for c in r] for r in t.panels[panel] if r != ["暂无数据"]]
        assert rows == shown, panel
    assert csv_rows(web.get(f"{URL}/funnel.csv"))[1:] == [[a, b, "" if c == "—" else c, "" if d == "—" else d] for a, b, c, d in FUNNEL_ALL]
    assert web.get(f"{URL}/nonsense.csv").status_code == 404


def test_the_month_filter_narrows_the_page_and_the_csv(app, demo, make_web):
    web = logged_in(make_web, "admin")
    today = (utcnow() + timedelta(hours=8)).date()  # months are Beijing calendar months
    this_month = today.strftime("%Y-%m")
    next_month = (today.replace(day=28) + timedelta(days=5)).strftime("%Y-%m")
    html, t = dashboard(web, f"?since={next_month}")
    assert [r[1] for r in t.body("funnel")] == ["0"] * 6
    assert f"funnel.csv?since={next_month}" in html  # the exports keep the filter
    assert [r[1] for r in csv_rows(web.get(f"{URL}/funnel.csv?since={next_month}"))[1:]] == ["0"] * 6
    html, t = dashboard(web, f"?until={this_month}")  # until is inclusive: this month's cases count
    assert t.body("funnel") == FUNNEL_ALL
    html, t = dashboard(web, f"?since={this_month}&until={this_month}")
    assert t.body("funnel") == FUNNEL_ALL and 'value="' + this_month + '"' in html


def test_a_backwards_or_malformed_month_is_refused_next_to_the_field(app, demo, make_web):
    html, t = dashboard(logged_in(make_web, "admin"), "?since=2026-11&until=2026-10")
    assert "截止月份不能早于起始月份。" in html and 'aria-invalid="true"' in html
    assert t.body("funnel") == FUNNEL_ALL  # shown unfiltered
    html, t = dashboard(logged_in(make_web, "admin"), "?since=2026-13")
    assert "请按“年-月”填写，例如 2026-01。" in html and 'id="since-error"' in html
    assert t.body("funnel") == FUNNEL_ALL


def test_a_mass_dispute_warning_says_why_and_links_its_cases(app, demo, make_web):
    from decimal import Decimal

    from app.accounts.models import User
    from app.cases.models import PartyKind, PartyRole
    from app.cases.operations import CaseData, PartyData, file_case
    from app.cases.rules import current_rules

    with app.app_context():  # four more workers against the demo's builder: five wage cases within the window
        filer = db.session.scalar(sa.select(User).where(User.username == "grid1"))
        for n in range(4):
            data = CaseData(title=f"工地欠薪（{n + 2}）", description="某建筑工程有限公司拖欠木工工资三个月，多次讨要无果。",
                            category="labour_wages", amount=Decimal("9000"), region_code="340202001001")
            parties = [PartyData(role=PartyRole.applicant, kind=PartyKind.person, name=f"工人{n}",
                                 region_code="340202001001"),
                       PartyData(role=PartyRole.respondent, kind=PartyKind.organisation, name="某建筑工程有限公司",
                                 region_code="340202001001")]
            file_case(filer, data, parties, current_rules())
        db.session.commit()
        ids = db.session.scalars(sa.select(Case.id).where(Case.description.contains("木工")).order_by(Case.id)).all()
        db.session.remove()
    assert len(ids) == 5
    html, t = dashboard(logged_in(make_web, "admin"))
    rows = t.body("warnings")  # five in a week in one county is also a spike against an empty baseline
    mass = [r for r in rows if "某建筑工程有限公司" in r[0]]
    assert len(rows) == 2 and len(mass) == 1 and any("突增" in r[0] for r in rows)
    assert "某建筑工程有限公司" in mass[0][2] and mass[0][4] == "劳动与欠薪纠纷"
    assert mass[0][5] == " ".join(f"#{i}" for i in ids)
    assert [href for _text, href in t.links["warnings"]] == [f"/cases/{i}" for i in ids] * 2
    assert "当前没有预警。" not in html
    assert "某建筑工程有限公司" not in dashboard(logged_in(make_web, "orgadmin2"))[0]


def test_a_csv_cell_never_starts_a_formula(app):
    from app.analytics.dashboard_views import Panel, Table, panel_csv

    with app.test_request_context():
        text = panel_csv(Panel("x", "x", [Table(["名称", "数"], [["=HYPERLINK(\"http://evil\")", 3], ["@SUM(A1)", -1]])]))
    assert list(csv.reader(io.StringIO(text))) == [["名称", "数"], ["'=HYPERLINK(\"http://evil\")", "3"],
                                                   ["'@SUM(A1)", "-1"]]


def test_a_page_checks_the_rollups_once_and_the_next_page_sees_new_cases(app, demo, make_web):
    from app.analytics import panel_cache
    from tests.conftest import sql_statements

    web = logged_in(make_web, "admin")
    dashboard(web)  # the first page refreshes the rollups (the demo was just seeded)
    panel_cache.clear()
    with sql_statements(app) as statements:
        html, t = dashboard(web)
    # the staleness check (the watermark, then the newest case and rating) ran once for the whole page, not per panel
    assert sum("FROM satisfaction_ratings" in s and "MAX(id)" in s for s in statements) == 1, len(statements)
    assert t.body("funnel") == FUNNEL_ALL
    with app.app_context():
        from app.cases.models import CaseStatus, Stage

        case = db.session.scalar(sa.select(Case).where(Case.title == "车位被邻居长期占用"))
        db.session.add(Case(title="又一起车位纠纷", stage=Stage.consult, status=CaseStatus.open, category=case.category,
                            description=case.description, filed_by_id=case.filed_by_id, region_code=case.region_code))
        db.session.commit()
    panel_cache.clear()  # as after the cache's 60 s: the next page is built again, and refreshes the rollups first
    html, t = dashboard(web)
    assert t.body("funnel")[0] == ["咨询", "12", "—", "—"]
