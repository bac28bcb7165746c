"""Injection: script and template payloads typed into every text field of a dispute (title, description, desired
outcome, party names and addresses, the evidence's name and note, a mediator's reason and record, the complaint's
claims and facts) come
back as text: escaped in every page's HTML, never evaluated by Jinja ({{7*7}} stays, no 49), never a live tag
or javascript: link, and literally in the PDFs' text. The browser side (no dialog opens) is in
tests/e2e/test_walk.py."""
from __future__ import annotations

import io
import re
import subprocess
from html.parser import HTMLParser

import sqlalchemy as sa
from markupsafe import escape

PAYLOADS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(2)>', "{{7*7}}", "{% print 1 %}",
            "javascript:alert(3)")
ALL = " ".join(PAYLOADS)  # 97 characters: fits every field (names are limited to 120)
TITLE = f"楼上漏水 {ALL}"
DESCRIPTION = f"楼上卫生间漏水把我家天花板泡坏了，多次沟通无果。{ALL}"
OUTCOME = f"赔偿维修费用。{ALL}"
RESPONDENT = f"赵某 {ALL}"
ADDRESS = f"团结社区3栋502室 {ALL}"
EVIDENCE_NOTE = f"漏水照片 {ALL}"
EVIDENCE_NAME = "{{7*7}} <img src=x onerror=alert(2)>.png"  # no "/" in a file name, no '"' (the test client)
FAILURE_REASON = f"对方拒绝赔偿。{ALL}"
STATEMENT = f"申请人称楼上漏水。{ALL}"
CLAIMS = f"判令被告赔偿维修费用。{ALL}"
FACTS = f"被告家漏水。{ALL}"
REGION = "340202001001"  # the demo's village A1: routed to its people's mediation committee
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
# What would show that a payload escaped its text: a live tag, an event handler, a javascript: URL, Jinja output.
LIVE = re.compile(r"<script>alert|<img\b[^>]*onerror|(?:href|src|action)\s*=\s*[\"']?\s*javascript:", re.I)
EVALUATED = re.compile(r"alert\(2\)(?:&gt;|>)\s*49|\}\}\s*1\s*javascript:")  # {{7*7}} or {% print 1 %} ran


class _Forms(HTMLParser):
    """The forms of a page, each as (action, {name: value}) the way a browser would post it untouched."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        fields = self.forms[-1][1] if self.forms else {}
        if tag == "form":
            self.forms.append((a.get("action") or "", {}))
        elif tag == "input" and a.get("name") and a.get("type") not in ("submit", "file"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                fields.setdefault(a["name"], a.get("value") or "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            fields[a["name"]] = ""
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and ("selected" in a or self._select not in fields):
            fields[self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1][1][self._textarea] += data


def submit(web, url: str, action: str, changes: dict, **kw):
    """GET url, take the form posting to `action` as the page holds it, apply `changes`, post it."""
    parser = _Forms()
    parser.feed(web.get(url).get_data(as_text=True))
    forms = [f for a, f in parser.forms if (a or url).split("?")[0] == action]
    assert forms, f"{url} has no form posting to {action}: {[a for a, _ in parser.forms]}"
    return web.client.post(action, data={**forms[0], **changes}, **kw)


def assert_shown_as_text(html: str, where: str, *texts: str) -> None:
    """Each text appears escaped in the HTML, and nothing of the payloads is live."""
    for text in texts:
        assert str(escape(text)) in html, f"{where}: {text!r} not shown as text"
    live = LIVE.findall(html) + EVALUATED.findall(html)
    assert not live, f"{where}: live payload {live}"


def pdf_text(web, url: str, tmp_path) -> str:
    """pdftotext's text of the PDF at url, with all white space removed (lines wrap anywhere)."""
    resp = web.client.get(url)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf", f"{url}: {resp.status_code} {resp.mimetype}"
    path = tmp_path / "document.pdf"
    path.write_bytes(resp.data)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True)
    return "".join(out.stdout.split())


def squeeze(text: str) -> str:
    return "".join(text.split())


def file_dispute(web) -> int:
    """File the payload dispute as resident1 through the intake wizard's real forms; return its id."""
    web.login("resident1")
    resp = submit(web, "/cases/new", "/cases/new", {"title": TITLE, "description": DESCRIPTION,
                                                   "desired_outcome": OUTCOME, "nav": "next"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    case_id = int(re.search(r"/cases/(\d+)/intake/2", resp.location).group(1))
    steps = {
        2: {"category": "neighbour", "amount": "2800", "nav": "next"},
        3: {"region_code": REGION, "respondent1-name": RESPONDENT, "respondent1-region_code": REGION,
            "respondent1-address": ADDRESS, "respondent2-name": RESPONDENT, "nav": "next"},
        4: {"file": (io.BytesIO(PNG), EVIDENCE_NAME), "description": EVIDENCE_NOTE},
        5: {"truthful": "y", "nav": "submit"},
    }
    for step, changes in steps.items():
        url = f"/cases/{case_id}/intake/{step}"
        resp = submit(web, url, url, changes, content_type="multipart/form-data" if step == 4 else None)
        assert resp.status_code == 302, (step, resp.get_data(as_text=True)[:3000])
    assert resp.location.endswith(f"/cases/{case_id}"), resp.location
    return case_id


def _users_of_case(app, case_id: int) -> tuple[str, str]:
    from app.accounts.models import Role, User
    from app.cases.models import Case
    from app.extensions import db

    with app.app_context():
        case = db.session.get(Case, case_id)
        admin = db.session.scalar(sa.select(User.username).where(
            User.role == Role.org_admin, User.organisation_id == case.organisation_id).order_by(User.id).limit(1))
        mediator = case.mediator.username
        db.session.remove()
    return mediator, admin


def check(web, where: str, *texts: str) -> str:
    resp = web.get(where)
    assert resp.status_code == 200, f"{where}: {resp.status_code}"
    html = resp.get_data(as_text=True)
    assert_shown_as_text(html, where, *texts)
    return html


def test_payloads_in_every_text_field_are_shown_as_text(app, demo, make_web, tmp_path):
    resident = make_web()
    case_id = file_dispute(resident)
    case = f"/cases/{case_id}"
    check(resident, case, TITLE, DESCRIPTION, OUTCOME, RESPONDENT, EVIDENCE_NAME)
    check(resident, "/my/cases", TITLE)
    check(resident, f"{case}/assessment", TITLE)
    check(resident, f"{case}/edit", TITLE, DESCRIPTION, OUTCOME, RESPONDENT, ADDRESS)
    assessment = pdf_text(resident, f"{case}/assessment.pdf", tmp_path)
    assert squeeze(TITLE) in assessment, "assessment.pdf lacks the title"

    resp = submit(resident, case, f"{case}/steps/request_mediation", {})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    mediator_name, admin_name = _users_of_case(app, case_id)
    org_admin = make_web()
    org_admin.login(admin_name)
    check(org_admin, "/org/cases", TITLE)
    check(org_admin, "/org/cases/search?q=漏水", TITLE)
    check(org_admin, case, TITLE, DESCRIPTION, OUTCOME, RESPONDENT)
    admin = make_web()
    admin.login("admin")
    check(admin, "/admin/overview")
    check(admin, "/dashboard/governance")

    mediator = make_web()
    mediator.login(mediator_name)
    check(mediator, "/mediator/inbox", TITLE)
    # The mediation record: a statement, frozen, in its PDF.
    page = mediator.get(f"{case}/record").get_data(as_text=True)
    speaker = re.search(r'<select id="speaker"[^>]*>.*?<option value="([^"]+)"', page, re.S).group(1)
    resp = submit(mediator, f"{case}/record", f"{case}/record/statements", {"text": STATEMENT, "speaker": speaker})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    check(mediator, f"{case}/record", TITLE, STATEMENT)
    assert submit(mediator, f"{case}/record", f"{case}/record/freeze", {}).status_code == 302
    assert squeeze(STATEMENT) in pdf_text(mediator, f"{case}/record.pdf", tmp_path), "record.pdf lacks the statement"
    resp = submit(mediator, case, f"{case}/steps/record_failure", {"reason": FAILURE_REASON})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    check(mediator, case, TITLE, FAILURE_REASON)
    check(resident, case, FAILURE_REASON)
    check(resident, "/notifications")

    # The court complaint: the claims and facts typed on the filing page, the parties' names and addresses.
    check(resident, f"{case}/filing", TITLE)
    resp = submit(resident, f"{case}/filing", f"{case}/filing", {"claims": CLAIMS, "facts": FACTS})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    complaint = pdf_text(resident, f"{case}/filing/complaint.pdf", tmp_path)
    for text in (CLAIMS, FACTS, RESPONDENT, ADDRESS, EVIDENCE_NOTE):
        assert squeeze(text) in complaint, f"complaint.pdf lacks {text!r}"
    clerk = make_web()
    clerk.login("court1")
    check(clerk, "/court/inbox", TITLE)
    check(clerk, f"{case}/filing/package", TITLE, CLAIMS, FACTS)
