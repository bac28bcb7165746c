"""match(): tiers, region, load, availability, language, specialty, exclusions and stable ties."""
from __future__ import annotations

import random

import pytest

from app.routing import CaseSnapshot, MediatorPool

VILLAGE = "340202001001"          # village 001 of town 340202001 in county 340202


def case(**kw) -> CaseSnapshot:
    fields = dict(id=1, text="邻居噪音扰民", category="neighbour", region_code=VILLAGE)
    fields.update(kw)
    return CaseSnapshot(**fields)


def ids(matches, eligible_only=True):
    return [m.mediator_id for m in matches if not (eligible_only and m.excluded)]


def test_lowest_competent_tier_first(engine, make_mediator):
    mediators = [make_mediator(1, tier="county", region_code="340202"),
                 make_mediator(2, tier="town", region_code="340202001"),
                 make_mediator(3, tier="village", region_code=VILLAGE)]
    assert ids(engine.match(case(), mediators)) == [3, 2, 1]


def test_tiers_the_category_does_not_allow_are_excluded(engine, make_mediator):
    """Demolition is not for the village tier."""
    mediators = [make_mediator(1, tier="village", region_code=VILLAGE),
                 make_mediator(2, tier="town", region_code="340202001")]
    result = engine.match(case(category="demolition"), mediators, include_excluded=True)
    assert ids(result) == [2]
    assert [(m.mediator_id, m.excluded) for m in result if m.excluded] == [(1, "tier")]
    assert ids(engine.match(case(category="demolition"), mediators), eligible_only=False) == [2]


def test_organisation_types_the_category_does_not_allow_are_excluded(engine, make_mediator):
    """Medical disputes go to trade or lawyer mediation at county level."""
    mediators = [make_mediator(1, tier="county", region_code="340202"),
                 make_mediator(2, tier="county", region_code="340202", org_type="trade_mediation")]
    result = engine.match(case(category="medical"), mediators, include_excluded=True)
    assert ids(result) == [2]
    assert result[-1].excluded == "org_type" and result[-1].excluded_zh


def test_referral_category_has_no_mediator(engine, make_mediator):
    assert engine.match(case(category="criminal"), [make_mediator(1), make_mediator(2)]) == []


def test_same_region_first(engine, make_mediator):
    mediators = [make_mediator(1, region_code="340203001001"),     # another county
                 make_mediator(2, region_code="340202002001"),     # same county, another town
                 make_mediator(3, region_code="340202001002"),     # same town, another village
                 make_mediator(4, region_code=VILLAGE)]            # the case's village
    result = engine.match(case(), mediators)
    assert ids(result) == [4, 3, 2, 1]
    regions = [m.breakdown["region"] for m in result]
    assert regions == sorted(regions, reverse=True) and regions[0] > regions[1]


def test_jurisdiction_contains_the_case(engine, make_mediator):
    """A town committee covers every village of its town: full region score."""
    town = make_mediator(1, tier="town", region_code="340202001")
    result = engine.match(case(), [town])
    assert result[0].breakdown["region"] == engine.match(case(), [make_mediator(2)])[0].breakdown["region"]


def test_lower_load_first_and_full_is_excluded(engine, make_mediator):
    mediators = [make_mediator(1, capacity=10, open_cases=8), make_mediator(2, capacity=10, open_cases=2),
                 make_mediator(3, capacity=5, open_cases=5), make_mediator(4, capacity=0, open_cases=0)]
    result = engine.match(case(), mediators, include_excluded=True)
    assert ids(result) == [2, 1]
    assert {m.mediator_id: m.excluded for m in result if m.excluded} == {3: "full", 4: "full"}


def test_unavailable_is_excluded(engine, make_mediator):
    result = engine.match(case(), [make_mediator(1, available=False), make_mediator(2)], include_excluded=True)
    assert ids(result) == [2]
    assert (result[-1].mediator_id, result[-1].excluded) == (1, "unavailable")


def test_language_or_dialect_bonus(engine, make_mediator):
    mediators = [make_mediator(1), make_mediator(2, languages=("zh", "yue"))]
    assert ids(engine.match(case(language="yue"), mediators)) == [2, 1]
    assert ids(engine.match(case(language=None), mediators)) == [1, 2]


def test_specialty_fit(engine, make_mediator):
    mediators = [make_mediator(1), make_mediator(2, specialties=("neighbour",))]
    result = engine.match(case(), mediators)
    assert ids(result) == [2, 1]
    assert result[0].breakdown["specialty"] > 0 == result[1].breakdown["specialty"]


@pytest.mark.parametrize(("kw", "conflict", "reason"), [
    (dict(party_user_ids=frozenset({7})), dict(), "party"),
    (dict(party_names=frozenset({"张三"})), dict(relatives=frozenset({"张三"})), "relative"),
    (dict(respondent_org_names=frozenset({"某某物业公司"})), dict(employer="某某物业公司"), "respondent_org"),
    (dict(respondent_org_names=frozenset({"调委会7"})), dict(), "respondent_org"),
])
def test_conflicts_of_interest_are_excluded_and_listed(engine, make_mediator, kw, conflict, reason):
    mediators = [make_mediator(7, specialties=("neighbour",), **conflict), make_mediator(8)]
    result = engine.match(case(**kw), mediators)
    assert ids(result) == [8]
    assert [(m.mediator_id, m.excluded) for m in result if m.excluded] == [(7, reason)]
    assert result[-1].excluded_zh


def test_party_exclusion_wins_over_other_reasons(engine, make_mediator):
    result = engine.match(case(party_user_ids=frozenset({1})), [make_mediator(1, available=False)])
    assert [(m.mediator_id, m.excluded) for m in result] == [(1, "party")]


def test_ties_are_broken_by_id_whatever_the_input_order(engine, make_mediator):
    mediators = [make_mediator(i) for i in (5, 3, 9, 1, 7)]
    expected = [1, 3, 5, 7, 9]
    for seed in range(5):
        random.Random(seed).shuffle(mediators)
        assert ids(engine.match(case(), mediators)) == expected


def test_breakdown_adds_up_to_the_score(engine, make_mediator):
    result = engine.match(case(language="zh"), [make_mediator(1, specialties=("neighbour",), open_cases=5)])[0]
    assert set(result.breakdown) == {"specialty", "tier", "region", "load", "availability", "language"}
    assert result.score == pytest.approx(sum(result.breakdown.values()), abs=0.01)
    assert (result.name, result.organisation_name, result.tier) == ("调解员1", "调委会1", "village")


def test_limit_and_pool_reuse(engine, make_mediator):
    mediators = [make_mediator(i, open_cases=i % 10) for i in range(1, 60)]
    pool = MediatorPool.build(mediators)
    assert len(engine.match(case(), pool, limit=5)) == 5
    assert engine.match(case(), pool, limit=None) == engine.match(case(), mediators, limit=None)


def test_category_none_is_classified_from_the_text(engine, make_mediator):
    """Demolition: the village mediator is not competent, so the text decided the category."""
    mediators = [make_mediator(1), make_mediator(2, tier="town", region_code="340202001")]
    result = engine.match(case(category=None, text="老房子拆迁补偿款太低，安置房不交付"), mediators)
    assert ids(result) == [2]


def test_no_mediators(engine):
    assert engine.match(case(), []) == []
