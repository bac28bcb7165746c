"""PDFs that print the parties' full numbers, downloaded through the court API, are reveals by the court's bearer
token: one row per number, in the reveal log's chain (which names a row whose token was altered), shown to the
court's and the case's organisation admins and the admin, not to another organisation's admin; rows written before
the column existed still verify; the retention purge and the restore keep them."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import Organisation, Role, User
from app.accounts.operations import hash_password
from app.agreements.models import Agreement
from app.api.models import ApiToken
from app.cases.models import Case
from app.core.audit import GENESIS, chain_hash
from app.core.time import utcnow
from app.extensions import db
from app.privacy import reveal_chain
from app.privacy.reveal_models import PiiReveal
from tests.agreements.test_confirmation import submitted
from tests.agreements.test_pdf import make_pdf
from tests.api.test_api import DEMO_COURT, Api, _filed_with_court, issue, second_court
from tests.conftest import scratch_app
from tests.privacy.test_reveal import party_numbers, reveals
from tests.privacy.test_reveal_chain import _as_a_dba, _verify, chain_verifies

WHO = f"法院接口 立案系统（{DEMO_COURT}）"
WHO_EN = f"Court API 立案系统 ({DEMO_COURT})"
BEFORE = "e4b8d2f6a1c9"  # the revision before pii_reveals.api_token_id (a7c3e5f9b2d4)


def _org_of(app, case_id: int) -> int:
    with app.app_context():
        org_id = db.session.get(Case, case_id).organisation_id
        db.session.remove()
    return org_id


@pytest.fixture()
def api_downloads(app, demo, make_web) -> dict:
    """The demo court's token downloads a confirmation case's agreement and application and a filed case's
    complaint, once each, as a court's system would."""
    token_id, plain = issue(app)
    court = Api(app, plain)
    confirmation_case = submitted(app, make_web)[0]
    with app.app_context():
        agreement_id = db.session.scalar(sa.select(Agreement.id).where(Agreement.case_id == confirmation_case))
        db.session.remove()
    assert make_pdf(app, agreement_id)["sha256"]
    resident = make_web()
    resident.login("resident1")
    filed_case = _filed_with_court(app, resident)
    downloads = [(confirmation_case, "agreement.pdf", f"调解协议书 jiefen-agreement-{confirmation_case}.pdf"),
                 (confirmation_case, "confirmation-application.pdf",
                  f"司法确认申请书 jiefen-confirmation-application-{confirmation_case}.pdf"),
                 (filed_case, "filing/complaint.pdf", f"民事起诉状 jiefen-complaint-{filed_case}.pdf")]
    for case_id, path, _text in downloads:
        pdf = court.get(f"/api/v1/cases/{case_id}/{path}")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF"), path
    return {"token_id": token_id, "api": court, "downloads": downloads,
            "cases": {confirmation_case, filed_case}}


def test_each_api_download_of_a_document_printing_numbers_writes_one_row_per_number(app, api_downloads):
    rows = reveals(app)
    with app.app_context():
        court_id = db.session.get(ApiToken, api_downloads["token_id"]).organisation_id
        assert db.session.get(Organisation, court_id).name == DEMO_COURT
        db.session.remove()
    expected = 0
    for case_id, path, text in api_downloads["downloads"]:
        mine = [r for r in rows if r.reason_text == text]
        numbers = party_numbers(app, case_id)
        assert len(numbers) >= 2 and len(mine) == len(numbers), path  # one row per number printed
        assert {(r.party_id, r.field) for r in mine} == numbers
        assert {(r.user_id, r.api_token_id, r.role, r.case_id, r.organisation_id, r.reason_code, r.ip)
                for r in mine} == {(None, api_downloads["token_id"], "api", case_id, _org_of(app, case_id),
                                    "document", "127.0.0.1")}
        expected += len(numbers)
    assert len(rows) == expected
    chain_verifies(app, expected)


def test_what_is_not_a_document_printing_numbers_or_not_the_courts_records_nothing(app, api_downloads):
    before = len(reveals(app))
    case_id = next(iter(api_downloads["cases"]))
    other = Api(app, issue(app, second_court(app))[1])
    for path in ("agreement.pdf", "confirmation-application.pdf", "filing/complaint.pdf"):
        assert other.get(f"/api/v1/cases/{case_id}/{path}").status_code == 404
    assert api_downloads["api"].get(f"/api/v1/cases/{case_id}/award.pdf").status_code == 404
    assert Api(app, None).get(f"/api/v1/cases/{case_id}/agreement.pdf").status_code == 401
    assert len(reveals(app)) == before


def _org_admin(app, username: str, organisation_id: int) -> None:
    with app.app_context():
        db.session.add(User(username=username, display_name="测试管理员", role=Role.org_admin,
                            password_hash=hash_password("jiefen-demo"), organisation_id=organisation_id))
        db.session.commit()
        db.session.remove()


def test_the_reveal_log_names_the_court_api_to_the_courts_and_the_cases_admins_only(app, api_downloads, make_web):
    total = len(reveals(app))
    with app.app_context():
        court_id = db.session.get(ApiToken, api_downloads["token_id"]).organisation_id
        case_orgs = {db.session.get(Case, c).organisation_id for c in api_downloads["cases"]} - {None}
        unrelated = db.session.scalar(sa.select(Organisation.id).where(
            Organisation.id.not_in(case_orgs | {court_id})).order_by(Organisation.id).limit(1))
        db.session.remove()
    _org_admin(app, "courtadmin", court_id)
    _org_admin(app, "otheradmin", unrelated)
    for username in ("courtadmin", "admin"):
        web = make_web()
        web.login(username)
        page = web.get("/org/audit/reveals").get_data(as_text=True)
        assert page.count(WHO) == total, username
        assert page.count("下载载有完整号码的文书：民事起诉状") >= 1
        english = web.get("/org/audit/reveals?lang=en").get_data(as_text=True)
        assert english.count(WHO_EN) == total and "Downloaded a document that prints the full numbers" in english
    # The mediation committee whose case was confirmed sees its rows (the filed case was never mediated: no
    # organisation), the count says how many.
    confirmation_case = api_downloads["downloads"][0][0]
    _org_admin(app, "caseadmin", _org_of(app, confirmation_case))
    web = make_web()
    web.login("caseadmin")
    page = web.get("/org/audit/reveals").get_data(as_text=True)
    assert page.count(WHO) == sum(1 for r in reveals(app) if r.case_id == confirmation_case) > 0
    assert "民事起诉状" not in page
    web = make_web()
    web.login("otheradmin")
    resp = web.get("/org/audit/reveals")
    assert resp.status_code == 200 and "暂无查看记录" in resp.get_data(as_text=True)
    assert "法院接口 立案系统" not in resp.get_data(as_text=True)  # (the intro names 法院接口 on every log page)


def _as_a_dba_past_the_check(app, statement: str, **params) -> None:
    """As _as_a_dba, with the revealer check lifted too for the statement (a DBA could drop it as well)."""
    from app.privacy import reveal_triggers

    with app.app_context(), db.engine.begin() as conn:
        reveal_triggers.drop_triggers(conn)
        postgresql = conn.dialect.name == "postgresql"
        conn.execute(sa.text("ALTER TABLE pii_reveals DROP CONSTRAINT ck_pii_reveals_revealer" if postgresql
                             else "PRAGMA ignore_check_constraints = ON"))
        conn.execute(sa.text(statement), params)
        conn.execute(sa.text("ALTER TABLE pii_reveals ADD CONSTRAINT ck_pii_reveals_revealer CHECK "
                             "((user_id IS NULL) <> (api_token_id IS NULL)) NOT VALID" if postgresql
                             else "PRAGMA ignore_check_constraints = OFF"))
        reveal_triggers.create_triggers(conn)


def test_altering_a_tokens_row_breaks_the_chain(app, api_downloads):
    other_token = issue(app, second_court(app))[0]
    victim = reveals(app)[1].id
    _as_a_dba(app, "UPDATE pii_reveals SET api_token_id = :t WHERE id = :id", t=other_token, id=victim)
    code, out = _verify(app)
    assert code == 1 and f"PII reveal id {victim}: content does not match its hash (altered)" in out
    _as_a_dba(app, "UPDATE pii_reveals SET api_token_id = :t WHERE id = :id", t=api_downloads["token_id"], id=victim)
    assert _verify(app)[0] == 0
    # Handing the row to a member of staff instead (the token cleared, so left out of the payload) is detected too.
    with app.app_context():
        mediator = db.session.scalar(sa.select(User.id).where(User.username == "mediator1"))
        db.session.remove()
    _as_a_dba_past_the_check(app, "UPDATE pii_reveals SET api_token_id = NULL, user_id = :u WHERE id = :id",
                             u=mediator, id=victim)
    code, out = _verify(app)
    assert code == 1 and f"PII reveal id {victim}: content does not match its hash (altered)" in out
    _as_a_dba_past_the_check(app, "UPDATE pii_reveals SET api_token_id = :t, user_id = NULL WHERE id = :id",
                             t=api_downloads["token_id"], id=victim)
    assert _verify(app)[0] == 0
    with app.app_context(), db.engine.begin() as conn:  # every row satisfies the check again
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("ALTER TABLE pii_reveals VALIDATE CONSTRAINT ck_pii_reveals_revealer"))


def test_a_reveal_names_a_user_or_a_token_never_both_nor_neither(app, api_downloads):
    last = reveals(app)[-1]
    with app.app_context():
        mediator = db.session.scalar(sa.select(User.id).where(User.username == "mediator1"))
        for user_id, token_id in ((mediator, api_downloads["token_id"]), (None, None)):
            with pytest.raises(sa.exc.IntegrityError):
                reveal_chain.append(user_id=user_id, api_token_id=token_id, role="api", case_id=last.case_id,
                                    party_id=last.party_id, organisation_id=last.organisation_id, field="phone",
                                    reason_code="document", reason_text="x", ip=None)
            db.session.rollback()
        names = {c["name"] for c in sa.inspect(db.engine).get_check_constraints("pii_reveals")}
        assert {"ck_pii_reveals_field", "ck_pii_reveals_revealer"} <= names
        db.session.remove()


def test_the_retention_purge_keeps_the_api_rows_and_their_chain(app, api_downloads):
    from app.privacy.consent_models import PersonalDataPurge

    before = reveals(app)
    confirmation_case = api_downloads["downloads"][0][0]  # closed (settled): due once it ended long enough ago
    with app.app_context():
        db.session.execute(sa.update(Case).where(Case.id == confirmation_case).values(
            closed_at=utcnow() - timedelta(days=400)).execution_options(synchronize_session=False))
        db.session.commit()
        db.session.remove()
    result = app.test_cli_runner().invoke(args=["privacy", "purge", "--days", "365"])
    assert result.exit_code == 0 and "1 case(s) purged" in result.output, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(PersonalDataPurge.case_id)) == confirmation_case
        db.session.remove()
    assert [(r.id, r.hash) for r in reveals(app)] == [(r.id, r.hash) for r in before]
    code, out = _verify(app)
    assert code == 0 and f"OK: {len(before)} PII reveals verified" in out
    for path in ("agreement.pdf", "confirmation-application.pdf"):  # its documents are gone: 410, nothing recorded
        assert api_downloads["api"].get(f"/api/v1/cases/{confirmation_case}/{path}").status_code == 410
    assert len(reveals(app)) == len(before)


def test_restore_keeps_the_api_rows_and_their_chain(app, api_downloads, tmp_path):
    from app.core.backup import create_backup

    total = len(reveals(app))
    with app.app_context():
        manifest = create_backup(tmp_path / "jiefen.tar.gz")
        db.session.remove()
    assert manifest["reveals"]["reveals"] == total
    with scratch_app(tmp_path, "apirevealrestore") as target:
        restored = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "jiefen.tar.gz")])
        assert restored.exit_code == 0 and f"{total} PII reveals (chain intact)" in restored.output, restored.output
        with target.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(PiiReveal).where(
                PiiReveal.api_token_id == api_downloads["token_id"])) == total
            db.session.remove()


def test_rows_written_before_the_column_still_verify_and_the_downgrade_keeps_api_rows(app, tmp_path):
    from flask_migrate import downgrade, upgrade

    from app.demo import seed_demo

    with scratch_app(tmp_path, "apirevealmigration") as other, other.app_context():
        upgrade()
        seed_demo("jiefen-demo")
        db.session.commit()
        db.session.remove()
        downgrade(revision=BEFORE)
        user_id = db.session.scalar(sa.text("SELECT id FROM users WHERE username = 'mediator1'"))
        case_id, party_id, org_id = db.session.execute(sa.text(
            "SELECT c.id, p.id, c.organisation_id FROM cases c JOIN case_parties p ON p.case_id = c.id "
            "ORDER BY c.id, p.id LIMIT 1")).one()
        prev = GENESIS
        for i in range(2):  # as the code before a7c3e5f9b2d4 wrote them: no api_token_id in the payload
            row = {"user_id": user_id, "role": "mediator", "case_id": case_id, "party_id": party_id,
                   "organisation_id": org_id, "field": "phone", "reason_code": "contact", "reason_text": f"迁移前 {i}",
                   "ip": None, "created_at": utcnow().replace(microsecond=123456)}
            link = chain_hash(prev, row)
            db.session.execute(sa.text(
                "INSERT INTO pii_reveals (user_id, role, case_id, party_id, organisation_id, field, reason_code, "
                "reason_text, ip, created_at, prev_hash, hash) VALUES (:user_id, :role, :case_id, :party_id, "
                ":organisation_id, :field, :reason_code, :reason_text, :ip, :created_at, :prev, :hash)"),
                {**row, "prev": prev, "hash": link})
            prev = link
        db.session.commit()
        db.session.remove()

        upgrade()
        assert reveal_chain.verify() == (2, None)
        court = db.session.scalar(sa.select(Organisation).where(Organisation.name == DEMO_COURT))
        from app.api.tokens import issue_token
        from app.privacy.reveal import record_api_document_download

        token, _plain = issue_token(court, "立案系统")
        written = record_api_document_download(db.session.get(Case, case_id), token, "调解协议书 x.pdf", "10.0.0.9")
        db.session.commit()
        assert written >= 1 and reveal_chain.verify() == (2 + written, None)
        db.session.remove()
        with pytest.raises(SystemExit):  # Flask-Migrate logs the migration's refusal and exits
            downgrade(revision=BEFORE)
        db.session.rollback()
        db.session.remove()
        assert "api_token_id" in {c["name"] for c in sa.inspect(db.engine).get_columns("pii_reveals")}
        assert reveal_chain.verify() == (2 + written, None)
        db.session.remove()
