"""Security headers on every response: each role walks its pages by following their links (as a person clicking
would), and every answer, page or download, carries the CSP, nosniff, a Referrer-Policy and Cache-Control: no-store;
no page holds inline script, event-handler attributes or style attributes the CSP would block."""
from __future__ import annotations

import io
import re
from collections import deque
from html import unescape
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

ROLES = ("anonymous", "resident1", "resident2", "grid1", "mediator1", "orgadmin1", "arbitrator1", "court1", "admin")
PUBLIC = ("/", "/login", "/register", "/consult", "/consult?q=房东不退押金怎么办", "/healthz", "/no-such-page")
HREF_RE = re.compile(r'(?:href|src|action)="(/[^"#]*)')
MAX_PAGES = 30  # per role: one URL per shape (/cases/1 and /cases/2 are one shape)
REQUIRED_CSP = ("default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'",
                "frame-ancestors 'none'")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTR = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)


def check_headers(resp, where: str) -> None:
    """The headers every response must carry (static files: all but no-store)."""
    h = resp.headers
    csp = h.get("Content-Security-Policy", "")
    assert all(d in csp for d in REQUIRED_CSP), f"{where}: CSP {csp!r}"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert h.get("X-Content-Type-Options") == "nosniff", where
    assert h.get("Referrer-Policy") == "same-origin", where
    assert h.get("X-Frame-Options") == "DENY", where
    assert "Strict-Transport-Security" not in h, f"{where}: HSTS only in production (over HTTPS)"
    if not urlsplit(where.split()[-1]).path.startswith("/static/"):
        assert h.get("Cache-Control") == "no-store", f"{where}: Cache-Control {h.get('Cache-Control')!r}"


def check_html(resp, where: str) -> None:
    """Nothing in the page that the CSP would block (and so nothing an attacker's markup could hide in)."""
    if resp.mimetype != "text/html":
        return
    html = resp.get_data(as_text=True)
    for name, pattern in (("inline script", INLINE_SCRIPT), ("on*= handler", EVENT_HANDLER), ("style=", STYLE_ATTR)):
        found = pattern.search(html)
        assert found is None, f"{where}: {name}: {html[max(0, found.start() - 80):found.end() + 80]!r}"
    assert "javascript:" not in html.lower(), where


def shape(url: str) -> str:
    """/cases/1 and /cases/2 are one shape; so are the governance panels' CSV exports (one is enough)."""
    return re.sub(r"/\w+\.csv$", "/X.csv", re.sub(r"\d+", "N", url.split("?")[0]))


def crawl(client, starts) -> list[str]:
    """Visit the site from starts by following same-site links; check every response. Returns the URLs seen."""
    queue, seen_shapes, visited = deque(starts), set(), []
    while queue and len(visited) < MAX_PAGES:
        url = queue.popleft()
        path = urlsplit(url).path
        if shape(url) in seen_shapes or path.startswith(("/logout", "/lang/", "/socket.io")):
            continue
        seen_shapes.add(shape(url))
        resp = client.get(url)
        body = resp.get_data()
        resp.close()  # a served file stays open until the WSGI server closes the response
        where = f"GET {url}"
        assert resp.status_code < 500, where
        check_headers(resp, where)
        check_html(resp, where)
        visited.append(url)
        if resp.status_code in (301, 302, 303) and resp.headers["Location"].startswith("/"):
            queue.appendleft(resp.headers["Location"])
        if resp.mimetype == "text/html":
            queue.extend(unescape(u) for u in HREF_RE.findall(body.decode("utf-8")))
    return visited


@pytest.fixture()
def evidence(app, demo, make_web):
    """resident1 uploads a photo to the demo case against a company (resident2 is no party to it)."""
    from PIL import Image

    from app.cases.models import Case, EvidenceFile
    from app.extensions import db

    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.title == "物业费与停车位纠纷"))
        db.session.remove()
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buf, "PNG")
    web = make_web()
    web.login("resident1")
    resp = web.post(f"/cases/{case_id}/evidence", {"file": (io.BytesIO(buf.getvalue()), "收据.png")},
                    page=f"/cases/{case_id}")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with app.app_context():
        row = db.session.scalars(sa.select(EvidenceFile).where(EvidenceFile.case_id == case_id)).one()
        found = {"case_id": case_id, "id": row.id, "key": row.storage_key, "sha256": row.sha256}
        db.session.remove()
    return found


def test_every_page_each_role_reaches_carries_the_security_headers(app, demo, evidence, make_web):
    """One test for all roles (the walk is cheap; a database reset per role is not)."""
    case_url = f"/cases/{evidence['case_id']}"
    for role in ROLES:
        web = make_web()
        if role != "anonymous":
            web.login(role)
        visited = crawl(web.client, ["/dashboard", *PUBLIC, case_url, f"{case_url}/evidence/{evidence['id']}"])
        assert len(visited) >= (len(PUBLIC) + 1 if role == "anonymous" else 12), (role, visited)
        static = web.client.get("/static/css/app.css")
        check_headers(static, "GET /static/css/app.css")
        static.close()


def test_evidence_is_an_attachment_for_a_party_and_does_not_exist_for_anyone_else(app, demo, evidence, make_web):
    url = f"/cases/{evidence['case_id']}/evidence/{evidence['id']}"
    party, stranger = make_web(), make_web()
    party.login("resident1")
    stranger.login("resident2")
    resp = party.client.get(url)
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["X-Content-Type-Options"] == "nosniff"
    resp.close()
    resp = stranger.client.get(url)
    assert resp.status_code == 404 and "收据.png" not in resp.get_data(as_text=True)
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and urlsplit(anonymous.headers["Location"]).path == "/login"
    for where in (f"/static/{evidence['key']}", f"/static/../instance/files/{evidence['key']}", f"/files/{evidence['key']}",
                  f"/instance/files/{evidence['key']}", f"/{evidence['key']}", f"/static/{evidence['sha256']}",
                  f"/files/{evidence['sha256']}"):
        for client in (party.client, app.test_client()):
            resp = client.get(where)
            assert resp.status_code == 404, where
            resp.close()
