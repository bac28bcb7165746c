"""Satisfaction ratings: a party of a closed case rates it once on the case page; nobody else can."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.analytics import ratings
from app.analytics.models import SatisfactionRating
from app.cases.models import Case
from app.core.errors import DomainError
from app.extensions import db

SETTLED = "车位被邻居长期占用"        # closed (settled): resident1 against resident2, mediator1
WITHDRAWN = "网购家电质量问题"        # closed (withdrawn): resident1 against a shop without an account
OPEN = "楼上卫生间漏水泡坏我家天花板"   # in mediation: resident1 against resident2


def case_id(app, title: str) -> int:
    with app.app_context():
        cid = db.session.scalar(sa.select(Case.id).where(Case.title == title))
        db.session.remove()
    return cid


def stored(app) -> list[tuple[str, int, int, str | None]]:
    with app.app_context():
        rows = db.session.execute(sa.select(User.username, SatisfactionRating.case_id, SatisfactionRating.score,
                                            SatisfactionRating.comment).join(User, User.id == SatisfactionRating.user_id)
                                  .order_by(SatisfactionRating.id)).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def logged_in(make_web, username):
    web = make_web()
    web.login(username)
    return web


def test_a_party_rates_a_closed_case_once(app, demo, make_web):
    cid = case_id(app, SETTLED)
    resident = logged_in(make_web, "resident1")
    page = resident.get(f"/cases/{cid}").get_data(as_text=True)
    assert "服务评价" in page and "5 分：非常满意" in page and "提交评价" in page

    resp = resident.post(f"/cases/{cid}/rating", {"score": "4", "comment": "调解员很耐心"}, page=f"/cases/{cid}")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/cases/{cid}#rating"
    page = resident.get(f"/cases/{cid}").get_data(as_text=True)
    assert "感谢您的评价！" in page
    assert "评价：4 分（满分 5 分）" in page and "调解员很耐心" in page and "提交评价" not in page

    again = resident.post(f"/cases/{cid}/rating", {"score": "1"}, page=f"/cases/{cid}")
    assert again.status_code == 409
    assert "您已经评价过本案，每位当事人只能评价一次。" in again.get_data(as_text=True)
    assert stored(app) == [("resident1", cid, 4, "调解员很耐心")]


def test_the_respondent_with_an_account_rates_too_and_the_comment_is_optional(app, demo, make_web):
    cid = case_id(app, SETTLED)
    respondent = logged_in(make_web, "resident2")
    assert "提交评价" in respondent.get(f"/cases/{cid}").get_data(as_text=True)
    resp = respondent.post(f"/cases/{cid}/rating", {"score": "2", "comment": "  "}, page=f"/cases/{cid}")
    assert resp.status_code == 302
    assert stored(app) == [("resident2", cid, 2, None)]


@pytest.mark.parametrize("user", ["mediator1", "orgadmin1", "admin"])
def test_those_who_see_the_case_but_are_not_parties_cannot_rate(user, app, demo, make_web):
    cid = case_id(app, SETTLED)
    web = logged_in(make_web, user)
    page = web.get(f"/cases/{cid}").get_data(as_text=True)
    assert "服务评价" not in page
    resp = web.post(f"/cases/{cid}/rating", {"score": "5"}, page=f"/cases/{cid}")
    assert resp.status_code == 403
    assert "只有案件当事人可以评价本案的办理。" in resp.get_data(as_text=True)
    assert stored(app) == []


def test_a_stranger_gets_404(app, demo, make_web):
    cid = case_id(app, WITHDRAWN)  # resident2 is no party to the shop case
    web = logged_in(make_web, "resident2")
    resp = web.post(f"/cases/{cid}/rating", {"score": "5"}, page="/my/cases")
    assert resp.status_code == 404
    assert stored(app) == []


def test_an_open_case_cannot_be_rated_yet(app, demo, make_web):
    cid = case_id(app, OPEN)
    resident = logged_in(make_web, "resident1")
    assert "服务评价" not in resident.get(f"/cases/{cid}").get_data(as_text=True)
    resp = resident.post(f"/cases/{cid}/rating", {"score": "5"}, page=f"/cases/{cid}")
    assert resp.status_code == 409 and "案件办结后才能评价。" in resp.get_data(as_text=True)
    assert stored(app) == []


@pytest.mark.parametrize("data, message", [
    ({}, "请选择 1 到 5 分。"),
    ({"score": "9"}, "请选择 1 到 5 分。"),
    ({"score": "0"}, "请选择 1 到 5 分。"),
    ({"score": "3", "comment": "长" * 1001}, "最多 1000 字。"),
])
def test_a_bad_rating_is_refused_with_its_reason(data, message, app, demo, make_web):
    cid = case_id(app, WITHDRAWN)  # a withdrawn case is closed too: the applicant may rate it
    resident = logged_in(make_web, "resident1")
    resp = resident.post(f"/cases/{cid}/rating", data, page=f"/cases/{cid}")
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert stored(app) == []
    assert resident.post(f"/cases/{cid}/rating", {"score": "3"}, page=f"/cases/{cid}").status_code == 302
    assert stored(app) == [("resident1", cid, 3, None)]


def test_rate_case_operation_refuses_a_second_rating(app, demo, ctx):
    case = db.session.scalar(sa.select(Case).where(Case.title == SETTLED))
    resident = db.session.scalar(sa.select(User).where(User.username == "resident1"))
    assert ratings.may_rate(case, resident)
    ratings.rate_case(case, resident, 5, None)
    assert not ratings.may_rate(case, resident)
    with pytest.raises(DomainError) as refused:
        ratings.rate_case(case, resident, 3, None)
    assert refused.value.status_code == 409
    db.session.commit()
    assert [(r.score, r.comment) for r in db.session.scalars(sa.select(SatisfactionRating))] == [(5, None)]
