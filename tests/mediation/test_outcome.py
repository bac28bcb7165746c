"""The outcome of mediation: an agreement draft from the accepted offers, or the reason and next options."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from app.accounts.models import User
from app.cases.rules import current_rules
from app.core.time import utcnow
from app.extensions import db
from app.mediation.record_models import AgreementDraft
from app.mediation.room_models import Offer
from tests.cases.test_funnel_journeys import file_dispute, load, mediator_of, step

PANEL_RE = re.compile(r'<section class="card outcome-panel".*?</section>', re.S)


def _in_mediation(app, make_web, title, category, description):
    applicant, mediator = make_web(), make_web()
    applicant.login("resident1")
    case_id = file_dispute(applicant, title, category, description)
    assert step(applicant, case_id, "request_mediation").status_code == 302
    assert load(app, case_id)[:2] == ("mediate", "in_progress")
    mediator.login(mediator_of(app, case_id))
    return case_id, applicant, mediator


def _offer(app, case_id, status, **fields):
    with app.app_context():
        made_by = db.session.scalar(sa.select(User.id).where(User.username == "resident2"))
        offer = Offer(case_id=case_id, room="joint", made_by_id=made_by, side="respondent", status=status,
                      decided_at=None if status == "open" else utcnow(), **fields)
        db.session.add(offer)
        db.session.commit()
        offer_id = offer.id
        db.session.remove()
    return offer_id


def _panel(web, case_id) -> str:
    m = PANEL_RE.search(web.get(f"/cases/{case_id}").get_data(as_text=True))
    assert m, "no outcome panel on the case page"
    return m.group(0)


def _drafts(app, case_id):
    with app.app_context():
        rows = [(d.terms, d.offer_ids) for d in
                db.session.scalars(sa.select(AgreementDraft).where(AgreementDraft.case_id == case_id))]
        db.session.remove()
    return rows


def test_settlement_drafts_the_agreement_from_the_accepted_offers(app, demo, make_web):
    case_id, applicant, mediator = _in_mediation(app, make_web, "楼上漏水殃及我家天花板", "neighbour",
                                                 "楼上卫生间漏水，我家天花板发霉，协商无果。")
    accepted = _offer(app, case_id, "accepted", amount=Decimal("5000"), pay_by=date(2026, 12, 31),
                      apology=True)
    split = _offer(app, case_id, "accepted", amount=Decimal("1200.5"), instalments=3, other_terms="修好防水层")
    _offer(app, case_id, "rejected", amount=Decimal("800"))
    assert "outcome-panel" not in applicant.get(f"/cases/{case_id}").get_data(as_text=True)

    assert step(mediator, case_id, "record_settlement", reason="双方就赔偿和维修达成一致。").status_code == 302
    [(terms, offer_ids)] = _drafts(app, case_id)
    assert offer_ids == [accepted, split]
    assert terms[0] == {"offer_id": accepted, "made_by_side": "respondent", "made_by": "李建国",
                        "payer": "respondent", "payee": "applicant", "amount": "5000.00", "instalments": None,
                        "pay_by": "2026-12-31", "apology": True, "other_terms": None}
    panel = _panel(applicant, case_id)
    assert "调解结果：调解成功" in panel and "双方就赔偿和维修达成一致。" in panel
    assert "被申请人于2026年12月31日前一次性支付申请人人民币 5,000.00 元；被申请人向申请人赔礼道歉。" in panel
    assert "被申请人分 3 期支付申请人人民币 1,200.50 元；其他约定：修好防水层。" in panel
    assert "调解协议将依据以上条款起草" in panel
    assert "800" not in panel  # the rejected offer is not a term


def test_settlement_without_accepted_offers_leaves_the_terms_to_write(app, demo, make_web):
    case_id, applicant, mediator = _in_mediation(app, make_web, "邻居空调外机噪音扰民", "neighbour",
                                                 "邻居家空调外机正对我家卧室窗户，夜间噪音很大，协商无果。")
    _offer(app, case_id, "open", amount=Decimal("300"))
    assert step(mediator, case_id, "record_settlement", reason="邻居同意移位外机。").status_code == 302
    assert _drafts(app, case_id) == [([], [])]
    assert "调解员将在起草调解协议时写明协议条款" in _panel(applicant, case_id)


def test_a_failed_labour_mediation_points_to_labour_arbitration(app, demo, make_web):
    case_id, applicant, mediator = _in_mediation(app, make_web, "饭店拖欠两个月工资", "labour_wages",
                                                 "我在镇上饭店做厨师，老板拖欠两个月工资共九千元。")
    assert step(mediator, case_id, "record_failure", reason="用人单位拒绝支付。").status_code == 302
    panel = _panel(applicant, case_id)
    assert "调解结果：调解未成" in panel and "用人单位拒绝支付。" in panel
    assert "劳动仲裁" in panel and "劳动人事争议仲裁委员会" in panel
    assert "对劳动仲裁裁决不服的" in panel and "下一步" in panel
    assert _drafts(app, case_id) == []


def test_a_failed_family_mediation_offers_no_arbitration(app, demo, make_web):
    with app.app_context():
        assert current_rules().category("marriage_family").arbitration == "none"
    case_id, applicant, mediator = _in_mediation(app, make_web, "离婚后孩子抚养费一直不给", "marriage_family",
                                                 "我与前夫离婚时约定他每月支付孩子抚养费1500元，已经八个月没有支付。")
    assert step(mediator, case_id, "record_failure", reason="对方拒绝支付抚养费。").status_code == 302
    panel = _panel(applicant, case_id)
    assert "对方拒绝支付抚养费。" in panel and "向人民法院起诉" in panel
    assert "仲裁" not in panel


def test_arbitration_is_offered_only_with_an_arbitration_agreement(app, demo, make_web):
    case_id, applicant, mediator = _in_mediation(app, make_web, "装修合同工期延误", "contract",
                                                 "装修公司约定60天完工，实际拖延了45天，合同约定违约金每天100元。")
    assert step(mediator, case_id, "record_failure", reason="双方对违约金分歧较大。").status_code == 302
    assert "仲裁" not in _panel(applicant, case_id)
    with app.app_context():
        from app.cases.models import Case

        db.session.get(Case, case_id).has_arbitration_agreement = True
        db.session.commit()
        db.session.remove()
    panel = _panel(applicant, case_id)
    assert "申请仲裁" in panel and "一裁终局" in panel
