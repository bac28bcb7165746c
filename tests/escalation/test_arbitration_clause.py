"""The arbitration agreement signed online (仲裁法 art. 16): proposed by a party once mediation failed, signed by every
party with their name and password; then the applicant may apply for arbitration. Never for family disputes."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.cases.models import Case
from app.cases.rules import RulesError
from app.escalation.clause_rules import parse
from app.escalation.models import ArbitrationClause
from app.extensions import db
from app.mediation.models import OutboxMessage
from tests.cases.test_funnel_journeys import file_dispute, load, step
from tests.mediation.test_invitations import case_with_both_parties

HASH_RE = re.compile(r'name="content_hash"[^>]*value="([0-9a-f]{64})"')


def display_name(app, username):
    with app.app_context():
        return db.session.scalar(sa.select(User.display_name).where(User.username == username))


def failed_mediation(app, make_web):
    """resident1 against resident2 (李建国, who joined), a neighbour dispute whose mediation failed."""
    case_id, applicant, respondent, mediator = case_with_both_parties(app, make_web)
    assert step(mediator, case_id, "record_failure", reason="双方对赔偿金额分歧较大，未能达成协议。").status_code == 302
    return case_id, applicant, respondent


def sign(web, case_id, name, password="jiefen-demo"):
    page = web.get(f"/cases/{case_id}/arbitration").get_data(as_text=True)
    content_hash = HASH_RE.search(page).group(1)
    return web.post(f"/cases/{case_id}/arbitration/clause/sign",
                    {"content_hash": content_hash, "typed_name": name, "password": password})


def signed_agreement(app, make_web):
    """failed_mediation, then both parties sign the agreement online."""
    case_id, applicant, respondent = failed_mediation(app, make_web)
    assert applicant.post(f"/cases/{case_id}/arbitration/clause", page=f"/cases/{case_id}").status_code == 302
    assert sign(applicant, case_id, display_name(app, "resident1")).status_code == 302
    assert sign(respondent, case_id, "李建国").status_code == 302
    return case_id, applicant, respondent


def accepted_arbitration(app, make_web):
    """signed_agreement, then arbitration requested and accepted by arbitrator2 (芜湖仲裁委员会)."""
    case_id, applicant, respondent = signed_agreement(app, make_web)
    assert step(applicant, case_id, "request_arbitration").status_code == 302
    arbitrator = make_web()
    arbitrator.login("arbitrator2")
    assert step(arbitrator, case_id, "accept_arbitration").status_code == 302
    return case_id, applicant, respondent, arbitrator


def test_both_parties_sign_and_the_case_may_go_to_arbitration(app, demo, make_web):
    case_id, applicant, respondent = failed_mediation(app, make_web)
    page = applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "仲裁协议" in page and "提出仲裁协议" in page
    assert "申请仲裁须有双方书面仲裁协议" in page  # the request_arbitration step is greyed with the reason

    assert applicant.post(f"/cases/{case_id}/arbitration/clause", page=f"/cases/{case_id}").status_code == 302
    page = respondent.get(f"/cases/{case_id}/arbitration").get_data(as_text=True)
    assert "双方同意将本纠纷提交芜湖仲裁委员会，按照该会仲裁规则进行仲裁。仲裁裁决是终局的，对双方均有约束力。" in page
    assert "李建国" in page and "楼上漏水殃及我家天花板" in page and "签署仲裁协议" in page

    resp = sign(applicant, case_id, display_name(app, "resident1"), password="wrong-password")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert re.search(r'id="password-error">密码不正确', html)
    resp = sign(respondent, case_id, "张三")
    assert resp.status_code == 422 and "请输入您本人的姓名：李建国" in resp.get_data(as_text=True)

    assert sign(applicant, case_id, display_name(app, "resident1")).status_code == 302
    with app.app_context():
        assert not db.session.get(Case, case_id).has_arbitration_agreement
    assert sign(respondent, case_id, "李 建 国").status_code == 302  # spaces do not matter
    with app.app_context():
        case = db.session.get(Case, case_id)
        clause = db.session.scalar(sa.select(ArbitrationClause).where(ArbitrationClause.case_id == case_id))
        assert case.has_arbitration_agreement
        assert clause.status == "signed" and clause.completed_at is not None and len(clause.signatures) == 2
        assert {s.role for s in clause.signatures} == {"applicant", "respondent"}
        assert all(s.content_hash == clause.content_hash and s.ip_address for s in clause.signatures)
        notes = db.session.scalars(sa.select(OutboxMessage.subject).where(OutboxMessage.case_id == case_id,
                                                                          OutboxMessage.channel == "in_app")).all()
        assert notes.count("仲裁协议已签署完毕") == 2
    assert "arbitration_agreement_signed" in load(app, case_id)[3]
    assert "各方在线签署仲裁协议" in applicant.get(f"/cases/{case_id}").get_data(as_text=True)

    assert step(applicant, case_id, "request_arbitration").status_code == 302
    assert load(app, case_id)[:2] == ("arbitrate", "filed")


def test_a_second_signature_and_an_outsider_are_refused(app, demo, make_web):
    case_id, applicant, respondent = signed_agreement(app, make_web)
    resp = applicant.post(f"/cases/{case_id}/arbitration/clause/sign",
                          {"content_hash": "0" * 64, "typed_name": "x", "password": "jiefen-demo"})
    assert resp.status_code == 409 and "您已签署本仲裁协议" in resp.get_data(as_text=True)
    outsider = make_web()
    outsider.login("grid1")
    assert outsider.get(f"/cases/{case_id}/arbitration").status_code == 404
    assert outsider.post(f"/cases/{case_id}/arbitration/clause", page="/dashboard").status_code == 404


def test_family_cases_never_show_the_agreement_and_refuse_its_urls(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "前夫不付抚养费", "marriage_family", "离婚后前夫八个月没有支付孩子抚养费。")
    page = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "仲裁协议" not in page and "arbitration-panel" not in page
    assert f"/cases/{case_id}/steps/request_arbitration" not in page
    assert resident.post(f"/cases/{case_id}/arbitration/clause", page=f"/cases/{case_id}").status_code == 409
    resp = resident.post(f"/cases/{case_id}/arbitration/clause/sign", {"typed_name": "王秀英", "password": "jiefen-demo"})
    assert resp.status_code == 409 and "依法不能仲裁" in resp.get_data(as_text=True)
    assert resident.get(f"/cases/{case_id}/arbitration").status_code == 409
    assert resident.client.get(f"/cases/{case_id}/arbitration/application.pdf").status_code == 409
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ArbitrationClause)) == 0


def test_labour_cases_need_no_agreement(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "饭店拖欠两个月工资", "labour_wages", "我在饭店做厨师，老板拖欠两个月工资共9000元。",
                           amount="9000")
    page = resident.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "提出仲裁协议" not in page
    assert resident.post(f"/cases/{case_id}/arbitration/clause", page=f"/cases/{case_id}").status_code == 409


@pytest.mark.parametrize("change, error", [
    ({"version": 2}, "version must be 1"),
    ({"text_zh": "双方同意仲裁。{commission}"}, "must contain"),
    ({"text_zh": "{commission}{applicants}{respondents}{dispute}{who}仲裁"}, "unknown placeholders"),
    ({"title_zh": ""}, "title_zh"),
])
def test_the_template_file_is_validated(app, change, error):
    import yaml

    with open(f"{app.config['RULES_DIR']}/arbitration_clause.yaml", encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    parse(data)  # the shipped file is valid
    with pytest.raises(RulesError, match=error):
        parse({**data, **change})
