"""The governance dashboard in Chromium: the admin opens it from the navigation on a phone and on a desktop, the
ECharts charts draw (a canvas in each), the tables of the same numbers are there, nothing breaks the CSP.
Screenshots: test-artifacts/dashboard-phone.png, dashboard-desktop.png."""
from __future__ import annotations

from playwright.sync_api import expect

CHARTS = 10  # every panel but the early warnings (a list) has a chart


def test_admin_dashboard_draws_its_charts_and_tables(page, login, demo, artifacts, browser_problems):
    login("admin")
    with page.expect_navigation():
        page.get_by_role("link", name="治理看板", exact=True).click()
    assert page.url.endswith("/dashboard/governance")
    expect(page.get_by_role("heading", level=1)).to_have_text("治理看板")
    expect(page.locator(".chart canvas")).to_have_count(CHARTS)

    funnel = page.locator("#panel-funnel table")
    expect(funnel.get_by_role("row")).to_have_count(7)  # a header and six steps
    expect(funnel.get_by_role("row").nth(1)).to_have_text("咨询11——")
    expect(page.locator("#panel-mediators table").get_by_role("row").nth(1)).to_contain_text("张桂兰")
    expect(page.get_by_role("img", name="化解漏斗转化（图表，数据见下表）")).to_be_visible()

    width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"the dashboard scrolls sideways on a phone: {width}"
    page.screenshot(path=artifacts / "dashboard-phone.png", full_page=True)

    page.set_viewport_size({"width": 1366, "height": 900})
    page.reload()
    expect(page.locator(".chart canvas")).to_have_count(CHARTS)
    box = page.locator("#panel-funnel").bounding_box()
    assert box is not None and box["width"] < 700, "two columns of panels on a desktop"
    page.screenshot(path=artifacts / "dashboard-desktop.png", full_page=True)

    # the CSV link of a panel downloads a file
    with page.expect_download() as download:
        page.locator("#panel-funnel .csv-link").click()
    assert download.value.suggested_filename.startswith("governance-funnel-")
    assert browser_problems.all() == [], browser_problems.all()
