"""The ORM guard: a signed agreement and every signature stay as they were made.

A before_flush listener refuses, with a readable Chinese DomainError, any UPDATE or DELETE of an Agreement
that was already signed (signed_at set before this flush), any UPDATE or DELETE of an AgreementSignature,
and a new signature on a signed agreement. The database triggers (triggers.py) say the same to raw SQL. A
correction is a new agreement (version n+1, supersedes_id = the signed one) that goes through signing again.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.agreements.models import Agreement, AgreementSignature
from app.core.errors import DomainError
from app.core.i18n import gettext

MESSAGE = "已签署的调解协议及其签名不能修改或删除；如需更正，请起草新的协议版本取代它，并重新签署。"


class SignedAgreementFrozen(DomainError):
    status_code = 409


def _message() -> str:
    try:
        return gettext(MESSAGE)
    except (RuntimeError, KeyError):  # no app or request context (a script): the Chinese original
        return MESSAGE


def _was_signed(agreement: Agreement) -> bool:
    """signed_at as loaded from the database, before any change made in this unit of work."""
    history = sa.inspect(agreement).attrs.signed_at.history
    before = list(history.unchanged or ()) + list(history.deleted or ())
    return any(value is not None for value in before)


def _signed_parent(signature: AgreementSignature, session: Session) -> bool:
    with session.no_autoflush:
        agreement = session.get(Agreement, signature.agreement_id) if signature.agreement_id else None
    return agreement is not None and sa.inspect(agreement).persistent and _was_signed(agreement)


def refuse_changes_to_signed(session: Session, flush_context, instances) -> None:
    for obj in session.dirty:
        modified = session.is_modified(obj, include_collections=False)
        if isinstance(obj, Agreement) and modified and _was_signed(obj):
            raise SignedAgreementFrozen(_message())
        if isinstance(obj, AgreementSignature) and modified:
            raise SignedAgreementFrozen(_message())
    for obj in session.deleted:
        if isinstance(obj, AgreementSignature) or (isinstance(obj, Agreement) and _was_signed(obj)):
            raise SignedAgreementFrozen(_message())
    for obj in session.new:
        if isinstance(obj, AgreementSignature) and _signed_parent(obj, session):
            raise SignedAgreementFrozen(_message())


sa.event.listen(Session, "before_flush", refuse_changes_to_signed)
