"""The retention purge: a dry run counts, a run removes names, numbers, texts and files of cases that ended long
ago, keeps the skeleton and the SHA-256s, extends the hash chain (which still verifies), a second run does nothing,
and the purged case's pages say so."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.agreements.models import Agreement, AgreementSignature
from app.cases.models import Case, CaseEvent, CaseParty, EvidenceFile
from app.cases.operations import verify_chain
from app.core.storage import storage
from app.core.time import utcnow
from app.demo import signed_agreement_case_id
from app.documents.models import Document
from app.extensions import db
from app.privacy.consent_models import PersonalDataPurge, PurgedFile

EVIDENCE = b"%PDF-1.4 evidence of the parking quarrel"
REPORT = b"%PDF-1.4 an issued assessment report"


@pytest.fixture()
def old_case(app, demo):
    """The demo's settled parking case (signed agreement: frozen rows), closed 400 days ago, with a stored
    evidence file and an issued document."""
    with app.app_context():
        case = db.session.get(Case, signed_agreement_case_id())
        files = storage()
        key = files.put_random(EVIDENCE)
        db.session.add(EvidenceFile(case_id=case.id, uploaded_by_id=case.filed_by_id, original_name="王秀英车位照片.pdf",
                                    content_type="application/pdf", size_bytes=len(EVIDENCE),
                                    sha256=hashlib.sha256(EVIDENCE).hexdigest(), storage_key=key,
                                    description="李建国的电动车停在我家车位"))
        db.session.add(Document(kind="assessment_report", case_id=case.id, template="assessment/report_pdf.html",
                                sha256=files.put(REPORT), size_bytes=len(REPORT)))
        case.parties[0].id_number = "11010519491231002X"
        db.session.flush()
        db.session.execute(sa.update(Case).where(Case.id == case.id).values(
            closed_at=utcnow() - timedelta(days=400)).execution_options(synchronize_session=False))
        db.session.commit()
        case_id = case.id
        db.session.remove()
    return case_id, key


def _purge(app, *args):
    result = app.test_cli_runner().invoke(args=["privacy", "purge", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_dry_run_counts_and_changes_nothing(app, old_case):
    case_id, key = old_case
    out = _purge(app, "--dry-run", "--days", "365")
    assert "1 case(s) would be purged (dry run) (retention 365 days)" in out and "files 2" in out
    assert "agreement_signatures 3" in out and "case_parties 2" in out
    with app.app_context():
        assert db.session.get(Case, case_id).title == "车位被邻居长期占用"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PersonalDataPurge)) == 0
        assert storage().exists(key)
    assert "0 case(s) would be purged" in _purge(app, "--dry-run", "--days", "500")


def test_purge_removes_personal_data_keeps_the_skeleton_and_the_chain_verifies(app, old_case):
    case_id, key = old_case
    out = _purge(app, "--days", "365", "--batch-size", "1")
    assert "1 case(s) purged (retention 365 days)" in out and "files 2" in out
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert (case.title, case.description, case.desired_outcome) == ("（已清除）", "（已清除）", None)
        assert case.category == "neighbour" and case.stage.value == "closed" and case.status.value == "settled"
        assert case.region_code and case.closed_at and case.mediator_id
        parties = db.session.scalars(sa.select(CaseParty).where(CaseParty.case_id == case_id)).all()
        assert sorted(p.name for p in parties) == ["申请人（已清除）", "被申请人（已清除）"]
        assert all(p.phone is None and p.id_number is None and p.address is None and p.email is None for p in parties)
        evidence = db.session.scalars(sa.select(EvidenceFile).where(EvidenceFile.case_id == case_id)).one()
        assert evidence.original_name == "（已清除）" and evidence.description is None and len(evidence.sha256) == 64
        assert not storage().exists(key) and not storage().exists(
            db.session.scalars(sa.select(Document.sha256).where(Document.case_id == case_id)).one())
        gone = db.session.scalars(sa.select(PurgedFile).where(PurgedFile.case_id == case_id)).all()
        assert sorted(f.kind for f in gone) == ["document", "evidence"] and all(f.purged_at for f in gone)
        agreement = db.session.scalars(sa.select(Agreement).where(Agreement.case_id == case_id)).one()
        assert agreement.facts == "（已清除）" and agreement.terms == [] and agreement.signed_at is not None
        signatures = db.session.scalars(sa.select(AgreementSignature).where(
            AgreementSignature.agreement_id == agreement.id)).all()
        assert {s.typed_name for s in signatures} == {"（已清除）"} and all(s.ip_address is None for s in signatures)
        last = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case_id)
                                  .order_by(CaseEvent.seq.desc()).limit(1)).one()
        assert last.action == "personal_data_purged" and "365" in last.reason
        checked, broken = verify_chain()
        assert broken is None and checked > 10
        row = db.session.scalars(sa.select(PersonalDataPurge).where(PersonalDataPurge.case_id == case_id)).one()
        assert row.retention_days == 365 and row.counts["agreements"] == 1
        # The signed agreement's triggers are back: raw SQL still cannot change it.
        with pytest.raises(sa.exc.DBAPIError):
            with db.engine.begin() as conn:
                conn.execute(sa.update(Agreement.__table__).where(Agreement.id == agreement.id).values(summary="x"))
    assert "0 case(s) purged" in _purge(app, "--days", "365")  # idempotent
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == case_id, CaseEvent.action == "personal_data_purged")) == 1


def test_purged_case_pages_say_so(app, old_case, make_web):
    case_id, _ = old_case
    _purge(app, "--days", "365")
    with app.app_context():
        evidence_id = db.session.scalars(sa.select(EvidenceFile.id).where(EvidenceFile.case_id == case_id)).one()
    web = make_web()
    web.login("resident1")
    page = web.get(f"/cases/{case_id}")
    assert page.status_code == 200 and "超过个人信息保存期限" in page.get_data(as_text=True)
    assert "申请人（已清除）" in page.get_data(as_text=True) and "邻居长期把电动车" not in page.get_data(as_text=True)
    for url in (f"/cases/{case_id}/evidence/{evidence_id}", f"/cases/{case_id}/assessment.pdf",
                f"/cases/{case_id}/agreement.pdf", f"/cases/{case_id}/agreement"):
        resp = web.get(url)
        assert resp.status_code == 410, url
        assert "已按规定清除" in resp.get_data(as_text=True)
    outsider = make_web()
    outsider.login("resident3")
    assert outsider.get(f"/cases/{case_id}/evidence/{evidence_id}").status_code == 404


def test_open_and_recent_cases_are_not_touched(app, demo):
    out = _purge(app, "--days", "0")  # every ended demo case, even those closed today
    with app.app_context():
        open_titles = db.session.scalars(sa.select(Case.title).where(Case.stage != "closed")).all()
        assert "（已清除）" not in open_titles
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PersonalDataPurge)) >= 2
        assert verify_chain()[1] is None
    assert "case(s) purged (retention 0 days)" in out


def test_the_court_api_answers_410_for_a_purged_case(app, old_case):
    """A court that received the agreement for judicial confirmation fetched the package; after the purge the
    package is gone, said in the API's documented error format (the API client checks it against openapi.json)."""
    from app.accounts.models import Organisation
    from app.agreements.models import ConfirmationApplication
    from tests.api.test_api import DEMO_COURT, Api, issue

    case_id, _key = old_case
    with app.app_context():
        case = db.session.get(Case, case_id)
        agreement = db.session.scalar(sa.select(Agreement).where(Agreement.case_id == case_id,
                                                                 Agreement.status == "signed"))
        court = db.session.scalar(sa.select(Organisation).where(Organisation.name == DEMO_COURT))
        db.session.add(ConfirmationApplication(
            case_id=case_id, agreement_id=agreement.id, court_id=court.id, status="submitted",
            applied_by_id=case.filed_by_id, joined_by_id=case.filed_by_id, joined_at=utcnow() - timedelta(days=390),
            deadline_at=utcnow() - timedelta(days=370)))
        db.session.commit()
        db.session.remove()
    api = Api(app, issue(app)[1])
    assert api.get(f"/api/v1/cases/{case_id}").status_code == 200
    _purge(app, "--days", "365")
    after = api.get(f"/api/v1/cases/{case_id}")
    assert after.status_code == 410 and after.get_json()["error"]["code"] == "gone"
    assert "purged after the retention period" in after.get_json()["error"]["message"]
    assert api.get(f"/api/v1/cases/{case_id}/agreement.pdf").status_code == 410


def test_the_reveal_log_of_a_purged_case_still_verifies_and_still_names_it(app, old_case):
    """The purge anonymises the parties in place and never rewrites the reveal log: its chain verifies afterwards and
    each reveal still says which case and party it was (plain ids, no foreign key to null them)."""
    from app.privacy import reveal_chain
    from app.privacy.reveal_models import PiiReveal

    case_id, _ = old_case
    with app.app_context():
        case = db.session.get(Case, case_id)
        parties = [(p.id, field) for p in case.parties for field in ("phone", "id_number") if getattr(p, field)]
        for party_id, field in parties:
            reveal_chain.append(user_id=case.mediator_id, role="mediator", case_id=case_id, party_id=party_id,
                                organisation_id=case.organisation_id, field=field, reason_code="service",
                                reason_text="送达调解协议", ip="127.0.0.1")
        db.session.commit()
        db.session.remove()
    assert len(parties) >= 2
    _purge(app, "--days", "365")
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and f"OK: {len(parties)} PII reveals verified" in result.output, result.output
    with app.app_context():
        stored = db.session.execute(sa.select(PiiReveal.case_id, PiiReveal.party_id, PiiReveal.field)
                                    .order_by(PiiReveal.id)).all()
        assert [tuple(r) for r in stored] == [(case_id, party_id, field) for party_id, field in parties]
        assert db.session.get(CaseParty, parties[0][0]).phone is None  # while the numbers themselves are gone


def test_password_reset_codes_go_after_30_days(app, demo, make_web):
    from app.accounts.models import PasswordReset, User

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "resident1"))
        phone = user.phone
    for _ in range(2):
        assert make_web().post("/password/forgot", {"username": "resident1", "phone": phone},
                               page="/password/forgot").status_code == 302
    with app.app_context():
        old = db.session.scalars(sa.select(PasswordReset).order_by(PasswordReset.id)).first()
        old.created_at -= timedelta(days=31)
        db.session.commit()
    assert "1 password reset code(s) older than 30 days would be purged (dry run)" in _purge(app, "--dry-run")
    assert "1 password reset code(s) older than 30 days purged" in _purge(app)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PasswordReset)) == 1


def test_resident_accounts_unused_for_the_retention_period_are_closed(app, demo):
    """resident3 (no dispute) last came 4 years ago: closed. resident1 too, but a dispute of theirs is in progress:
    kept. resident2 came yesterday: kept."""
    from app.accounts.models import User, UserSession

    with app.app_context():
        users = {u.username: u for u in db.session.scalars(sa.select(User).where(
            User.username.in_(("resident1", "resident2", "resident3"))))}
        for name, days_ago in (("resident1", 1500), ("resident2", 1), ("resident3", 1500)):
            user = users[name]
            user.created_at = utcnow() - timedelta(days=2000)
            db.session.add(UserSession(user_id=user.id, token_hash=f"{name:0>64}"[-64:], created_at=user.created_at,
                                       last_seen_at=utcnow() - timedelta(days=days_ago)))
        db.session.commit()
    dry = _purge(app, "--dry-run")
    assert "1 resident account(s) unused for 1095 days would be closed (dry run); 1 kept" in dry
    with app.app_context():
        assert db.session.scalar(sa.select(User.closed_at).where(User.username == "resident3")) is None
    assert "1 resident account(s) unused for 1095 days closed; 1 kept" in _purge(app)
    with app.app_context():
        closed = {u.display_name: u for u in db.session.scalars(sa.select(User).where(User.closed_at.is_not(None)))}
        assert list(closed) == ["已注销用户"] and next(iter(closed.values())).phone is None
        still = db.session.scalars(sa.select(User.username).where(User.username.in_(("resident1", "resident2")),
                                                                    User.closed_at.is_(None))).all()
        assert sorted(still) == ["resident1", "resident2"]
    assert "0 resident account(s) unused for 1095 days closed; 1 kept" in _purge(app)  # idempotent


def test_history_reasons_go_with_the_purge_and_the_chain_still_verifies(app, old_case, make_web):
    """The chain covers a salted digest of each reason, so the purge clears reasons and salts and every link still
    verifies; an event from before the digest existed keeps its reason (it is in the chain itself)."""
    from app.accounts.models import User
    from app.cases.models import GENESIS_HASH

    case_id, _ = old_case
    with app.app_context():
        last = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case_id)
                                  .order_by(CaseEvent.seq.desc()).limit(1)).one()
        legacy = CaseEvent(case_id=case_id, seq=last.seq + 1, actor_id=None, action="close",
                           from_stage=last.to_stage, from_status=last.to_status, to_stage=last.to_stage,
                           to_status=last.to_status, reason="旧版记录：王秀英电话告知已履行", created_at=utcnow(),
                           prev_hash=last.hash or GENESIS_HASH, hash="")
        legacy.hash = legacy.compute_hash()  # no digest: the text is in the payload, as before d6f8b0c2e4a7
        db.session.add(legacy)
        db.session.commit()
        legacy_seq = legacy.seq
        reasoned = db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == case_id, CaseEvent.reason_digest.is_not(None)))
        assert reasoned >= 1 and verify_chain()[1] is None
        mediator = db.session.get(User, db.session.get(Case, case_id).mediator_id).username
    assert f"case_event_reasons {reasoned}" in _purge(app, "--dry-run", "--days", "365")
    _purge(app, "--days", "365")
    with app.app_context():
        events = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case_id)
                                    .order_by(CaseEvent.seq)).all()
        purged = [e for e in events[:-1] if e.reason_digest is not None]
        assert len(purged) == reasoned and all(e.reason is None and e.reason_salt is None for e in purged)
        assert [e.reason for e in events if e.seq == legacy_seq] == ["旧版记录：王秀英电话告知已履行"]
        assert events[-1].action == "personal_data_purged" and "365" in events[-1].reason
        checked, broken = verify_chain()
        assert broken is None and checked > 10
    web = make_web()
    web.login(mediator)
    page = web.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "（理由已按保存期限清除）" in page and "旧版记录：王秀英电话告知已履行" in page


def test_an_edited_reason_no_longer_verifies(app, demo):
    with app.app_context():
        event = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.reason_digest.is_not(None))
                                   .order_by(CaseEvent.id).limit(1)).one()
        db.session.execute(sa.update(CaseEvent).where(CaseEvent.id == event.id).values(reason="改过的理由")
                           .execution_options(synchronize_session=False))
        db.session.commit()
        checked, broken = verify_chain()
        assert broken is not None and f"event seq {event.seq} (id {event.id})" in broken
        assert "reason does not match its digest (altered)" in broken


def test_old_consult_questions_lose_their_text_and_keep_the_statistics(app, demo, make_web):
    from app.consult.models import ConsultQuery

    web = make_web()
    web.login("resident1")
    for question in ("邻居王大妈家的狗咬了我孩子", "楼上漏水泡坏天花板"):
        assert web.post("/consult", {"q": question}, page="/consult").status_code == 303
    with app.app_context():
        first = db.session.scalars(sa.select(ConsultQuery).order_by(ConsultQuery.id)).first()
        first.created_at = utcnow() - timedelta(days=181)
        first.resolved = True
        db.session.commit()
    assert "1 consult question text(s) older than 180 days would be purged (dry run)" in _purge(app, "--dry-run")
    assert "1 consult question text(s) older than 180 days purged" in _purge(app)
    with app.app_context():
        old, new = db.session.scalars(sa.select(ConsultQuery).order_by(ConsultQuery.id)).all()
        assert (old.question, old.user_id, old.resolved) == ("（已清除）", None, True) and old.entry_ids
        assert new.question == "楼上漏水泡坏天花板" and new.user_id is not None
    assert "0 consult question text(s)" in _purge(app)
