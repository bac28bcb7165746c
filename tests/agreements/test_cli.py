"""`flask agreements export CASE_ID OUT.pdf` and `flask agreements list [--signed]`."""
from __future__ import annotations

import hashlib

import sqlalchemy as sa

from app.agreements.models import AgreementPdf
from app.extensions import db
from tests.agreements.test_pdf import add_signed_agreement, pdf_state, pdf_tools, signed_case
from tests.mediation.test_record import case_with_both_parties


def test_export_writes_the_stored_signed_pdf(app, demo, make_web, tmp_path):
    case_id, agreement_id, *_ = signed_case(app, make_web)
    out = tmp_path / "out.pdf"
    result = app.test_cli_runner().invoke(args=["agreements", "export", str(case_id), str(out)])
    assert result.exit_code == 0, result.output
    assert hashlib.sha256(out.read_bytes()).hexdigest() == pdf_state(app, agreement_id)["sha256"]
    assert pdf_state(app, agreement_id)["sha256"] in result.output


def test_export_renders_and_signs_when_no_pdf_exists_yet(app, demo, make_web, tmp_path):
    case_id, applicant, respondent, mediator = case_with_both_parties(app, make_web)
    agreement_id = add_signed_agreement(app, case_id)  # signed, but nobody asked for the PDF
    assert pdf_state(app, agreement_id) is None
    out = tmp_path / "fresh.pdf"
    result = app.test_cli_runner().invoke(args=["agreements", "export", str(case_id), str(out)])
    assert result.exit_code == 0, result.output
    state = pdf_state(app, agreement_id)
    assert state["status"] == "done" and hashlib.sha256(out.read_bytes()).hexdigest() == state["sha256"]
    text, _, _ = pdf_tools(out.read_bytes(), tmp_path)
    assert "人民调解协议书" in text.replace(" ", "") and "王秀英" in text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AgreementPdf)) == 1
        db.session.remove()


def test_export_refuses_a_case_without_a_signed_agreement(app, demo, make_web, tmp_path):
    case_id, *_ = case_with_both_parties(app, make_web)
    out = tmp_path / "none.pdf"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["agreements", "export", str(case_id), str(out)])
    assert result.exit_code == 1 and "没有已全部签署的调解协议" in result.output and not out.exists()
    result = runner.invoke(args=["agreements", "export", "999999", str(out)])
    assert result.exit_code == 1 and "不存在" in result.output


def test_list_signed_prints_one_case_id_per_line(app, demo, make_web):
    from app.agreements.models import Agreement

    signed_id, *_ = signed_case(app, make_web)
    with app.app_context():  # a second case with only a draft
        from app.cases.models import Case

        other = db.session.scalar(sa.select(Case).where(Case.id != signed_id, Case.mediator_id.is_not(None))
                                  .order_by(Case.id).limit(1))
        db.session.add(Agreement(case_id=other.id, version=1, status="draft", facts="事实", responsibility="责任",
                                 terms=[], performance="履行", created_by_id=other.mediator_id))
        db.session.commit()
        other_id = other.id
        db.session.remove()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["agreements", "list", "--signed"])
    with app.app_context():  # the demo has a signed agreement of its own
        expected = sorted(db.session.scalars(sa.select(Agreement.case_id).where(Agreement.status == "signed")))
        db.session.remove()
    assert result.exit_code == 0 and result.output.split() == [str(i) for i in expected]
    assert str(signed_id) in result.output.split() and str(other_id) not in result.output.split()
    everything = runner.invoke(args=["agreements", "list"]).output.splitlines()
    assert f"{signed_id}\tsigned\tv1" in everything and f"{other_id}\tdraft\tv1" in everything
