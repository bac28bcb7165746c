"""The court API's JSON case package returns every party's full phone and ID number: each read is a reveal by the
court's bearer token (one row per number returned, reason 'api_package'), in the chain; another court's token and
the case list record nothing. The resident's copy of their data names the court and the token; the reveal log's
intro names the courts' systems; the API's agreement and application PDFs carry X-Content-SHA256."""
from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from app.agreements.models import Agreement
from app.cases.models import Case, CaseParty
from app.extensions import db
from tests.agreements.test_confirmation import submitted
from tests.agreements.test_pdf import make_pdf
from tests.api.test_api import DEMO_COURT, Api, _filed_with_court, check, issue, second_court
from tests.privacy.test_reveal import party_numbers, reveals
from tests.privacy.test_reveal_chain import chain_verifies

IP = "203.0.113.7"
PACKAGE_LABEL = "读取载有完整号码的案件材料"
PACKAGE_LABEL_EN = "Read the case package, which carries the full numbers"


def _read(court: Api, case_id: int, ip: str = IP):
    """The package as a court's system at `ip` reads it (checked against the OpenAPI document)."""
    path = f"/api/v1/cases/{case_id}"
    return check(court.client.get(path, headers=court._headers(), environ_base={"REMOTE_ADDR": ip}), path)


def _returned(package: dict) -> list[str]:
    """Every full number the package's parties carry."""
    return [p[field] for p in package["parties"] for field in ("phone", "id_number") if p[field]]


def _package_rows(app, case_id: int | None = None) -> list:
    return [r for r in reveals(app) if r.reason_code == "api_package" and case_id in (None, r.case_id)]


@pytest.fixture()
def court_cases(app, demo, make_web) -> dict:
    """A case filed with the demo court (resident1 v. a company) and a judicial confirmation before it (resident1
    v. resident2, mediated by a committee), with the demo court's token."""
    token_id, plain = issue(app)
    confirmation_case = submitted(app, make_web)[0]
    resident = make_web()
    resident.login("resident1")
    return {"token_id": token_id, "api": Api(app, plain), "filed": _filed_with_court(app, resident),
            "confirmation": confirmation_case}


def test_each_package_read_writes_one_row_per_number_returned_and_the_chain_verifies(app, court_cases):
    for key in ("filed", "confirmation"):
        case_id = court_cases[key]
        with app.app_context():
            org_id = db.session.get(Case, case_id).organisation_id
            db.session.remove()
        resp = _read(court_cases["api"], case_id)
        assert resp.status_code == 200
        returned = _returned(resp.get_json())
        rows = _package_rows(app, case_id)
        assert len(returned) >= 2 and len(rows) == len(returned), key  # one row per full number returned
        assert {(r.party_id, r.field) for r in rows} == party_numbers(app, case_id)
        assert {(r.user_id, r.api_token_id, r.role, r.organisation_id, r.reason_text, r.ip) for r in rows} == {
            (None, court_cases["token_id"], "api", org_id, f"案件材料包 GET /api/v1/cases/{case_id}", IP)}
        if key == "confirmation":
            assert org_id is not None  # the mediation committee's admin sees these rows
        assert len(_package_rows(app, case_id)) == len(returned)
        _read(court_cases["api"], case_id, "198.51.100.9")  # every read is recorded, not only the first
        assert len(_package_rows(app, case_id)) == 2 * len(returned)
    total = len(reveals(app))
    chain_verifies(app, total)


def test_another_court_the_list_and_a_missing_token_write_nothing(app, court_cases):
    before = len(reveals(app))
    other = Api(app, issue(app, second_court(app))[1])
    for key in ("filed", "confirmation"):
        resp = _read(other, court_cases[key])
        assert resp.status_code == 404 and resp.get_json()["error"]["message"] == "No such case before this court."
        assert Api(app, None).get(f"/api/v1/cases/{court_cases[key]}").status_code == 401
    # The list carries no phone or ID number, so reading it is not a reveal.
    listing = court_cases["api"].get("/api/v1/cases?per_page=100")
    assert listing.status_code == 200 and {court_cases["filed"], court_cases["confirmation"]} <= {
        item["id"] for item in listing.get_json()["items"]}
    with app.app_context():
        numbers = [n for p in db.session.scalars(sa.select(CaseParty)) for n in (p.phone, p.id_number) if n]
        db.session.remove()
    body = listing.get_data(as_text=True)
    assert numbers and not any(n in body for n in numbers)
    assert len(reveals(app)) == before


def test_the_residents_copy_names_the_court_and_the_token(app, court_cases, make_web):
    _read(court_cases["api"], court_cases["filed"])
    resident = make_web()
    resident.login("resident1")
    data = resident.get("/account/privacy/export").get_json()
    mine = [r for r in data["number_reveals"] if r["role"] == "api"]
    assert mine and {r["case_id"] for r in mine} == {court_cases["filed"]}
    assert {(r["court"], r["api_token"], r["reason_code"]) for r in mine} == {(DEMO_COURT, "立案系统", "api_package")}
    assert {r["seen_by"] for r in mine} == {f"{DEMO_COURT}的系统“立案系统”（通过法院接口）"}
    assert {r["reason"] for r in mine} == {PACKAGE_LABEL}
    english = resident.get("/account/privacy/export?lang=en").get_json()
    assert {r["seen_by"] for r in english["number_reveals"] if r["role"] == "api"} == {
        f"The system “立案系统” of {DEMO_COURT} (through the court API)"}
    assert {r["reason"] for r in english["number_reveals"] if r["role"] == "api"} == {PACKAGE_LABEL_EN}
    page = resident.get("/account/privacy?lang=en").get_data(as_text=True)
    assert "which court's system (through the court API), were shown your full numbers" in page
    assert "哪个法院的系统（通过法院接口）" in resident.get("/account/privacy?lang=zh").get_data(as_text=True)


def test_the_copy_names_a_staff_members_role_in_words(app, demo, make_web):
    from tests.privacy.test_reveal import _reveal, demo_case

    mediator = make_web()
    mediator.login("mediator1")
    _reveal(mediator, demo_case(app))
    resident = make_web()
    resident.login("resident1")
    [row] = resident.get("/account/privacy/export").get_json()["number_reveals"]
    assert (row["seen_by"], row["court"], row["api_token"]) == ("工作人员（调解员）", None, None)
    assert row["reason"] == "核实当事人身份"
    [row] = resident.get("/account/privacy/export?lang=en").get_json()["number_reveals"]
    assert row["seen_by"] == "A staff member (Mediator)"


def test_the_reveal_log_says_it_lists_the_courts_systems_and_names_the_package(app, court_cases, make_web):
    _read(court_cases["api"], court_cases["filed"])
    admin = make_web()
    admin.login("admin")
    page = admin.get("/org/audit/reveals").get_data(as_text=True)
    assert "工作人员每次查看、法院的系统每次通过法院接口读取当事人完整手机号码或证件号码的记录" in page
    assert f"{PACKAGE_LABEL}：案件材料包 GET /api/v1/cases/{court_cases['filed']}" in page
    assert f"法院接口 立案系统（{DEMO_COURT}）" in page
    english = admin.get("/org/audit/reveals?lang=en").get_data(as_text=True)
    assert "Every time a staff member was shown, or a court's system read through the court API, a party" in english
    assert PACKAGE_LABEL_EN in english


def test_the_apis_agreement_and_application_pdfs_carry_their_sha256(app, court_cases):
    case_id = court_cases["confirmation"]
    with app.app_context():
        agreement_id = db.session.scalar(sa.select(Agreement.id).where(Agreement.case_id == case_id))
        db.session.remove()
    stored = make_pdf(app, agreement_id)["sha256"]
    for path in ("agreement.pdf", "confirmation-application.pdf"):
        pdf = court_cases["api"].get(f"/api/v1/cases/{case_id}/{path}")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF"), path
        assert pdf.headers["X-Content-SHA256"] == hashlib.sha256(pdf.data).hexdigest(), path
        if path == "agreement.pdf":
            assert pdf.headers["X-Content-SHA256"] == stored
