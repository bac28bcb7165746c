"""The browser walk: every role's main journey on the demo data, at phone width (390x844) and on a desktop
(1280x900), with a screenshot of every page (test-artifacts/walk/, git-ignored) and axe-core finding no serious
or critical accessibility violation; no console errors, CSP violations or failed sub-resources on the way.
And the browser half of the injection check (tests/security/test_injection.py): payloads typed into the real forms
are shown as text on every page that holds them, and no dialog opens."""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from tests.e2e.conftest import ARTIFACTS, log_in, new_phone_page
from tests.e2e.walk_pages import DESKTOP_SIZE, JOURNEYS, PHONE_SIZE, add_axe, axe_violations, resolve
from tests.security import test_injection as inj


def _visit(page, problems, shots, role: str, name: str, path: str) -> list[str]:
    """One page at both sizes: screenshots, axe, no sideways scrolling on the phone; what went wrong, one per line."""
    page.set_viewport_size(PHONE_SIZE)
    response = page.goto(path)
    found = [] if response is not None and response.status == 200 else [f"HTTP {response and response.status}"]
    page.wait_for_load_state("load")
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    if widths[0] > widths[1]:
        found.append(f"scrolls sideways on a phone: {widths}")
    for size_name, size in (("phone", PHONE_SIZE), ("desktop", DESKTOP_SIZE)):
        page.set_viewport_size(size)
        page.screenshot(path=shots / f"{role}-{name}-{size_name}.png", full_page=True, scale="css")
        found += [f"{size_name} axe: {v}" for v in axe_violations(page)]
    found += problems.all()
    for log in (problems.console_errors, problems.page_errors, problems.csp_violations, problems.http_errors):
        log.clear()
    return [f"{role}/{name} {path}: {line}" for line in found]


def test_every_role_walks_without_serious_accessibility_problems(browser, live_server, demo):
    shots = ARTIFACTS / "walk"
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):
        old.unlink()
    failures, timings = [], {}
    for role, (username, journey) in JOURNEYS.items():
        started = time.perf_counter()
        context, page, problems = new_phone_page(browser, live_server)
        add_axe(context)
        try:
            if username:
                log_in(page, username)
            for name, target in journey:
                page_started = time.perf_counter()
                failures += _visit(page, problems, shots, role, name, resolve(page, target))
                timings[f"{role}/{name}"] = round(time.perf_counter() - page_started, 1)
        finally:
            context.close()
        timings[role] = round(time.perf_counter() - started, 1)
    print("walk seconds:", timings)
    assert failures == [], "\n".join(failures)


# --- injection: payloads typed into the real forms stay text, and nothing runs -------------------------------------

def _shows(page, *texts: str) -> None:
    """The page's visible text holds each text literally (white space squeezed)."""
    body = " ".join(page.inner_text("body").split())
    for text in texts:
        assert " ".join(text.split()) in body, f"{page.url}: {text!r} not shown"


def _open(page, path: str, *texts: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response and response.status}"
    _shows(page, *texts)


def _submit(page, button) -> None:
    with page.expect_navigation():
        button.click()
    assert "/login" not in page.url


def _browser_user(browser, live_server, username: str, dialogs: list[str]):
    """A logged-in phone page whose dialogs (alert, confirm...) are recorded and dismissed."""
    context, page, problems = new_phone_page(browser, live_server)
    page.on("dialog", lambda dialog: (dialogs.append(f"{username}: {dialog.type} {dialog.message}"), dialog.dismiss()))
    log_in(page, username)
    return context, page, problems


def _file_payload_dispute(page) -> str:
    """Resident: the intake wizard with a payload in every text field; returns the case page's path."""
    page.goto("/cases/new")
    page.fill("#title", inj.TITLE)
    page.fill("#description", inj.DESCRIPTION)
    page.fill("#desired_outcome", inj.OUTCOME)
    _submit(page, page.get_by_role("button", name="保存，下一步", exact=True))
    page.select_option("#category", "neighbour")
    _submit(page, page.get_by_role("button", name="保存，下一步", exact=True))
    for field_id, value in {"region_code": inj.REGION, "respondent1-name": inj.RESPONDENT, "respondent1-address": inj.ADDRESS,
                            "respondent1-region_code": inj.REGION, "respondent2-name": inj.RESPONDENT}.items():
        page.fill(f"#{field_id}", value)
    _submit(page, page.get_by_role("button", name="保存，下一步", exact=True))
    page.set_input_files("#file", {"name": inj.EVIDENCE_NAME, "mimeType": "image/png", "buffer": inj.PNG})
    page.fill("#description", inj.EVIDENCE_NOTE)
    _submit(page, page.get_by_role("button", name="上传并继续 / 下一步"))
    _shows(page, inj.EVIDENCE_NAME)
    _submit(page, page.get_by_role("button", name="上传并继续 / 下一步"))
    _shows(page, inj.TITLE, inj.RESPONDENT, inj.DESCRIPTION)
    page.check("#truthful")
    _submit(page, page.get_by_role("button", name="提交，查看评估"))
    assert re.search(r"/cases/\d+$", page.url), page.url
    return urlsplit(page.url).path


def test_payloads_typed_into_the_forms_stay_text_and_open_no_dialog(browser, live_server, app, demo):
    dialogs: list[str] = []
    problems_seen: list[str] = []
    contexts = []

    def as_user(username: str):
        context, page, problems = _browser_user(browser, live_server, username, dialogs)
        contexts.append((context, problems))
        return page

    try:
        resident = as_user("resident1")
        case = _file_payload_dispute(resident)
        _shows(resident, inj.TITLE, inj.DESCRIPTION, inj.OUTCOME, inj.RESPONDENT, inj.EVIDENCE_NAME)
        _open(resident, "/my/cases", inj.TITLE)
        _open(resident, f"{case}/assessment", inj.TITLE)
        _open(resident, f"{case}/edit")
        _open(resident, case)
        _submit(resident, resident.locator("form.step-request_mediation button"))
        mediator_name, admin_name = inj._users_of_case(app, int(case.rsplit("/", 1)[1]))

        org_admin = as_user(admin_name)
        _open(org_admin, "/org/cases", inj.TITLE)
        _open(org_admin, "/org/cases/search?q=漏水", inj.TITLE)
        _open(org_admin, case, inj.TITLE, inj.DESCRIPTION, inj.RESPONDENT)
        admin = as_user("admin")
        _open(admin, "/admin/overview")
        _open(admin, "/dashboard/governance")

        mediator = as_user(mediator_name)
        _open(mediator, "/mediator/inbox", inj.TITLE)
        _open(mediator, case)
        mediator.locator("form.step-record_failure textarea").fill(inj.FAILURE_REASON)
        _submit(mediator, mediator.locator("form.step-record_failure button"))
        _shows(mediator, inj.FAILURE_REASON)

        _open(resident, f"{case}/filing")
        resident.fill("#claims", inj.CLAIMS)
        resident.fill("#facts", inj.FACTS)
        _submit(resident, resident.get_by_role("button", name="提交起诉材料"))
        _shows(resident, inj.TITLE, inj.FAILURE_REASON)
        _open(resident, "/notifications")
        clerk = as_user("court1")
        _open(clerk, "/court/inbox", inj.TITLE)
        _open(clerk, f"{case}/filing/package", inj.TITLE, inj.CLAIMS, inj.FACTS)
    finally:
        for context, problems in contexts:
            problems_seen += problems.all()
            context.close()
    assert dialogs == [], dialogs
    assert problems_seen == [], problems_seen  # an injected handler or script would be a CSP violation here


# --- consent: a resident who has not agreed yet is asked before filing, ticks each purpose, and goes on -----------

def test_a_new_resident_ticks_the_consent_page_before_filing(page, login, live_server, demo, browser_problems):
    login("resident3")
    page.goto("/consult")
    page.fill("#q", "楼上漏水")
    _submit(page, page.get_by_role("button", name="提问"))
    assert re.search(r"/consult/\d+$", page.url) and "q=" not in page.url
    _submit(page, page.get_by_role("link", name="我还需要帮助：提交纠纷"))
    assert "/privacy/consent" in page.url
    assert "个人信息处理规则（第 1 版）" in page.inner_text("h1")
    boxes = page.locator("input[name=purpose]")
    assert boxes.count() == 3
    boxes.nth(0).check()
    _submit(page, page.get_by_role("button", name="同意并继续"))
    assert "/privacy/consent" in page.url and "提交纠纷需要此项同意" in page.inner_text("body")  # one is not enough
    for i in range(boxes.count()):
        boxes.nth(i).check()
    _submit(page, page.get_by_role("button", name="同意并继续"))
    assert "/cases/new" in page.url and page.input_value("#description") == "楼上漏水"
    assert browser_problems.all() == []
