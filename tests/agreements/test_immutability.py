"""A signed agreement and its signatures cannot change: the ORM guard says so in Chinese, the database triggers refuse
raw SQL (SQLite and PostgreSQL); a correction is a new version that supersedes it once signed."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.agreements import drafting, signing
from app.agreements.content import current_agreement
from app.agreements.guards import MESSAGE
from app.agreements.models import Agreement, AgreementSignature
from app.cases.models import Case
from app.core.errors import DomainError
from app.demo import SIGNED_AGREEMENT_CASE
from app.extensions import db


def _signed(app):
    """The demo's signed agreement: (case id, agreement id, a signature id)."""
    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.title == SIGNED_AGREEMENT_CASE))
        agreement = db.session.scalar(sa.select(Agreement).where(Agreement.case_id == case_id))
        assert agreement.status == "signed" and agreement.signed_at is not None
        out = case_id, agreement.id, agreement.signatures[0].id
        db.session.remove()
    return out


def _state(app, agreement_id):
    with app.app_context():
        a = db.session.get(Agreement, agreement_id)
        out = (a.status, a.facts, a.content_hash, [(s.typed_name, s.ip_address) for s in a.signatures])
        db.session.remove()
    return out


@pytest.mark.parametrize("change", ["facts", "status", "delete"])
def test_the_orm_refuses_to_change_a_signed_agreement(app, demo, change):
    _, agreement_id, _ = _signed(app)
    before = _state(app, agreement_id)
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        if change == "facts":
            agreement.facts = "篡改后的事实"
        elif change == "status":
            agreement.status = "superseded"
        else:
            db.session.delete(agreement)
        with pytest.raises(DomainError) as exc:
            db.session.flush()
        assert exc.value.message == MESSAGE and "已签署的调解协议" in exc.value.message
        db.session.rollback()
        db.session.remove()
    assert _state(app, agreement_id) == before


@pytest.mark.parametrize("change", ["update", "delete", "add"])
def test_the_orm_refuses_to_change_a_signature(app, demo, change):
    _, agreement_id, signature_id = _signed(app)
    before = _state(app, agreement_id)
    with app.app_context():
        signature = db.session.get(AgreementSignature, signature_id)
        if change == "update":
            signature.typed_name = "别人"
        elif change == "delete":
            db.session.delete(signature)
        else:  # one more signature on a signed agreement
            db.session.add(AgreementSignature(agreement_id=agreement_id, user_id=signature.user_id + 1000,
                                              role="applicant", method="typed", typed_name="别人",
                                              content_hash=signature.content_hash))
        with pytest.raises(DomainError, match="已签署的调解协议及其签名不能修改或删除"):
            db.session.flush()
        db.session.rollback()
        db.session.remove()
    assert _state(app, agreement_id) == before


@pytest.mark.parametrize("sql", [
    "UPDATE agreements SET facts = 'x' WHERE id = :id",
    "UPDATE agreements SET signed_at = NULL, status = 'draft' WHERE id = :id",
    "DELETE FROM agreements WHERE id = :id",
    "UPDATE agreement_signatures SET typed_name = 'x' WHERE agreement_id = :id",
    "DELETE FROM agreement_signatures WHERE agreement_id = :id",
])
def test_the_database_refuses_raw_sql(app, demo, sql):
    _, agreement_id, _ = _signed(app)
    before = _state(app, agreement_id)
    with app.app_context():
        with pytest.raises(sa.exc.DBAPIError) as exc:
            with db.engine.begin() as conn:
                conn.execute(sa.text(sql), {"id": agreement_id})
        assert "signed agreements and signatures cannot be changed" in str(exc.value)
        db.session.remove()
    assert _state(app, agreement_id) == before


def test_a_correction_is_a_new_version_that_supersedes_the_signed_one_once_signed(app, demo):
    case_id, agreement_id, _ = _signed(app)
    with app.app_context():
        case = db.session.get(Case, case_id)
        signed = db.session.get(Agreement, agreement_id)
        data = drafting.editor_start(case)
        data.facts += "\n（更正：补充车位编号 B-117。）"
        data.change_note = "补充车位编号。"
        correction = drafting.save(case, case.mediator, data)
        assert (correction.version, correction.supersedes_id, correction.status) == (2, agreement_id, "draft")
        assert signed.status == "signed"  # untouched
        assert current_agreement(case).id == agreement_id  # in force until the correction is signed
        drafting.send_for_signing(case, case.mediator)
        assert current_agreement(case).id == agreement_id
        for user in [p.user for p in signing.party_signers(case)] + [case.mediator]:
            signing.sign(case, user, correction, method="typed", typed_name=user.display_name, image_png=None,
                         seen_hash=correction.content_hash, ip_address="127.0.0.1", request_pdf=False)
        db.session.commit()
        assert correction.status == "signed" and current_agreement(case).id == correction.id
        assert correction.content_hash != signed.content_hash
        assert [d["kind"] for d in drafting.differences(signed, correction)] == ["added"]
        db.session.remove()
    assert _state(app, agreement_id)[0] == "signed"
