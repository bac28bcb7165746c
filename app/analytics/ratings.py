"""Satisfaction ratings: each party with an account rates a closed case once (1-5, optional comment)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.analytics.models import SatisfactionRating
from app.cases.models import Case, Stage
from app.core.errors import DomainError
from app.core.i18n import N_, gettext
from app.extensions import db

NOT_PARTY = N_("只有案件当事人可以评价本案的办理。")
NOT_CLOSED = N_("案件办结后才能评价。")
ALREADY_RATED = N_("您已经评价过本案，每位当事人只能评价一次。")


def is_rating_party(case: Case, user: User) -> bool:
    """A party of the case with their own account (not someone who filed on their behalf)."""
    return user.is_authenticated and any(p.user_id == user.id for p in case.parties)


def rating_of(case: Case, user: User) -> SatisfactionRating | None:
    """The rating user gave this case, if any."""
    return db.session.scalar(sa.select(SatisfactionRating).where(SatisfactionRating.case_id == case.id,
                                                                 SatisfactionRating.user_id == user.id))


def may_rate(case: Case, user: User) -> bool:
    """A party of a closed case who has not rated it yet."""
    return case.stage == Stage.closed and is_rating_party(case, user) and rating_of(case, user) is None


def rate_case(case: Case, user: User, score: int, comment: str | None) -> SatisfactionRating:
    """Store user's rating of case; refused (DomainError) for non-parties, open cases and a second rating."""
    check_may_rate(case, user)
    if not 1 <= score <= 5:
        raise DomainError(gettext("请选择 1 到 5 分。"), 422)
    rating = SatisfactionRating(case_id=case.id, user_id=user.id, score=score, comment=(comment or "").strip() or None)
    try:
        with db.session.begin_nested():  # two tabs submitting at once: the unique constraint decides
            db.session.add(rating)
            db.session.flush()
    except IntegrityError:
        raise DomainError(gettext(ALREADY_RATED), 409) from None
    return rating


def check_may_rate(case: Case, user: User) -> None:
    """Refuse (DomainError) a rating from a non-party, on an open case, or a second one."""
    if not is_rating_party(case, user):
        raise DomainError(gettext(NOT_PARTY), 403)
    if case.stage != Stage.closed:
        raise DomainError(gettext(NOT_CLOSED), 409)
    if rating_of(case, user) is not None:
        raise DomainError(gettext(ALREADY_RATED), 409)
