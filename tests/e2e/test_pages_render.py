"""Each role's main pages render on a phone: HTTP 200, the expected Chinese heading, no console errors,
uncaught exceptions, CSP violations or failed sub-resources, no sideways scrolling.
Screenshots: test-artifacts/page-*.png."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

# (screenshot name, demo user or None for a visitor, path, heading, link to follow from that path)
PAGES = [
    ("home", None, "/", "有纠纷，先来问一问", None),
    ("consult", None, "/consult", "在线咨询", None),
    ("org-board", "orgadmin1", "/org/cases", "团结社区人民调解委员会", None),
    ("org-assign", "orgadmin1", "/org/cases", re.compile(r"^为案件 #\d+ 分派调解员$"), "分派"),
    ("mediator-inbox", "mediator1", "/mediator/inbox", "我的调解案件", None),
    ("court-inbox", "court1", "/court/inbox", "芜湖市镜湖区人民法院 · 诉前移送案件", None),
    ("admin-overview", "admin", "/admin/overview", "系统概览", None),
]


@pytest.mark.parametrize(("name", "user", "path", "heading", "follow"), PAGES, ids=[p[0] for p in PAGES])
def test_page_renders(page, login, demo, artifacts, browser_problems, name, user, path, heading, follow):
    if user:
        login(user)
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response and response.status}"
    if follow:
        # e.g. the org board's first "分派" (assign) button: a case awaiting assignment.
        with page.expect_navigation() as nav:
            page.get_by_role("link", name=follow, exact=True).first.click()
        assert nav.value is not None and nav.value.status == 200, page.url
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"{page.url} scrolls sideways on a phone: {width}"
    page.screenshot(path=artifacts / f"page-{name}.png", full_page=True)
    assert browser_problems.all() == [], f"{page.url}: {browser_problems.all()}"
