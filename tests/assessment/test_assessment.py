"""Limitation periods against a frozen `today`, the recommended path, the small-claims hint, similar cases."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.cases.assessment import (
    PastCase,
    add_years,
    amount_band,
    category_reasons,
    limitations_for,
    recommended_path,
    similar_summary,
    small_claims_hint,
)
from app.cases.assessment_rules import load_assessment_rules
from app.cases.rules import load_rules

RULES_DIR = str(Path(__file__).resolve().parents[2] / "mediation_rules")
TODAY = date(2026, 5, 20)  # the frozen clock: every period below is counted against this day


@pytest.fixture(scope="module")
def rules():
    return load_assessment_rules(RULES_DIR)


@pytest.fixture(scope="module")
def cat():
    return load_rules(RULES_DIR).categories


def test_a_year_later_is_the_corresponding_day_or_the_months_last_day():
    assert add_years(date(2023, 3, 10), 3) == date(2026, 3, 10)
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)  # 民法典 art. 202: no 29th, so the last day
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)


@pytest.mark.parametrize(("learned_on", "status", "days_left"), [
    (date(2024, 1, 1), "ok", 226),          # ends 2027-01-01
    (date(2023, 8, 1), "near", 73),         # ends 2026-08-01: fewer than 90 days
    (date(2023, 8, 18), "ok", 90),          # exactly 90 days left: no warning yet
    (date(2023, 8, 17), "near", 89),
    (date(2023, 5, 20), "near", 0),         # the last day is today: still in time
    (date(2023, 5, 19), "past", -1),
    (date(2020, 1, 1), "past", -1235),
    (None, "unknown", None),                # no date given: cannot count, and says so
])
def test_general_three_year_period_from_when_the_claimant_learned(rules, cat, learned_on, status, days_left):
    [period] = limitations_for(cat["loan_debt"], learned_on, None, TODAY, rules)
    assert (period.code, period.years, period.status, period.days_left) == ("general", 3, status, days_left)
    assert "一百八十八" in period.basis


def test_the_twenty_year_longstop_counts_from_when_the_harm_happened(rules, cat):
    [period] = limitations_for(cat["loan_debt"], date(2025, 1, 1), date(2006, 6, 1), TODAY, rules)
    assert period.deadline == date(2026, 6, 1) and period.status == "near"


@pytest.mark.parametrize(("learned_on", "status"), [
    (date(2025, 12, 1), "ok"), (date(2025, 6, 1), "near"), (date(2025, 5, 19), "past"), (date(2024, 1, 1), "past"),
])
def test_labour_arbitration_has_one_year(rules, cat, learned_on, status):
    [period] = limitations_for(cat["labour_wages"], learned_on, None, TODAY, rules)
    assert (period.code, period.years, period.status) == ("labour_arbitration", 1, status)
    assert "劳动争议调解仲裁法" in period.basis
    assert limitations_for(cat["work_injury"], learned_on, None, TODAY, rules)[0].years == 1


def test_maintenance_claims_are_not_subject_to_limitation(rules, cat):
    [period] = limitations_for(cat["maintenance_support"], date(2000, 1, 1), None, TODAY, rules)
    assert period.status == "not_subject" and period.deadline is None and "一百九十六" in period.basis


def test_english_bases(rules, cat):
    [period] = limitations_for(cat["loan_debt"], date(2024, 1, 1), None, TODAY, rules, "en")
    assert period.basis == "Civil Code, Article 188"


def codes(steps):
    return [s.code for s in steps]


def test_path_labour_mediation_15_days_then_arbitration_then_court(rules, cat):
    steps = recommended_path(cat["labour_wages"], False, rules)
    assert codes(steps) == ["labour_mediation", "labour_arbitration", "litigation_after_award"]
    assert steps[0].days == 15 and "须先经劳动人事争议仲裁委员会仲裁" in steps[1].text


@pytest.mark.parametrize("category", ["marriage_family", "inheritance", "maintenance_support"])
def test_path_family_and_inheritance_cannot_be_arbitrated(rules, cat, category):
    steps = recommended_path(cat[category], True, rules)  # even with an "arbitration agreement"
    assert codes(steps) == ["mediation", "judicial_confirmation", "no_arbitration", "litigation"]
    assert "不能仲裁" in steps[2].text


def test_path_general_mediation_first_arbitration_only_with_an_agreement(rules, cat):
    assert codes(recommended_path(cat["contract"], False, rules)) == [
        "mediation", "judicial_confirmation", "arbitration_if_agreement", "litigation"]
    assert codes(recommended_path(cat["contract"], True, rules)) == [
        "mediation", "judicial_confirmation", "arbitration_agreed"]  # an award is final: no court after it
    assert recommended_path(cat["neighbour"], False, rules)[0].days == 30


@pytest.mark.parametrize(("category", "where"), [("criminal", "110"), ("administrative", "行政复议"),
                                                 ("maritime", "海事法院")])
def test_path_referral_categories_say_where_to_go(rules, cat, category, where):
    [step] = recommended_path(cat[category], False, rules)
    assert step.code == "referral" and where in step.text
    assert "reconsideration" in recommended_path(cat["administrative"], False, rules, "en")[0].text


def test_every_referral_category_has_a_destination(rules, cat):
    assert {c.id for c in cat.values() if not c.mediable} <= set(rules.referrals)


def test_small_claims_is_a_hint_for_simple_money_claims_under_the_ceiling(rules, cat):
    sc = rules.small_claims
    assert sc.ceiling == sc.annual_average_wage * sc.ratio
    hint = small_claims_hint(cat["loan_debt"], Decimal(20_000), "property", sc)
    assert hint["ceiling"] == sc.ceiling and hint["province"] == "安徽省"
    assert small_claims_hint(cat["loan_debt"], sc.ceiling + 1, "property", sc) is None
    assert small_claims_hint(cat["loan_debt"], None, "property", sc) is None
    assert small_claims_hint(cat["marriage_family"], Decimal(5_000), "divorce", sc) is None
    assert small_claims_hint(cat["labour_wages"], Decimal(5_000), "labour", sc) is None
    assert small_claims_hint(cat["criminal"], Decimal(5_000), "property", sc) is None


def test_amount_bands(rules):
    edges = rules.amount_bands
    assert amount_band(None, edges) is None
    assert amount_band(Decimal(3_000), edges) == (None, Decimal(10_000))
    assert amount_band(Decimal(20_000), edges) == (Decimal(10_000), Decimal(50_000))
    assert amount_band(Decimal(5_000_000), edges) == (Decimal(1_000_000), None)


def test_similar_cases_are_hidden_when_too_few_and_anonymous_otherwise(rules):
    two = [PastCase(Decimal(3_000), "settled", 12), PastCase(None, "withdrawn", 3)]
    hidden = similar_summary(two, Decimal(4_000), rules)
    assert hidden["shown"] is False and hidden["examples"] == [] and hidden["total"] == 2
    past = two + [PastCase(Decimal(80_000), "settled", 40), PastCase(Decimal(5_000), "litigate", None)]
    shown = similar_summary(past, Decimal(4_000), rules)
    assert shown["shown"] and shown["outcomes"][0] == {"outcome": "settled", "count": 2}
    assert shown["median_days"] == 12
    assert [e["band"] for e in shown["examples"][:2]] == [(None, Decimal(10_000))] * 2  # same band first
    assert set(shown["examples"][0]) == {"band", "outcome", "days"}  # nothing that names anyone


def test_category_reasons_from_the_routing_classifier(cat):
    from app.routing import load_engine

    engine = load_engine(RULES_DIR)
    labels = {c.id: c.zh for c in cat.values()}
    why = category_reasons("labour_wages", engine.classify("老板拖欠我三个月工资不给"), labels)
    assert why["agrees"] and any("工资" in w for w in why["words"])
    other = category_reasons("neighbour", engine.classify("老板拖欠我三个月工资不给"), labels)
    assert other["agrees"] is False and other["system_category"] == "劳动与欠薪纠纷"
    assert category_reasons("neighbour", None, labels)["words"] == []
