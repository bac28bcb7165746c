"""`flask seed-demo` includes a case whose agreement both parties (typed names) and the mediator have signed, and
prints its id; running it again changes nothing."""
from __future__ import annotations

import re

import sqlalchemy as sa

from app.agreements.content import current_agreement, pdf_data
from app.agreements.models import Agreement, AgreementSignature
from app.agreements.signing import signature_lines
from app.cases.models import Case
from app.extensions import db

LINE_RE = re.compile(r"^Case with a fully signed agreement: (\d+)$", re.M)


def test_seed_demo_prints_a_case_whose_agreement_everyone_signed(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Demo data created." in first.output and "resident1" in first.output  # the existing output is kept
    case_id = int(LINE_RE.search(first.output).group(1))
    with app.app_context():
        case = db.session.get(Case, case_id)
        agreement = current_agreement(case)
        assert agreement is not None and agreement.status == "signed" and agreement.signed_at is not None
        lines = signature_lines(case, agreement)
        assert [(line.role, line.signature.method) for line in lines] == [
            ("applicant", "typed"), ("respondent", "typed"), ("mediator", "typed")]
        data = pdf_data(agreement)
        assert [s["role"] for s in data["signatures"]] == ["申请人", "被申请人", "调解员"]
        assert data["organisation"]["seal_png"].startswith("data:image/png;base64,")
        assert data["signed_on"].endswith("日") and data["content_hash"] == agreement.content_hash
        counts = (db.session.scalar(sa.select(sa.func.count()).select_from(Agreement)),
                  db.session.scalar(sa.select(sa.func.count()).select_from(AgreementSignature)))
        db.session.remove()
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and int(LINE_RE.search(second.output).group(1)) == case_id
    with app.app_context():
        assert (db.session.scalar(sa.select(sa.func.count()).select_from(Agreement)),
                db.session.scalar(sa.select(sa.func.count()).select_from(AgreementSignature))) == counts == (1, 3)
        db.session.remove()


def test_pdf_data_is_plain(app, demo):
    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.title == "车位被邻居长期占用"))
        data = pdf_data(current_agreement(case))
        db.session.remove()

    def plain(value):
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or type(value) in (str, int)

    assert plain(data)
    assert data["title"] == "人民调解协议书" and re.fullmatch(r"解纷调字〔\d{4}〕第\d+号", data["number"])
    assert [p["role"] for p in data["parties"]] == ["申请人", "被申请人"]
    assert data["parties"][0]["name"] == "王秀英" and data["parties"][0]["kind"] == "个人"
    assert data["mediator"]["name"] == "张桂兰" and data["organisation"]["name"] == "团结社区人民调解委员会"
    assert any("排除妨碍" in t for t in data["terms"]) and data["version"] == 1
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", s["signed_at"]) for s in data["signatures"])
