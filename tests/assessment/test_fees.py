"""Court fees under 诉讼费用交纳办法 art. 13, 15, 16, from mediation_rules/fees.yaml; and `flask assess fee`."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from app.cases.assessment import court_fee, divorce_fee, fee_scenarios, property_fee, property_fee_parts
from app.cases.assessment_rules import load_assessment_rules, parse_fees
from app.cases.rules import RulesError

RULES_DIR = Path(__file__).resolve().parents[2] / "mediation_rules"


@pytest.fixture(scope="module")
def fees():
    return load_assessment_rules(str(RULES_DIR)).fees


@pytest.mark.parametrize(("amount", "fee"), [
    (0, 50), (1, 50), (10_000, 50), (10_001, "50.03"), (20_000, 300), (100_000, 2_300), (200_000, 4_300),
    (500_000, 8_800), (1_000_000, 13_800), (2_000_000, 22_800), (5_000_000, 46_800), (10_000_000, 81_800),
    (20_000_000, 141_800), (30_000_000, 191_800), ("12345.67", "108.64"),
])
def test_property_fee_is_cumulative_by_band(fees, amount, fee):
    assert property_fee(Decimal(amount), fees) == Decimal(fee)


def test_the_band_parts_add_up_to_the_fee(fees):
    parts = property_fee_parts(Decimal(1_000_000), fees)
    assert [p["rate"] for p in parts] == [None, Decimal("0.025"), Decimal("0.02"), Decimal("0.015"), Decimal("0.01")]
    assert sum(p["fee"] for p in parts) == Decimal(13_800)
    assert parts[-1]["high"] == Decimal(1_000_000)


@pytest.mark.parametrize(("mediated", "summary", "fee"), [
    (False, False, 2_300), (True, False, 1_150), (False, True, 1_150),
    (True, True, 1_150),  # a summary-procedure case closed by mediation is halved once (combine: false)
])
def test_mediation_or_withdrawal_and_the_summary_procedure_halve_the_fee(fees, mediated, summary, fee):
    estimate = court_fee(Decimal(100_000), "property", fees, mediated=mediated, summary=summary)
    assert estimate.low == estimate.high == Decimal(fee)


def test_labour_cases_cost_10_yuan_whatever_the_amount(fees):
    assert court_fee(Decimal(1_000_000), "labour", fees).high == 10
    assert court_fee(None, "labour", fees).high == 10
    assert court_fee(None, "labour", fees, mediated=True).high == 5


@pytest.mark.parametrize(("property_amount", "low", "high"), [
    (None, 50, 300), (Decimal(150_000), 50, 300), (Decimal(200_000), 50, 300),
    (Decimal(300_000), 550, 800),  # + 0.5% of the 100,000 above 200,000
    (Decimal(1_200_000), 5_050, 5_300),
])
def test_divorce_fee_is_a_range_plus_half_a_percent_above_200000(fees, property_amount, low, high):
    assert divorce_fee(property_amount, fees) == (Decimal(low), Decimal(high))


def test_scenarios_for_the_report(fees):
    s = fee_scenarios(Decimal(100_000), "property", fees)
    assert (s["full"]["high"], s["mediated"]["high"], s["summary"]["high"]) == (2_300, 1_150, 1_150)
    assert fee_scenarios(None, "property", fees) is None  # no amount: no estimate
    assert fee_scenarios(None, "divorce", fees)["full"]["low"] == 50


def test_a_property_fee_needs_an_amount_and_a_known_kind(fees):
    with pytest.raises(ValueError):
        court_fee(None, "property", fees)
    with pytest.raises(ValueError):
        court_fee(Decimal(1), "criminal", fees)


def test_broken_fee_bands_are_refused_at_load():
    data = yaml.safe_load((RULES_DIR / "fees.yaml").read_text(encoding="utf-8"))
    data["property"]["bands"][2]["upto"] = 50_000  # tops must rise
    with pytest.raises(RulesError, match="tops must rise"):
        parse_fees(data)
    data = yaml.safe_load((RULES_DIR / "fees.yaml").read_text(encoding="utf-8"))
    data["category_kinds"]["neighbour"] = "free"
    with pytest.raises(RulesError, match="unknown kinds"):
        parse_fees(data)


@pytest.mark.parametrize(("args", "last"), [
    (["--amount", "10000"], "50"), (["--amount", "100000"], "2300"), (["--amount", "1000000"], "13800"),
    (["--amount", "30000000"], "191800"), (["--amount", "100000", "--mediated"], "1150"),
    (["--amount", "100000", "--summary"], "1150"), (["--amount", "12345.67"], "108.64"),
    (["--amount", "5000", "--kind", "labour"], "10"), (["--kind", "labour", "--mediated"], "5"),
    (["--amount", "300000", "--kind", "divorce"], "800"),
])
def test_flask_assess_fee_prints_the_fee_on_its_last_line(app, args, last):
    result = app.test_cli_runner().invoke(args=["assess", "fee", *args])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == last


@pytest.mark.parametrize("args", [["--amount", "lots"], ["--amount", "-5"], []])
def test_flask_assess_fee_refuses_a_bad_amount(app, args):
    result = app.test_cli_runner().invoke(args=["assess", "fee", *args])
    assert result.exit_code != 0
