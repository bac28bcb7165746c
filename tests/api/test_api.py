"""The court-facing API: tokens per court, the case list and package, decisions through the funnel, and every
response checked against app/escalation/openapi.json (jsonschema), plus a bounded schemathesis run."""
from __future__ import annotations

import io
import json
import re

import sqlalchemy as sa
from jsonschema import Draft202012Validator, FormatChecker

from app.accounts.models import Organisation, OrgType, Tier
from app.api.cli import api_tokens_cli
from app.api.models import ApiToken
from app.api.views import OPENAPI_PATH
from app.cases.models import Case, Stage
from tests.cases.test_funnel_journeys import file_dispute, load
from tests.escalation.pages import file_with_court

DOC = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
NUMBER = "(2026)皖0202民初123号"
DEMO_COURT = "芜湖市镜湖区人民法院"


# --- validating responses against the OpenAPI document ------------------------------------------------
def _operation(path: str, method: str) -> dict:
    """The document's operation whose path template matches this concrete path."""
    for template, item in DOC["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return item[method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def response_spec(spec: dict) -> dict:
    """A response object, following a $ref into components/responses."""
    ref = spec.get("$ref")
    return DOC["components"]["responses"][ref.rsplit("/", 1)[1]] if ref else spec


def validate_against(resp, spec: dict, what: str):
    """The response's JSON body fits the response object's schema and its documented headers are present."""
    spec = response_spec(spec)
    content = spec.get("content", {})
    content = spec.get("content", {})
    mimetype = resp.mimetype
    if mimetype == "application/json":
        assert "application/json" in content, f"{what}: JSON not documented for {resp.status_code}"
        schema = {**content["application/json"]["schema"], "components": DOC["components"]}
        Draft202012Validator(schema, format_checker=FormatChecker()).validate(resp.get_json())
    else:
        assert mimetype in content or any(k.endswith("/*") and mimetype.startswith(k[:-1]) for k in content) \
            or "application/octet-stream" in content, f"{what}: {mimetype} not documented"
    for header in spec.get("headers", {}):
        assert header in resp.headers, f"{what}: header {header} missing"
    return resp


def check(resp, path: str, method: str = "GET"):
    """Assert the response's status is documented for the operation and its JSON body fits the schema."""
    op = _operation(path.split("?")[0], method)
    responses = op["responses"]
    assert str(resp.status_code) in responses, f"{method} {path}: undocumented status {resp.status_code}"
    return validate_against(resp, responses[str(resp.status_code)], f"{method} {path}")


class Api:
    """A client for the API with one bearer token (or none); every answer is checked against the document."""

    def __init__(self, app, token: str | None):
        self.client, self.token = app.test_client(), token

    def _headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path):
        return check(self.client.get(path, headers=self._headers()), path)

    def post(self, path, body):
        return check(self.client.post(path, json=body, headers=self._headers()), path, "POST")


# --- fixtures -------------------------------------------------------------------------------------------
def _court(name=DEMO_COURT):
    from app.extensions import db

    return db.session.scalar(sa.select(Organisation).where(Organisation.name == name))


def issue(app, court_name=DEMO_COURT, name="立案系统") -> tuple[int, str]:
    from app.api.tokens import issue_token
    from app.extensions import db

    with app.app_context():
        row, plain = issue_token(_court(court_name), name)
        db.session.commit()
        out = row.id, plain
        db.session.remove()
    return out


def second_court(app) -> str:
    from app.extensions import db

    with app.app_context():
        if _court("芜湖市弋江区人民法院") is None:  # the demo may seed it (a second court for jurisdiction)
            db.session.add(Organisation(name="芜湖市弋江区人民法院", type=OrgType.court, tier=Tier.county,
                                        region_code="340203"))
            db.session.commit()
        db.session.remove()
    return "芜湖市弋江区人民法院"


def litigated_case_ids(app) -> list[int]:
    from app.extensions import db

    with app.app_context():
        court = _court()
        ids = list(db.session.scalars(sa.select(Case.id).where(Case.court_id == court.id, Case.stage == Stage.litigate)))
        db.session.remove()
    return ids


def _filed_with_court(app, resident, title="货款纠纷"):
    """A contract case filed with the demo court through the filing page (complaint and submission recorded)."""
    case_id = file_dispute(resident, title, "contract", "对方拖欠货款三万元，多次催要无果，双方无仲裁协议。", amount="30000")
    resp = file_with_court(resident, case_id)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    return case_id


# --- the tests ----------------------------------------------------------------------------------------------
def test_the_document_is_served_without_a_token_and_is_the_repository_file(app):
    assert OPENAPI_PATH.parts[-3:] == ("app", "escalation", "openapi.json")  # where issue 7 keeps it
    assert not OPENAPI_PATH.parent.parent.joinpath("api", "openapi.json").exists()
    resp = app.test_client().get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.get_json() == DOC
    assert DOC["openapi"].startswith("3.1") and DOC["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")}
    documented = {re.sub(r"\{(\w+)\}", r"<int:\1>", p) for p in DOC["paths"]}
    assert rules == documented  # every rule is documented, and nothing else is


def test_the_demo_court_lists_and_fetches_its_litigated_case(app, court_api):
    ids = litigated_case_ids(app)
    assert ids
    listing = court_api.get("/api/v1/cases").get_json()
    assert {c["id"] for c in listing["items"]} >= set(ids)
    assert all(c["kind"] == "filing" for c in listing["items"] if c["id"] in ids)
    package = court_api.get(f"/api/v1/cases/{ids[0]}").get_json()
    assert package["stage"] == "litigate" and package["court"]["name"] == DEMO_COURT
    assert package["chain"] == {"valid": True, "events_checked": len(package["events"]), "problem": None}
    assert package["events"][-1]["action"] == "file_lawsuit" and package["events"][-1]["actor_role"] == "resident"
    assert package["parties"] and all(p["name"] for p in package["parties"])
    one = court_api.get("/api/v1/cases?per_page=1&page=1").get_json()
    assert one["per_page"] == 1 and len(one["items"]) == 1 and one["total"] == listing["total"]
    assert court_api.get("/api/v1/cases?per_page=101").status_code == 422
    assert court_api.get("/api/v1/cases?page=0").status_code == 422


def test_tokens_are_stored_hashed_and_last_use_is_recorded(app, court_api):
    from app.extensions import db

    with app.app_context():
        assert db.session.scalar(sa.select(ApiToken.last_used_at)) is None
        db.session.remove()
    assert court_api.get("/api/v1/cases").status_code == 200
    with app.app_context():
        row = db.session.scalar(sa.select(ApiToken))
        assert row.token_hash != court_api.token and len(row.token_hash) == 64 and row.last_used_at is not None
        db.session.remove()


def test_another_courts_token_gets_404_and_sees_nothing(app, demo):
    case_id = litigated_case_ids(app)[0]
    other = Api(app, issue(app, second_court(app))[1])
    assert other.get("/api/v1/cases").get_json() == {"items": [], "page": 1, "per_page": 20, "total": 0}
    for path in (f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/agreement.pdf",
                 f"/api/v1/cases/{case_id}/confirmation-application.pdf", f"/api/v1/cases/{case_id}/evidence/1",
                 f"/api/v1/cases/{case_id}/award.pdf", f"/api/v1/cases/{case_id}/filing/complaint.pdf"):
        resp = other.get(path)
        assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found", path
    resp = other.post(f"/api/v1/cases/{case_id}/decisions", {"type": "accept_filing", "court_case_number": NUMBER})
    assert resp.status_code == 404
    assert load(app, case_id)[:2] == ("litigate", "filed")


def test_missing_malformed_unknown_and_revoked_tokens_get_401(app, demo):
    token_id, token = issue(app)
    case_id = litigated_case_ids(app)[0]
    client = app.test_client()
    for headers in ({}, {"Authorization": token}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer nope"}):
        resp = check(client.get("/api/v1/cases", headers=headers), "/api/v1/cases")
        assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer"), headers
        assert resp.get_json()["error"]["code"] == "unauthorized"
    api = Api(app, token)
    assert api.get(f"/api/v1/cases/{case_id}").status_code == 200
    runner = app.test_cli_runner()
    result = runner.invoke(api_tokens_cli, ["revoke", str(token_id)])
    assert result.exit_code == 0, result.output
    for path in ("/api/v1/cases", f"/api/v1/cases/{case_id}"):
        assert api.get(path).status_code == 401
    resp = api.post(f"/api/v1/cases/{case_id}/decisions", {"type": "return_filing", "reasons": "x"})
    assert resp.status_code == 401 and load(app, case_id)[:2] == ("litigate", "filed")


def test_cli_issues_once_lists_and_revokes(app, demo):
    from app.extensions import db

    with app.app_context():
        court_id = _court().id
        db.session.remove()
    runner = app.test_cli_runner()
    result = runner.invoke(api_tokens_cli, ["issue", "--court-id", str(court_id), "--name", "立案系统"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert Api(app, token).get("/api/v1/cases").status_code == 200
    listed = runner.invoke(api_tokens_cli, ["list"]).stdout
    assert "立案系统" in listed and "active" in listed and token not in listed
    bad = runner.invoke(api_tokens_cli, ["issue", "--court-id", "999999", "--name", "x"])
    assert bad.exit_code != 0
    with app.app_context():
        not_a_court = db.session.scalar(sa.select(Organisation.id).where(Organisation.type != OrgType.court))
        db.session.remove()
    assert runner.invoke(api_tokens_cli, ["issue", "--court-id", str(not_a_court), "--name", "x"]).exit_code != 0


def test_court_returns_resident_resubmits_court_accepts_with_a_number(app, demo, make_web, court_api):
    from tests.test_permissions import PNG

    resident = make_web()
    resident.login("resident1")
    case_id = _filed_with_court(app, resident)
    resp = resident.post(f"/cases/{case_id}/evidence", {"file": (io.BytesIO(PNG), "送货单.png")}, page=f"/cases/{case_id}")
    assert resp.status_code == 302
    base = f"/api/v1/cases/{case_id}"
    package = court_api.get(base).get_json()
    assert package["kind"] == "filing" and package["amount"] == "30000.00" and [d["kind"] for d in package["documents"]] == ["complaint"]
    assert [p["name"] for p in package["parties"] if p["role"] == "respondent"] == ["李建国"]
    assert any(p["phone"] == "13905539876" for p in package["parties"])  # unmasked for the court
    (evidence,) = package["evidence"]
    assert evidence["url"] == f"{app.config['BASE_URL'].rstrip('/')}{base}/evidence/{evidence['id']}"
    download = court_api.get(f"{base}/evidence/{evidence['id']}")
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["Content-Disposition"].startswith("attachment") and download.headers["Cache-Control"] == "no-store"
    download.close()
    assert court_api.get(f"{base}/agreement.pdf").status_code == 404

    # Bodies the schema refuses, and a confirmation decision on a filing: nothing changes.
    for body in ({}, {"type": "return_filing"}, {"type": "return_filing", "reasons": "  "}, {"type": "accept_filing"},
                 {"type": "accept_filing", "court_case_number": "x" * 61}, {"type": "nope"},
                 {"type": "confirm_agreement", "extra": 1}, []):
        assert court_api.post(f"{base}/decisions", body).status_code == 422, body
    assert court_api.post(f"{base}/decisions", {"type": "confirm_agreement"}).status_code == 409
    assert load(app, case_id)[:2] == ("litigate", "filed")

    resp = court_api.post(f"{base}/decisions", {"type": "return_filing", "reasons": "请补充被告的住所地和身份信息。"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "returned"
    assert court_api.post(f"{base}/decisions", {"type": "return_filing", "reasons": "再退一次"}).status_code == 409
    page = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "请补充被告的住所地和身份信息" in page and "补正后重新提交" in page
    assert file_with_court(resident, case_id).status_code == 302

    bad = court_api.post(f"{base}/decisions", {"type": "accept_filing", "court_case_number": "123"})
    assert bad.status_code == 422 and "案号格式不正确" in bad.get_json()["error"]["message"]
    resp = court_api.post(f"{base}/decisions", {"type": "accept_filing", "court_case_number": NUMBER})
    assert resp.status_code == 200
    assert resp.get_json() | {"filed_at": None} == {
        "id": case_id, "title": "货款纠纷", "stage": "litigate", "status": "accepted", "category": "contract",
        "amount": "30000.00", "filed_at": None, "court_case_number": NUMBER, "kind": "filing"}
    assert court_api.post(f"{base}/decisions", {"type": "accept_filing", "court_case_number": NUMBER}).status_code == 409
    stage, status, number, events = load(app, case_id)
    assert (stage, status, number) == ("litigate", "accepted", NUMBER)
    assert events[-5:] == ["file_lawsuit", "add_evidence", "return_filing", "resubmit_filing", "accept_filing"]
    assert NUMBER in resident.get(f"/cases/{case_id}").get_data(as_text=True)
    package = court_api.get(base).get_json()
    accepted = package["events"][-1]
    assert accepted["actor_role"] == "court_clerk" and "立案系统" in accepted["reason"]  # which token decided
    assert package["chain"]["valid"] is True


def test_schemathesis_against_the_document(app, demo):
    """Generated requests for every operation (bounded): never a 5xx, every answer as documented."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    token = issue(app)[1]
    case_id = litigated_case_ids(app)[0]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    ran, calls = set(), []
    for result in schema.get_all_operations():
        operation = result.ok()
        # Random ids (mostly 404), then this court's own case (the package, decisions on a real filing).
        pinned = [None] + ([{"case_id": case_id}] if "{case_id}" in operation.path else [])
        for path_parameters in pinned:
            @given(case=operation.as_strategy(path_parameters=path_parameters))
            @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def run(case):
                case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])
                calls.append(case.path)

            run()
        ran.add(operation.label)
    documented = {f"{m.upper()} {p}" for p, item in DOC["paths"].items() for m in item if p != "/api/v1/openapi.json"}
    assert ran >= documented and len(calls) >= 5 * len(documented)  # examples were really generated and sent


def test_judicial_confirmation_is_listed_fetched_and_decided(app, demo, make_web, court_api):
    from tests.agreements.test_confirmation import application_row, submitted

    case_id = submitted(app, make_web)[0]
    base = f"/api/v1/cases/{case_id}"
    listing = court_api.get("/api/v1/cases?per_page=100").get_json()
    (item,) = [c for c in listing["items"] if c["id"] == case_id]
    assert item["kind"] == "confirmation" and item["stage"] == "closed"
    package = court_api.get(base).get_json()
    assert package["confirmation"]["status"] == "submitted"
    assert [d["kind"] for d in package["documents"]] == ["confirmation_application"]  # the agreement PDF not made
    pdf = court_api.get(f"{base}/confirmation-application.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.headers["Cache-Control"] == "no-store"
    other = Api(app, issue(app, second_court(app))[1])
    assert other.post(f"{base}/decisions", {"type": "confirm_agreement"}).status_code == 404
    assert court_api.post(f"{base}/decisions", {"type": "accept_filing", "court_case_number": NUMBER}).status_code == 409
    assert court_api.post(f"{base}/decisions", {"type": "reject_agreement"}).status_code == 422
    resp = court_api.post(f"{base}/decisions", {"type": "confirm_agreement"})
    assert resp.status_code == 200 and resp.get_json()["kind"] == "confirmation"
    assert application_row(app, case_id)["status"] == "confirmed"
    assert court_api.post(f"{base}/decisions", {"type": "reject_agreement", "reasons": "晚了"}).status_code == 409
    package = court_api.get(base).get_json()
    assert package["confirmation"]["status"] == "confirmed"
    assert package["events"][-1]["action"] == "confirmation_confirmed" and package["chain"]["valid"]
