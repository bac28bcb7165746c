"""Idempotent submissions: the same filing form posted five times at once makes one case, and every post is
led to it; evidence uploads posted twice store one file. The database's UNIQUE constraint decides, on both
backends."""
from __future__ import annotations

import io
import re
import threading
from datetime import timedelta

import requests
import sqlalchemy as sa

from app.cases.models import Case, EvidenceFile
from app.core.idempotency import IdempotencyKey, purge
from app.core.time import utcnow
from app.extensions import db
from tests.conftest import sql_statements

CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
KEY_RE = re.compile(r'name="idempotency_key" value="([^"]+)"')
FORM = {"title": "楼上漏水", "description": "楼上卫生间漏水，我家天花板发霉，多次沟通无果。", "nav": "next"}
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
       b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")  # a 1x1 PNG


def _login(base: str, username: str) -> requests.Session:
    http = requests.Session()
    token = CSRF_RE.search(http.get(f"{base}/login", timeout=10).text).group(1)
    form = {"username": username, "password": "jiefen-demo", "csrf_token": token}
    resp = http.post(f"{base}/login", data=form, allow_redirects=False, timeout=10)
    assert resp.status_code == 302, resp.text[:500]
    return http


def _cases_of(app, user_id: int) -> list[int]:
    with app.app_context():
        ids = list(db.session.scalars(sa.select(Case.id).where(Case.filed_by_id == user_id)))
        db.session.remove()
    return ids


def test_five_identical_concurrent_filings_make_one_case(app, live_server, make_resident):
    user_id = make_resident("idem_five")
    http = _login(live_server, "idem_five")
    page = http.get(f"{live_server}/cases/new", timeout=10).text
    form = {**FORM, "csrf_token": CSRF_RE.search(page).group(1),
            "idempotency_key": KEY_RE.search(page).group(1)}
    barrier, responses, clients = threading.Barrier(5), [], []

    def post() -> None:
        client = requests.Session()
        client.cookies.update(http.cookies)  # the same browser: one session cookie, one rendered form
        clients.append(client)
        barrier.wait()
        responses.append(client.post(f"{live_server}/cases/new", data=form, allow_redirects=False,
                                     timeout=30))

    threads = [threading.Thread(target=post) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    cases = _cases_of(app, user_id)
    assert len(cases) == 1
    assert [r.status_code for r in responses] == [302] * 5
    assert {r.headers["Location"] for r in responses} == {f"/cases/{cases[0]}/intake/2"}
    # The four that lost the race are told so on the page they land on; the winner, that its draft is saved.
    pages = [client.get(f"{live_server}/cases/{cases[0]}/intake/2", timeout=10) for client in clients]
    assert [p.status_code for p in pages] == [200] * 5
    assert sorted("此表单已经提交过" in p.text for p in pages) == [False, True, True, True, True]
    assert sum("已保存草稿" in p.text for p in pages) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 1
        db.session.remove()


def _file(web, key: str | None = None):
    """Post the filing form as a browser does: with the key of the page it rendered (or the given one)."""
    page = web.get("/cases/new").get_data(as_text=True)
    return web.post("/cases/new", {**FORM, "idempotency_key": key or KEY_RE.search(page).group(1)})


def test_a_filing_stores_its_key_with_its_result_and_no_update(app, make_resident, make_web):
    user_id = make_resident("idem_one_insert")
    web = make_web()
    web.login("idem_one_insert")
    key = KEY_RE.search(web.get("/cases/new").get_data(as_text=True)).group(1)
    with sql_statements(app) as statements:
        resp = web.post("/cases/new", {**FORM, "idempotency_key": key})
    assert resp.status_code == 302
    # the session, the case, its applicant, its first event, the key (with where it led): nothing written twice
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE")], statements
    assert len(statements) <= 5, "\n\n".join(statements)
    with app.app_context():
        row = db.session.scalar(sa.select(IdempotencyKey).where(IdempotencyKey.user_id == user_id))
        assert row.key == key and resp.headers["Location"].endswith(row.result_path)
        db.session.remove()
    assert _file(web, key).headers["Location"] == resp.headers["Location"]  # posted again: led to the same draft
    assert len(_cases_of(app, user_id)) == 1


def test_a_new_form_files_a_new_case_and_a_form_without_key_still_works(app, make_resident, make_web):
    user_id = make_resident("idem_new")
    web = make_web()
    web.login("idem_new")
    first = _file(web)
    again = _file(web)  # the page rendered anew: a new key, a new case
    web.get("/cases/new")
    bare = web.client.post("/cases/new", data={**FORM, "csrf_token": web.token})  # a script without a key
    assert [first.status_code, again.status_code, bare.status_code] == [302, 302, 302]
    assert len({first.headers["Location"], again.headers["Location"], bare.headers["Location"]}) == 3
    assert len(_cases_of(app, user_id)) == 3


def test_the_api_header_and_a_malformed_key(app, make_resident, make_web):
    user_id = make_resident("idem_header")
    web = make_web()
    web.login("idem_header")
    web.get("/cases/new")
    headers = {"Idempotency-Key": "client-chosen-key-0001"}
    one = web.client.post("/cases/new", data={**FORM, "csrf_token": web.token}, headers=headers)
    two = web.client.post("/cases/new", data={**FORM, "csrf_token": web.token}, headers=headers)
    assert one.status_code == two.status_code == 302 and one.headers["Location"] == two.headers["Location"]
    bad = web.client.post("/cases/new", data={**FORM, "csrf_token": web.token},
                          headers={"Idempotency-Key": "x;drop"})
    assert bad.status_code == 400 and "Idempotency-Key" in bad.get_data(as_text=True)
    assert len(_cases_of(app, user_id)) == 1


def test_a_form_shown_again_with_errors_keeps_its_key(app, make_resident, make_web):
    make_resident("idem_errors")
    web = make_web()
    web.login("idem_errors")
    key = KEY_RE.search(web.get("/cases/new").get_data(as_text=True)).group(1)
    bad = web.post("/cases/new", {"title": "", "description": "太短", "idempotency_key": key})
    assert bad.status_code == 422 and f'value="{key}"' in bad.get_data(as_text=True)


def _evidence_count(app, case_id: int) -> int:
    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(EvidenceFile)
                              .where(EvidenceFile.case_id == case_id))
        db.session.remove()
    return n


def test_evidence_posted_twice_is_stored_once_in_the_wizard_and_on_the_case_page(app, make_resident,
                                                                                   make_web):
    make_resident("idem_evidence")
    web = make_web()
    web.login("idem_evidence")
    case_id = int(re.search(r"/cases/(\d+)/", _file(web).headers["Location"])[1])
    step4 = f"/cases/{case_id}/intake/4"
    page = web.get(step4).get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"|name="version" value="(\d+)"', page)
    form = {"csrf_token": web.token, "idempotency_key": KEY_RE.search(page).group(1), "nav": "next",
            "version": next(v for v in version.groups() if v)}
    for _ in range(2):
        resp = web.client.post(step4, data={**form, "file": (io.BytesIO(PNG), "借条.png")},
                               content_type="multipart/form-data")
        assert resp.status_code == 302 and resp.headers["Location"].endswith(step4)
    assert _evidence_count(app, case_id) == 1

    key = KEY_RE.search(web.get(f"/cases/{case_id}").get_data(as_text=True)).group(1)
    for _ in range(2):
        resp = web.client.post(f"/cases/{case_id}/evidence", content_type="multipart/form-data",
                               data={"csrf_token": web.token, "idempotency_key": key,
                                     "file": (io.BytesIO(PNG), "聊天记录.png")})
        assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case_id}")
    assert _evidence_count(app, case_id) == 2


def test_old_keys_are_purged(app, make_resident, make_web):
    make_resident("idem_purge")
    web = make_web()
    web.login("idem_purge")
    assert _file(web).status_code == 302
    with app.app_context():
        assert purge(days=30) == 0
        assert purge(days=30, now=utcnow() + timedelta(days=31)) == 1
        db.session.commit()
        db.session.remove()
    result = app.test_cli_runner().invoke(args=["idempotency", "purge", "--days", "30"])
    assert result.exit_code == 0 and "0 idempotency key(s) purged" in result.output
