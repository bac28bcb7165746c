"""A copy of the personal information we hold about a user (PIPL art. 45: access and copy; its third paragraph,
portability, is why it is JSON): the account, logins, consents, their disputes with their own details whole and
other people's numbers masked, evidence (names and hashes: the files are on the case pages), consult questions,
messages, and who was shown their full numbers, when and why (the reveal log). Reads only."""
from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from app.accounts.models import Organisation, Role, User, UserSession
from app.api.models import ApiToken
from app.cases.models import Case, CaseEvent, CaseParty, EvidenceFile
from app.consult.models import ConsultQuery
from app.core.i18n import gettext
from app.core.time import utcnow
from app.extensions import db
from app.mediation.models import OutboxMessage
from app.privacy.consent_models import ConsentRecord
from app.privacy.reveal import reason_label
from app.privacy.reveal_models import PiiReveal

log = logging.getLogger(__name__)
FORMAT = "jiefen-personal-data/1"


def _value(v):
    if isinstance(v, datetime):
        return v.isoformat(timespec="seconds") + ("Z" if v.tzinfo is None else "")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return getattr(v, "value", v)  # enums as their codes


def _row(obj, *names) -> dict:
    return {name: _value(getattr(obj, name)) for name in names}


def personal_data(user: User) -> dict:
    """Everything in the copy, as JSON-ready values."""
    cases = list(db.session.scalars(sa.select(Case).where(Case.visible_to(user)).order_by(Case.id)))
    data = {
        "format": FORMAT,
        "generated_at": _value(utcnow()),
        "account": _row(user, "username", "display_name", "role", "phone", "phone_verified_at", "email", "region_code",
                        "created_at"),
        "logins": [_row(s, "created_at", "last_seen_at", "ended_at", "end_reason", "ip_address", "user_agent")
                   for s in db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id)
                                               .order_by(UserSession.id))],
        "consents": [_row(c, "version", "purposes", "method", "accepted_at", "withdrawn_at", "ip")
                     for c in db.session.scalars(sa.select(ConsentRecord).where(ConsentRecord.user_id == user.id)
                                                 .order_by(ConsentRecord.id))],
        "disputes": [_case(case, user) for case in cases],
        "consult_questions": [_row(q, "question", "created_at")
                              for q in db.session.scalars(sa.select(ConsultQuery).where(ConsultQuery.user_id == user.id)
                                                          .order_by(ConsultQuery.id))],
        "messages": [{"subject": m.subject, "body": m.body, "created_at": _value(m.created_at),
                      "read_at": _value(m.sent_at)}
                     for m in db.session.scalars(sa.select(OutboxMessage).where(
                         OutboxMessage.channel == "in_app", OutboxMessage.to == str(user.id)).order_by(OutboxMessage.id))],
        "number_reveals": _reveals(user, cases),
    }
    log.info("personal data copy for user %s: %s disputes", user.id, len(cases))
    return data


def _case(case: Case, user: User) -> dict:
    out = _row(case, "id", "title", "stage", "status", "category", "amount", "description", "desired_outcome",
               "began_on", "learned_on", "region_code", "created_at", "closed_at")
    out["parties"] = [_party(p, user) for p in case.parties]
    out["events"] = [_row(e, "seq", "action", "to_stage", "to_status", "created_at")
                     | {"by_me": e.actor_id == user.id, "reason": e.reason if e.actor_id == user.id else None}
                     for e in db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id)
                                                 .order_by(CaseEvent.seq))]
    out["evidence"] = [_row(f, "original_name", "content_type", "size_bytes", "sha256", "description", "created_at")
                       | {"uploaded_by_me": f.uploaded_by_id == user.id}
                       for f in db.session.scalars(sa.select(EvidenceFile).where(EvidenceFile.case_id == case.id)
                                                   .order_by(EvidenceFile.id))]
    return out


def _party(party: CaseParty, user: User) -> dict:
    """The user's own party record whole; another person's name as on the case page, their numbers masked."""
    own = party.is_own(user)
    out = _row(party, "role", "kind", "name") | {"me": own, "phone": party.phone_for(user),
                                                 "id_number": party.id_number_for(user)}
    if own:
        out |= _row(party, "region_code", "address", "email")
    return out


def _reveals(user: User, cases: list[Case]) -> list[dict]:
    """Every time a member of staff, or a court's system through the court API, was shown the full phone or ID number
    of one of the user's own party records: who (in words, in the request's language), when and why."""
    own_party_ids = [p.id for case in cases for p in case.parties if p.is_own(user)]
    if not own_party_ids:
        return []
    rows = list(db.session.scalars(sa.select(PiiReveal).where(PiiReveal.party_id.in_(own_party_ids))
                                   .options(sa.orm.joinedload(PiiReveal.api_token).joinedload(ApiToken.organisation))
                                   .order_by(PiiReveal.id)))
    org_ids = {r.organisation_id for r in rows if r.organisation_id}
    names = {org_id: name for org_id, name in db.session.execute(
        sa.select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids)))} if org_ids else {}
    return [_row(r, "case_id", "field", "role", "reason_code", "created_at")
            | {"organisation": names.get(r.organisation_id), "reason": reason_label(r.reason_code)} | _seen_by(r)
            for r in rows]


def _seen_by(reveal: PiiReveal) -> dict:
    """Who saw the number: a member of staff (by role; their name is not part of the copy) or a court's system (the
    court and the name of the access credential it used)."""
    token = reveal.api_token
    if token is None:
        role = reveal.role
        if role in {r.value for r in Role}:
            role = Role(role).label
        return {"seen_by": gettext("工作人员（%(role)s）", role=role), "court": None, "api_token": None}
    court = token.organisation.name
    return {"seen_by": gettext("%(court)s的系统“%(token)s”（通过法院接口）", court=court, token=token.name),
            "court": court, "api_token": token.name}
