"""The browser walk's journeys (which pages each role visits, on the demo data) and axe-core, injected into the
page from node_modules (installed from the npm registry by `npm ci`)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app.demo import SIGNED_AGREEMENT_CASE

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE_SIZE = {"width": 390, "height": 844}
DESKTOP_SIZE = {"width": 1280, "height": 900}
BLOCKING_IMPACTS = ("serious", "critical")


@dataclass(frozen=True)
class Follow:
    """The first link on the current page whose href matches `pattern` (and whose text is `text`, if given): a case
    id known only at run time."""

    pattern: str
    text: str | None = None


@dataclass(frozen=True)
class Ask:
    """A question typed into /consult and sent (a POST): the question's own page, /consult/<id>."""

    question: str


@dataclass(frozen=True)
class Below:
    """A page of the case on screen: /cases/<id> plus `suffix` (e.g. /arbitration)."""

    suffix: str


# role -> demo user (None: a visitor) and the journey: (screenshot name, path or link to follow).
JOURNEYS: dict[str, tuple[str | None, list[tuple[str, str | Follow | Below | Ask]]]] = {
    "anonymous": (None, [
        ("home", "/"), ("consult", "/consult"), ("consult-answers", Ask("楼上漏水")), ("login", "/login"), ("forgot-password", "/password/forgot"), ("register", "/register"), ("privacy-rules", "/privacy/rules"),
        ("verify", "/verify"),
    ]),
    "resident": ("resident1", [
        ("my-cases", "/my/cases"), ("case", Follow(r"^/cases/\d+$", SIGNED_AGREEMENT_CASE)),
        ("agreement", Below("/agreement")), ("assessment", Below("/assessment")),
        ("intake-1", "/cases/new"), ("consult", Ask("工资拖欠")), ("notifications", "/notifications"),
        ("account", "/account"), ("phone", "/account/phone"), ("devices", "/account/sessions"), ("mfa", "/account/mfa"),
        ("password", "/account/password"), ("privacy", "/account/privacy"),
        ("close-account-blocked", "/account/close"),  # disputes in progress: listed, no form
    ]),
    "new-resident": ("resident3", [  # the demo's one unverified phone: the account page offers 验证手机号
        ("consent", "/privacy/consent?next=/cases/new"), ("phone-unverified", "/account/phone"),
        ("verify-phone", "/account/phone/verify"), ("close-account", "/account/close")]),
    "grid-worker": ("grid1", [("my-cases", "/my/cases"), ("intake-1", "/cases/new"), ("consult", "/consult")]),
    "mediator": ("mediator1", [
        ("inbox", "/mediator/inbox"), ("case", Follow(r"^/cases/\d+$")), ("room", Follow(r"^/cases/\d+/room$")),
        ("record", Below("/record")), ("case-again", Below("")), ("reveal", Follow(r"^/cases/\d+/reveal$")),
    ]),
    "org-admin": ("orgadmin1", [
        ("org-board", "/org/cases"), ("assign", Follow(r"^/org/cases/\d+/assign$")),
        ("governance", "/dashboard/governance"), ("search", "/org/cases/search?q=噪音"),
        ("reveal-log", "/org/audit/reveals"), ("staff", "/org/staff"), ("assisted-reset", "/org/assisted-reset"),
    ]),
    "arbitrator": ("arbitrator1", [
        ("inbox", "/arbitration/inbox"), ("case", Follow(r"^/cases/\d+$")),
        ("arbitration", Below("/arbitration")),
    ]),
    "court-clerk": ("court1", [
        ("inbox", "/court/inbox"), ("filing-package", Follow(r"^/cases/\d+/filing/package$")),
    ]),
    "admin": ("admin", [
        ("overview", "/admin/overview"), ("rules", "/admin/routing/"),
        ("rule-edit", Follow(r"^/admin/routing/[a-z_]+$")), ("rules-try", "/admin/routing/?try=楼上漏水"),
    ]),
}


def resolve(page, target: str | Follow | Below | Ask) -> str:
    """The path to visit: `target` itself, a page of the case on screen, the page a question asked at /consult led
    to, or the first link on `page` that matches."""
    if isinstance(target, str):
        return target
    if isinstance(target, Ask):
        page.goto("/consult")
        page.fill("#q", target.question)
        with page.expect_navigation():
            page.get_by_role("button", name="提问").click()
        path = urlsplit(page.url).path
        assert re.fullmatch(r"/consult/\d+", path), page.url
        return path
    if isinstance(target, Below):
        case = re.match(r"^/cases/\d+", urlsplit(page.url).path)
        assert case, f"{page.url} is not a case's page"
        return case.group(0) + target.suffix
    links = page.eval_on_selector_all("a[href]", "links => links.map(a => [a.getAttribute('href'), a.innerText])")
    for href, text in links:
        if re.match(target.pattern, href.split("?")[0]) and target.text in (None, text.strip()):
            return href
    raise AssertionError(f"{page.url}: no link matches {target.pattern}")


def add_axe(context) -> None:
    """Load axe-core into every document of the context, before the page's own scripts. An init script is not
    subject to the page's CSP (page.add_script_tag would add an inline script, which `script-src 'self'` blocks),
    and costs half of an evaluate() of the 650 kB source after each navigation."""
    context.add_init_script(path=AXE_JS)


def axe_violations(page) -> list[str]:
    """Serious and critical axe-core violations of the page as it stands, one line per rule and element."""
    results = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    lines = []
    for rule in results:
        if rule["impact"] not in BLOCKING_IMPACTS:
            continue
        for node in rule["nodes"][:5]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")[:200]
            lines.append(f"{rule['id']} ({rule['impact']}): {node['target']} {node['html'][:160]} -- {summary}")
    return lines
