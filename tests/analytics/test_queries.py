"""The dashboard's numbers on ten hand-built cases equal values worked out by hand (see each test's comments).

Times are UTC at 12:00 (20:00 in Beijing, the same calendar day). Cases, with the steps they took:
 c1  2025-01-10 neighbour  340202 no org   consult -> resolved after 2d5h                      (consult 2)
 c2  2025-01-20 (none)     340203 no org   consult, still open
 c3  2025-02-05 neighbour  340202 A/mA     assess 1d2h -> mediate (1h + 10d3h) -> settled      (assess 1, mediate 10)
 c4  2025-02-15 labour     340202 A/mA     assess 3d -> mediate 1m + 5d12h failed + 2d -> arbitrate, accepted
                                                                                              (assess 3, mediate 7)
 c5  2025-03-03 loan_debt  340203 B/mB     assess 6h -> mediation in progress, due 2025-04-03  (assess 0)
 c6  2025-03-20 labour     340203 B/mB     assess 2d -> mediation in progress, due 2025-04-06  (assess 2)
 c7  2025-03-25 marriage   340202 A/mA     assess 4d -> mediate 1m + 20d -> settled            (assess 4, mediate 20)
 c8  2025-01-05 contract   340203 B/mB     assess 1d -> mediate 1m + 8d failed + 3d -> litigate, returned 2d later
                                                                                              (assess 1, mediate 11)
 c9  2025-02-25 tenancy    340202 A/mA     assess 1h -> mediate 1m + 5d -> settled; confirmation awaiting,
                                           deadline 2025-03-30                                  (assess 0, mediate 5)
 c10 2025-03-28 neighbour  340202 no org   assess 1d -> withdrawn                              (assess 1)
Ratings: c3 5, c7 4, c9 2. Today is 2025-04-13.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import Organisation, OrgType, Role, Tier, User
from app.analytics import queries
from app.analytics.models import SatisfactionRating
from app.analytics.queries import Scope
from app.cases.models import GENESIS_HASH, Case, CaseEvent
from app.extensions import db

TODAY = date(2025, 4, 13)
D, H, M = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
FILE_ASSESS = ("file", "assess", "assessed")
MEDIATE = [("request_mediation", "mediate", "awaiting_assignment"), ("auto_assign", "mediate", "in_progress")]


def _t(day: str) -> datetime:
    return datetime.fromisoformat(day + " 12:00:00")


def _case(filer, day, category, region, steps, **columns) -> Case:
    """A case in its final state with hash-chained events at the given offsets ((action, stage, status), delay)."""
    times, at = [], _t(day)
    for _step, delay in steps:
        at += delay
        times.append(at)
    stage, status = steps[-1][0][1:]
    case = Case(title=f"案件 {day}", description="描述", category=category, region_code=region, stage=stage,
                status=status, filed_by_id=filer.id, created_at=_t(day), updated_at=times[-1],
                closed_at=times[-1] if stage == "closed" else None, **columns)
    db.session.add(case)
    db.session.flush()
    prev, state = GENESIS_HASH, (None, None)
    for seq, ((action, to_stage, to_status), _delay) in enumerate(steps, 1):
        event = CaseEvent(case_id=case.id, seq=seq, action=action, from_stage=state[0], from_status=state[1],
                          to_stage=to_stage, to_status=to_status, created_at=times[seq - 1], prev_hash=prev, hash="")
        event.hash = event.compute_hash()
        db.session.add(event)
        prev, state = event.hash, (to_stage, to_status)
    return case


@pytest.fixture()
def data(app):
    with app.app_context():
        org_a = Organisation(name="A村调委会", type=OrgType.people_mediation, tier=Tier.village, region_code="340202001001")
        org_b = Organisation(name="B镇调委会", type=OrgType.people_mediation, tier=Tier.town, region_code="340203001")
        court = Organisation(name="法院", type=OrgType.court, tier=Tier.county, region_code="340203")
        arb = Organisation(name="劳动仲裁委", type=OrgType.labour_arbitration, tier=Tier.county, region_code="340202")
        db.session.add_all([org_a, org_b, court, arb])
        db.session.flush()
        r = User(username="r", display_name="居民", role=Role.resident, password_hash="x")
        ma = User(username="ma", display_name="调解员甲", role=Role.mediator, password_hash="x", organisation=org_a)
        mb = User(username="mb", display_name="调解员乙", role=Role.mediator, password_hash="x", organisation=org_b)
        db.session.add_all([r, ma, mb])
        db.session.flush()
        a, b = {"organisation_id": org_a.id, "mediator_id": ma.id}, {"organisation_id": org_b.id, "mediator_id": mb.id}
        va, tb = "340202001001", "340203001001"
        settle, fail = ("record_settlement", "closed", "settled"), ("record_failure", "mediate", "failed")
        _case(r, "2025-01-10", "neighbour", va, [(("file", "consult", "open"), 0 * D),
                                                  (("resolve_at_consult", "closed", "resolved"), 2 * D + 5 * H)])
        _case(r, "2025-01-20", None, tb, [(("file", "consult", "open"), 0 * D)])
        c3 = _case(r, "2025-02-05", "neighbour", va, [(FILE_ASSESS, 0 * D), (MEDIATE[0], D + 2 * H),
                                                       (MEDIATE[1], H), (settle, 10 * D + 3 * H)], **a)
        _case(r, "2025-02-15", "labour_wages", va, [
            (FILE_ASSESS, 0 * D), (MEDIATE[0], 3 * D), (MEDIATE[1], M), (fail, 5 * D + 12 * H),
            (("request_arbitration", "arbitrate", "filed"), 2 * D), (("accept_arbitration", "arbitrate", "accepted"), D)],
            arbitration_body_id=arb.id, **a)
        _case(r, "2025-03-03", "loan_debt", tb, [(FILE_ASSESS, 0 * D), (MEDIATE[0], 6 * H), (MEDIATE[1], M)],
              mediation_due_on=date(2025, 4, 3), **b)
        _case(r, "2025-03-20", "labour_wages", tb, [(FILE_ASSESS, 0 * D), (MEDIATE[0], 2 * D), (MEDIATE[1], M)],
              mediation_due_on=date(2025, 4, 6), **b)
        c7 = _case(r, "2025-03-25", "marriage_family", va, [(FILE_ASSESS, 0 * D), (MEDIATE[0], 4 * D),
                                                             (MEDIATE[1], M), (settle, 20 * D)], **a)
        c8 = _case(r, "2025-01-05", "contract", tb, [
            (FILE_ASSESS, 0 * D), (MEDIATE[0], D), (MEDIATE[1], M), (fail, 8 * D),
            (("file_lawsuit", "litigate", "filed"), 3 * D), (("return_filing", "litigate", "returned"), 2 * D)],
            court_id=court.id, **b)
        c9 = _case(r, "2025-02-25", "tenancy", va, [(FILE_ASSESS, 0 * D), (MEDIATE[0], H), (MEDIATE[1], M),
                                                     (settle, 5 * D)], **a)
        _case(r, "2025-03-28", "neighbour", va, [(FILE_ASSESS, 0 * D), (("withdraw", "closed", "withdrawn"), D)])
        _paperwork(r, court, c8, c9)
        for case, score in ((c3, 5), (c7, 4), (c9, 2)):
            db.session.add(SatisfactionRating(case_id=case.id, user_id=r.id, score=score))
        db.session.commit()
        ids = {"A": org_a.id, "B": org_b.id, "mA": ma.id, "mB": mb.id, "c5": None}
        ids.update({f"c{i}": cid for i, cid in enumerate(db.session.scalars(sa.select(Case.id).order_by(Case.id)), 1)})
        db.session.remove()
    return ids


def _paperwork(r: User, court: Organisation, c8: Case, c9: Case) -> None:
    from app.agreements.models import Agreement, ConfirmationApplication
    from app.escalation.models import CourtFiling

    db.session.add(CourtFiling(case_id=c8.id, seq=1, court_id=court.id, jurisdiction_basis="defendant_domicile",
                               cause_code="contract", cause_name="合同纠纷", claims="请求", facts="事实", status="returned",
                               submitted_by_id=r.id, submitted_at=_t("2025-01-17"), decided_at=_t("2025-01-19"),
                               reasons="材料不全"))
    agreement = Agreement(case_id=c9.id, version=1, status="draft", facts="事实", responsibility="责任", terms=[],
                          performance="履行", created_by_id=r.id)
    db.session.add(agreement)
    db.session.flush()
    db.session.add(ConfirmationApplication(case_id=c9.id, agreement_id=agreement.id, court_id=court.id,
                                           status="awaiting", applied_by_id=r.id, deadline_at=_t("2025-03-30")))


def _funnel(scope):
    return [(s["key"], s["count"], s["rate"]) for s in queries.funnel(scope)]


def test_funnel_counts_every_step_and_its_rate(app, data):
    with app.app_context():
        # cases: all but c1, c2; mediated: c3-c9; settled: c3, c7, c9; arbitrated: c4; litigated: c8
        assert _funnel(Scope()) == [("consults", 10, None), ("cases", 8, 0.8), ("mediated", 7, 0.875),
                                    ("settled", 3, 0.4286), ("arbitrated", 1, 0.125), ("litigated", 1, 0.125)]
        # organisation A handles c3, c4, c7, c9
        assert _funnel(Scope(organisation_id=data["A"])) == [
            ("consults", 4, None), ("cases", 4, 1.0), ("mediated", 4, 1.0), ("settled", 3, 0.75),
            ("arbitrated", 1, 0.25), ("litigated", 0, 0.0)]


def test_dates_on_month_boundaries_and_in_between_give_the_cases_filed_then(app, data):
    with app.app_context():
        # February: c3, c4, c9 (from the rollups)
        assert _funnel(Scope(since=date(2025, 2, 1), until=date(2025, 3, 1)))[0] == ("consults", 3, None)
        # 10 February to 25 March (exclusive): c4, c9, c5, c6; c7 was filed on the 25th (from the cases directly)
        assert _funnel(Scope(since=date(2025, 2, 10), until=date(2025, 3, 25))) == [
            ("consults", 4, None), ("cases", 4, 1.0), ("mediated", 4, 1.0), ("settled", 1, 0.25),
            ("arbitrated", 1, 0.25), ("litigated", 0, 0.0)]


def _dim(scope, dimension):
    return [(r["key"], r["label"], r["count"]) for r in queries.by_dimension(scope, dimension)]


def test_cases_by_category_region_tier_and_month(app, data):
    with app.app_context():
        assert _dim(Scope(), "category") == [
            ("neighbour", "邻里纠纷", 3), ("labour_wages", "劳动与欠薪纠纷", 2), ("contract", "合同纠纷", 1),
            ("loan_debt", "民间借贷与债务纠纷", 1), ("marriage_family", "婚姻家庭纠纷", 1), ("none", "未分类", 1),
            ("tenancy", "房屋租赁纠纷", 1)]
        assert _dim(Scope(), "region") == [("340202", "镜湖区", 6), ("340203", "弋江区", 4)]
        assert _dim(Scope(), "tier") == [("village", "村（社区）级", 4), ("none", "尚无调解组织", 3),
                                         ("town", "乡镇（街道）级", 3)]
        assert _dim(Scope(), "month") == [("2025-01", "2025-01", 3), ("2025-02", "2025-02", 3),
                                          ("2025-03", "2025-03", 4)]
        assert _dim(Scope(organisation_id=data["B"]), "category") == [
            ("contract", "合同纠纷", 1), ("labour_wages", "劳动与欠薪纠纷", 1), ("loan_debt", "民间借贷与债务纠纷", 1)]


def _times(scope):
    return {r["stage"]: (r["cases"], r["median_days"], r["p90_days"]) for r in queries.stage_times(scope)}


def test_median_and_90th_percentile_of_days_in_each_stage(app, data):
    with app.app_context():
        # assess: 0 0 1 1 1 2 3 4 -> median (1+1)/2, p90 at rank 6.3: 3 + 0.3 x 1
        # mediate: 5 7 10 11 20 -> median 10, p90 at rank 3.6: 11 + 0.6 x 9
        assert _times(Scope()) == {"consult": (1, 2.0, 2.0), "assess": (8, 1.0, 3.3), "mediate": (5, 10.0, 16.4),
                                   "arbitrate": (0, None, None), "litigate": (0, None, None)}
        # A: assess 0 1 3 4 -> 2.0, rank 2.7: 3.7; mediate 5 7 10 20 -> 8.5, rank 2.7: 10 + 0.7 x 10
        assert _times(Scope(organisation_id=data["A"])) == {
            "consult": (0, None, None), "assess": (4, 2.0, 3.7), "mediate": (4, 8.5, 17.0),
            "arbitrate": (0, None, None), "litigate": (0, None, None)}


def test_load_and_settlement_rate_of_each_mediator_and_organisation(app, data):
    with app.app_context():
        mediators = [(r["mediator_id"], r["name"], r["organisation"], r["open"], r["closed"], r["settled"],
                      r["settlement_rate"]) for r in queries.mediator_load(Scope())]
        # mB: c5, c6 in mediation (open), c8 in court (ended, not settled: neither open nor closed);
        # mA: c4 at arbitration (ended), 3 settled
        assert mediators == [(data["mB"], "调解员乙", "B镇调委会", 2, 0, 0, 0.0),
                             (data["mA"], "调解员甲", "A村调委会", 0, 3, 3, 0.75)]
        orgs = [(r["organisation_id"], r["name"], r["open"], r["closed"], r["settled"], r["settlement_rate"])
                for r in queries.organisation_load(Scope())]
        assert orgs == [(data["B"], "B镇调委会", 2, 0, 0, 0.0), (data["A"], "A村调委会", 0, 3, 3, 0.75)]
        assert [r["mediator_id"] for r in queries.mediator_load(Scope(organisation_id=data["A"]))] == [data["mA"]]


def test_satisfaction(app, data):
    with app.app_context():
        assert queries.satisfaction(Scope()) == {"ratings": 3, "average": 3.67,
                                                 "by_score": {1: 0, 2: 1, 3: 0, 4: 1, 5: 1}}
        assert queries.satisfaction(Scope(organisation_id=data["B"])) == {
            "ratings": 0, "average": None, "by_score": {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}}


def _late(scope):
    result = queries.overdue(scope, TODAY)
    return {k: [(r["case_id"], r["days_over"], r["organisation"]) for r in v] for k, v in result.items()
            if k != "counts"}, result["counts"]


def test_overdue_lists(app, data):
    with app.app_context():
        lists, counts = _late(Scope())
        # c5 due 3 April, c6 (labour) due 6 April; c9's confirmation window ended 30 March;
        # c8 returned on 19 January, so due again by 3 February
        assert lists == {"mediation": [(data["c5"], 10, "B镇调委会")], "labour_mediation": [(data["c6"], 7, "B镇调委会")],
                         "confirmation": [(data["c9"], 14, "A村调委会")],
                         "court_returns": [(data["c8"], 69, "B镇调委会")]}
        assert counts == {"mediation": 1, "labour_mediation": 1, "confirmation": 1, "court_returns": 1}
        lists, counts = _late(Scope(organisation_id=data["A"]))
        assert counts == {"mediation": 0, "labour_mediation": 0, "confirmation": 1, "court_returns": 0}
        # nothing is late the day the mediation falls due
        assert queries.overdue(Scope(), date(2025, 4, 3))["counts"]["mediation"] == 0


def test_a_change_shows_at_the_next_read(app, data):
    with app.app_context():
        assert ("none", "未分类", 1) in _dim(Scope(), "category")
        case = db.session.get(Case, data["c2"])
        case.category = "neighbour"  # sets updated_at: January is recomputed
        db.session.commit()
        assert _dim(Scope(), "category")[0] == ("neighbour", "邻里纠纷", 4)
        assert "none" not in [key for key, _label, _n in _dim(Scope(), "category")]


def test_refresh_command_recomputes_only_the_changed_months(app, data):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["dashboard", "refresh", "--full"])
    assert result.exit_code == 0 and "refreshed (all month(s))" in result.output
    # nothing changed: only the month of the latest change, within the safety overlap, is looked at again
    assert "refreshed (1 month(s))" in runner.invoke(args=["dashboard", "refresh"]).output
    with app.app_context():
        db.session.get(Case, data["c8"]).title = "改过的标题"  # filed in January: now the latest change
        db.session.commit()
    # January, and March again (its change was the watermark, inside the overlap); not February
    assert "refreshed (2 month(s))" in runner.invoke(args=["dashboard", "refresh"]).output


def test_percentile_interpolates_between_ranks():
    assert queries.percentile({}, 0.5) is None
    assert queries.percentile({7: 1}, 0.9) == 7.0
    assert queries.percentile({1: 2, 3: 2}, 0.5) == 2.0
    assert queries.percentile({0: 2, 1: 3, 2: 1, 3: 1, 4: 1}, 0.9) == 3.3
