"""Browser tests: the test `app` served on a real socket (werkzeug, background thread) and driven by
Debian's Chromium through Playwright's sync API. Never run `playwright install`: the browser is
/usr/bin/chromium. Both backends run these tests (they use `app`); screenshots go to test-artifacts/."""
from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DEMO_PASSWORD = "jiefen-demo"

# Reports every Content-Security-Policy violation of every document to the test (init scripts are not
# subject to the page's CSP).
_CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  const where = `${e.sourceFile || document.URL}:${e.lineNumber}`;
  window.__jiefenCsp(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${where}`);
});
"""


@pytest.fixture(scope="session")
def playwright_driver():
    """The one Playwright driver of the run (the sync API allows only one per process)."""
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="session")
def browser(playwright_driver):
    """One headless Chromium for the whole run."""
    chromium = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


# Chromium asks every site for /favicon.ico; the app has none yet (a 404). Remove once it serves one.
IGNORED_HTTP_ERRORS: tuple[str, ...] = ()


class BrowserProblems:
    """What went wrong inside the page: console errors, uncaught exceptions, CSP violations, and
    sub-resources (CSS, images...) answered with an HTTP error. Documents the test navigates to are not
    counted: the tests check their status themselves (a 422 form page is expected)."""

    def __init__(self):
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.csp_violations: list[str] = []
        self.http_errors: list[str] = []

    def on_console(self, msg) -> None:
        # "Failed to load resource: ... status of 4xx" duplicates on_response, which knows what it was.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            self.console_errors.append(f"{msg.text} ({msg.location.get('url', '')})")

    def on_response(self, response) -> None:
        if (response.status >= 400 and response.request.resource_type != "document"
                and not response.url.split("?")[0].endswith(IGNORED_HTTP_ERRORS)):
            self.http_errors.append(f"{response.status} {response.request.method} {response.url}")

    def all(self) -> list[str]:
        return ([f"console: {m}" for m in self.console_errors] + [f"pageerror: {m}" for m in self.page_errors]
                + [f"csp: {m}" for m in self.csp_violations] + [f"http: {m}" for m in self.http_errors])


def log_in(page, username: str, password: str = DEMO_PASSWORD):
    """Log `page` in through the real form; the page it lands on."""
    response = page.goto("/login")
    assert response is not None and response.status == 200
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()
    assert "/login" not in page.url, f"login as {username} failed: {page.url}"
    return page


def new_phone_page(browser, live_server):
    """A phone-sized page in a browser context of its own, with its own problem log: (context, page, problems).
    The caller closes the context."""
    context = browser.new_context(base_url=live_server, **PHONE)
    context.set_default_timeout(15_000)
    problems = BrowserProblems()
    # A real function, not the bound list.append: Playwright sets an attribute on the callback, which a built-in
    # method cannot take.
    context.expose_function("__jiefenCsp", lambda message: problems.csp_violations.append(message))  # noqa: PLW0108
    context.add_init_script(_CSP_LISTENER)
    page = context.new_page()
    page.on("console", problems.on_console)
    page.on("response", problems.on_response)
    page.on("pageerror", lambda exc: problems.page_errors.append(str(exc)))
    return context, page, problems


@pytest.fixture()
def _page_with_problems(browser, live_server):
    context, page, problems = new_phone_page(browser, live_server)
    try:
        yield page, problems
    finally:
        context.close()


@pytest.fixture()
def page(_page_with_problems):
    """A fresh phone-sized page (390x844, zh-CN) in its own browser context; relative URLs work."""
    return _page_with_problems[0]


@pytest.fixture()
def browser_problems(_page_with_problems) -> BrowserProblems:
    """Console errors, page errors, CSP violations and failed sub-resources seen by `page` so far."""
    return _page_with_problems[1]


@pytest.fixture()
def artifacts() -> Path:
    """test-artifacts/ (git-ignored), for screenshots."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture()
def login(page):
    """login(username): log `page` in through the real form; returns the page it lands on."""
    return lambda username, password=DEMO_PASSWORD: log_in(page, username, password)
