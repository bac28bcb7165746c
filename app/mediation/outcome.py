"""The outcome of mediation. Settled: an agreement draft prefilled from the accepted offers (a funnel
listener). Not settled: the reason and the parties' next options, from the category's rules. Never commits."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from app.accounts.models import User
from app.cases.models import Case, CaseEvent, CaseStatus, PartyRole, Stage
from app.cases.rules import current_rules
from app.cases.signals import case_transitioned
from app.core.i18n import gettext, is_english
from app.core.time import utcnow
from app.extensions import db
from app.mediation.record_models import AgreementDraft
from app.mediation.room_models import Offer


# --- settled: the draft ------------------------------------------------------------------------
def accepted_offers(case: Case) -> list[Offer]:
    return db.session.scalars(sa.select(Offer).where(Offer.case_id == case.id, Offer.status == "accepted")
                              .order_by(Offer.created_at, Offer.id)).all()


def term_from_offer(offer: Offer) -> dict:
    """One term of the draft as plain JSON. The respondent pays the applicant, who brought the claim."""
    return {"offer_id": offer.id, "made_by_side": offer.side, "made_by": offer.made_by.display_name,
            "payer": PartyRole.respondent.value, "payee": PartyRole.applicant.value,
            "amount": f"{offer.amount:.2f}" if offer.amount is not None else None,
            "instalments": offer.instalments, "pay_by": offer.pay_by.isoformat() if offer.pay_by else None,
            "apology": bool(offer.apology), "other_terms": (offer.other_terms or "").strip() or None}


def draft_for(case: Case) -> AgreementDraft | None:
    return db.session.scalar(sa.select(AgreementDraft).where(AgreementDraft.case_id == case.id)
                             .order_by(AgreementDraft.id.desc()).limit(1))


def create_draft(case: Case, actor: User | None) -> AgreementDraft:
    """The agreement draft of a settled case: one term per accepted offer (none: an empty list to fill in)."""
    existing = draft_for(case)
    if existing is not None:
        return existing
    offers = accepted_offers(case)
    draft = AgreementDraft(case_id=case.id, terms=[term_from_offer(o) for o in offers],
                           offer_ids=[o.id for o in offers],
                           created_by_id=actor.id if actor else case.mediator_id, created_at=utcnow())
    db.session.add(draft)
    db.session.flush()
    return draft


def _on_transition(case: Case, transition=None, actor=None, event=None, **_) -> None:
    if transition is not None and transition.action == "record_settlement":
        create_draft(case, actor)


case_transitioned.connect(_on_transition, weak=False)


# --- phrasing terms ------------------------------------------------------------------------------
def _role(value: str) -> str:
    return PartyRole(value).label.lower() if is_english() else PartyRole(value).label


def _date(iso: str) -> str:
    d = date.fromisoformat(iso)
    return d.strftime("%d %B %Y") if is_english() else f"{d.year}年{d.month}月{d.day}日"


def _payment(term: dict) -> str | None:
    if not term.get("amount"):
        return None
    values = {"payer": _role(term["payer"]), "payee": _role(term["payee"]),
              "amount": f"{Decimal(term['amount']):,.2f}", "n": term.get("instalments") or 1}
    split = (term.get("instalments") or 1) > 1
    if term.get("pay_by"):
        values["date"] = _date(term["pay_by"])
        if split:
            return gettext("%(payer)s于%(date)s前分 %(n)s 期支付%(payee)s人民币 %(amount)s 元", **values)
        return gettext("%(payer)s于%(date)s前一次性支付%(payee)s人民币 %(amount)s 元", **values)
    if split:
        return gettext("%(payer)s分 %(n)s 期支付%(payee)s人民币 %(amount)s 元", **values)
    return gettext("%(payer)s一次性支付%(payee)s人民币 %(amount)s 元", **values)


def phrase_term(term: dict) -> str:
    """A draft term in plain words, e.g. "被申请人于2026年12月31日前一次性支付申请人人民币 5,000.00 元"."""
    parts = [_payment(term)]
    if term.get("apology"):
        parts.append(gettext("%(payer)s向%(payee)s赔礼道歉", payer=_role(term["payer"]),
                             payee=_role(term["payee"])))
    if term.get("other_terms"):
        parts.append(gettext("其他约定：%(terms)s", terms=term["other_terms"]))
    text = gettext("；").join(p for p in parts if p)
    return text + gettext("。") if text else gettext("（此方案没有具体条款）")


# --- not settled: the next options ------------------------------------------------------------------
def _last_event(case: Case, action: str) -> CaseEvent | None:
    return db.session.scalar(sa.select(CaseEvent)
                             .where(CaseEvent.case_id == case.id, CaseEvent.action == action)
                             .order_by(CaseEvent.seq.desc()).limit(1))


def next_options(case: Case) -> list[dict]:
    """What the parties can do after a failed mediation: kind and text, in the order to consider them."""
    cat = current_rules().category(case.category)
    options = []
    if cat is not None and cat.arbitration == "statutory":
        options.append({"kind": "labour_arbitration", "text": gettext(
            "申请劳动仲裁：劳动争议须先向劳动人事争议仲裁委员会申请仲裁，不收费；申请仲裁的时效为一年，"
            "自知道或应当知道权利被侵害之日起计算（《劳动争议调解仲裁法》第五条、第二十七条）。")})
        options.append({"kind": "litigation", "text": gettext(
            "向人民法院起诉：对劳动仲裁裁决不服的，可以自收到裁决书之日起十五日内向人民法院起诉。")})
        return options
    if cat is not None and cat.arbitration == "agreement" and case.has_arbitration_agreement:
        options.append({"kind": "arbitration", "text": gettext(
            "申请仲裁：双方有书面仲裁协议，可以向仲裁委员会申请仲裁；仲裁实行一裁终局（《仲裁法》第四条、第九条）。")})
        options.append({"kind": "litigation", "text": gettext(
            "向人民法院起诉：仲裁协议无效或未约定仲裁事项的，可以向有管辖权的人民法院起诉。")})
        return options
    options.append({"kind": "litigation", "text": gettext(
        "向人民法院起诉：可以向有管辖权的人民法院起诉；诉讼时效一般为三年（《民法典》第一百八十八条）。")})
    return options


def panel(case: Case) -> dict | None:
    """What the outcome panel on the case page shows, or None while mediation has no outcome."""
    if case.status == CaseStatus.settled and _last_event(case, "record_settlement") is not None:
        event = _last_event(case, "record_settlement")
        draft = draft_for(case)
        terms = [phrase_term(t) for t in (draft.terms if draft else [])]
        return {"kind": "settled", "reason": event.reason, "terms": terms, "has_draft": draft is not None}
    if case.stage == Stage.mediate and case.status == CaseStatus.failed:
        event = _last_event(case, "record_failure")
        return {"kind": "failed", "reason": event.reason if event else None, "options": next_options(case)}
    return None
