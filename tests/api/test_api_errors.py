"""Every error under /api/v1 is the API's JSON error format, as documented (unknown paths 404, a wrong method 405
with Allow, a body too large 413, an unexpected failure 500); the rest of the site keeps its HTML error pages."""
from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa

from app.cases.models import EvidenceFile
from tests.api.test_api import DOC, Api, check, issue, litigated_case_ids, validate_against
from tests.cases.test_funnel_journeys import load


def documented(resp, name: str, code: str):
    """A JSON error of this code that fits components/responses/<name>."""
    assert resp.mimetype == "application/json", resp.get_data(as_text=True)[:300]
    assert resp.get_json()["error"]["code"] == code and resp.get_json()["error"]["message"]
    assert resp.headers["Cache-Control"] == "no-store"
    return validate_against(resp, {"$ref": f"#/components/responses/{name}"}, name)


def test_unknown_paths_under_api_v1_answer_the_json_404_with_or_without_a_token(app, demo):
    token = issue(app)[1]
    case_id = litigated_case_ids(app)[0]
    client = app.test_client()
    paths = ("/api/v1/nope", "/api/v1/cases/abc", f"/api/v1/cases/{case_id}/nope", "/api/v1/cases/1/evidence/x",
             "/api/v1", "/api/v1/", "/api/v1/cases/", f"/api/v1/cases/{case_id}/award.pdf/x")
    for path in paths:
        for headers in ({}, {"Authorization": f"Bearer {token}"}):
            documented(client.get(path, headers=headers), "NotFound", "not_found")
    assert "NotFound" in DOC["components"]["responses"] and "/api/v1 answers 404" in DOC["info"]["description"]
    page = client.get("/nope")  # elsewhere: the site's HTML page, in Chinese
    assert page.status_code == 404 and page.mimetype == "text/html" and "未找到" in page.get_data(as_text=True)


def test_a_wrong_method_answers_405_with_allow_in_the_json_format(app, demo):
    token = issue(app)[1]
    case_id = litigated_case_ids(app)[0]
    client = app.test_client()
    cases = (("DELETE", "/api/v1/cases", "GET"), ("POST", f"/api/v1/cases/{case_id}", "GET"),
             ("PUT", f"/api/v1/cases/{case_id}/decisions", "POST"), ("GET", f"/api/v1/cases/{case_id}/decisions", "POST"),
             ("POST", "/api/v1/openapi.json", "GET"), ("PATCH", f"/api/v1/cases/{case_id}/award.pdf", "GET"))
    for method, path, allowed in cases:
        for headers in ({}, {"Authorization": f"Bearer {token}"}):
            resp = documented(client.open(path, method=method, headers=headers), "MethodNotAllowed",
                              "method_not_allowed")
            assert resp.status_code == 405 and allowed in resp.headers["Allow"].split(", "), (method, path)
    assert load(app, case_id)[:2] == ("litigate", "filed")
    page = client.delete("/login")  # elsewhere: HTML
    assert page.status_code == 405 and page.mimetype == "text/html" and "不允许的操作" in page.get_data(as_text=True)


def test_a_body_over_64_kb_answers_413_and_changes_nothing(app, demo):
    api = Api(app, issue(app)[1])
    case_id = litigated_case_ids(app)[0]
    path = f"/api/v1/cases/{case_id}/decisions"
    resp = api.post(path, {"type": "return_filing", "reasons": "补" * 30_000})  # ~90 KB of UTF-8
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "too_large"
    documented(resp, "PayloadTooLarge", "too_large")
    assert load(app, case_id)[:2] == ("litigate", "filed")
    assert api.post(path, {"type": "return_filing", "reasons": "补" * 600}).status_code == 200  # a real one passes


def test_an_unexpected_failure_answers_the_json_500_and_the_web_keeps_its_page(app, demo, make_web, monkeypatch):
    from app.extensions import db
    from tests.test_permissions import PNG

    resident = make_web()
    resident.login("resident1")
    case_id = litigated_case_ids(app)[0]
    resp = resident.post(f"/cases/{case_id}/evidence", {"file": (io.BytesIO(PNG), "借条.png")}, page=f"/cases/{case_id}")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    with app.app_context():
        evidence = db.session.scalar(sa.select(EvidenceFile).where(EvidenceFile.case_id == case_id))
        key, evidence_id = evidence.storage_key or evidence.sha256, evidence.id
        db.session.remove()
    Path(app.config["FILES_DIR"], key[:2], key[2:]).unlink()  # the stored file is gone from the disk
    monkeypatch.setattr(app, "testing", False)  # as in production: the handler answers instead of raising
    api = Api(app, issue(app)[1])
    path = f"/api/v1/cases/{case_id}/evidence/{evidence_id}"
    failed = api.get(path)
    assert failed.status_code == 500 and failed.get_json()["error"]["code"] == "server_error"
    assert "FileNotFoundError" not in failed.get_data(as_text=True)  # nothing of the exception leaks
    documented(failed, "ServerError", "server_error")
    page = resident.get(f"/cases/{case_id}/evidence/{evidence_id}")
    assert page.status_code == 500 and page.mimetype == "text/html" and "服务器错误" in page.get_data(as_text=True)


def test_every_operation_documents_500_and_the_post_413(app):
    for path, item in DOC["paths"].items():
        for method, op in item.items():
            assert op["responses"]["500"] == {"$ref": "#/components/responses/ServerError"}, (method, path)
            assert ("413" in op["responses"]) == (method == "post"), (method, path)
    assert check  # the per-operation checker of test_api.py validates the rest
