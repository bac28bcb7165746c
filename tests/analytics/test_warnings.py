"""Early warning: the Poisson tail, the spike detector (fires on an injected spike, quiet on flat noise), mass
disputes against one respondent (name variants count as one), the wording, and an organisation's scope."""
from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.analytics.queries import Scope
from app.analytics.spikes import SpikeRule, detect_spike, poisson_sf
from app.analytics.warnings import (
    day_start_utc,
    load_warning_rules,
    normalise_name,
    parse_warning_rules,
)
from app.cases.rules import RulesError, read_rules_file
from app.core.crypto import blind_index

RULES_DIR = Path(__file__).resolve().parents[2] / "mediation_rules"
TODAY = date(2026, 11, 30)
RULE = SpikeRule(weeks_baseline=8, alpha=0.001, alpha_high=1e-6, lambda_floor=0.5, min_count=5)


# --- the Poisson tail ---------------------------------------------------------------------
@pytest.mark.parametrize("k, lam, expected", [
    (5, 1.0, 0.0036598468),     # 1 - e^-1 (1 + 1 + 1/2 + 1/6 + 1/24)
    (1, 0.5, 1 - math.exp(-0.5)),
    (0, 3.0, 1.0),
    (3, 0.0, 0.0),
    (10, 10.0, 0.5420702855),   # the bulk: R's ppois(9, 10, lower.tail = FALSE)
    (12, 2.0, 1.3646151596e-06),  # ppois(11, 2, lower.tail = FALSE)
    (11, 3.0, 2.9233695065e-04),
])
def test_poisson_tail_matches_known_values(k, lam, expected):
    assert poisson_sf(k, lam) == pytest.approx(expected, rel=1e-8, abs=1e-15)


def test_poisson_tail_far_out_neither_underflows_to_garbage_nor_overflows():
    assert 0 < poisson_sf(200, 3.0) < 1e-200
    assert poisson_sf(10_000, 9_000.0) == pytest.approx(0.0, abs=1e-20)


# --- the detector on weekly counts ----------------------------------------------------------
def test_spike_fires_on_twelve_against_a_flat_two_a_week():
    spike = detect_spike(12, [2] * 8, RULE)
    assert spike is not None
    assert (spike.count, spike.baseline, spike.lam) == (12, 2.0, 2.0)
    assert spike.p_value == pytest.approx(1.3646e-06, rel=1e-3)
    assert spike.severity == "medium"      # 1.4e-6 is not below alpha_high = 1e-6
    assert detect_spike(14, [2] * 8, RULE).severity == "high"


def test_a_quiet_pair_needs_min_count_and_the_floor():
    assert detect_spike(4, [0] * 8, RULE) is None           # below min_count
    assert detect_spike(5, [0] * 8, RULE).lam == 0.5          # P(X>=5 | 0.5) = 1.7e-4 < 0.001
    assert detect_spike(9, [3] * 8, RULE) is None             # P(X>=9 | 3) = 0.0038: ordinary
    assert detect_spike(11, [3] * 8, RULE) is not None        # P(X>=11 | 3) = 0.00029


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method: deterministic for a seeded rng."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


def test_flat_poisson_noise_fires_at_most_the_documented_false_alarm_rate():
    """2,000 county x category pairs of Poisson(3) a week: warnings.yaml documents ~1.6 x alpha false alarms per
    pair-week, so ~3 expected here, and more than 8 only once in 200 seeds (the Poisson(3.1) tail); the seed is
    fixed, so the count is too."""
    rng = random.Random(20261130)
    fired = sum(detect_spike(_poisson(rng, 3), [_poisson(rng, 3) for _ in range(8)], RULE) is not None
                for _ in range(2000))
    assert fired <= 8


# --- the rules file -------------------------------------------------------------------------
def test_shipped_rules_load_with_the_documented_numbers():
    rules = load_warning_rules(str(RULES_DIR))
    assert rules.spikes == RULE
    assert (rules.mass.window_days, rules.mass.min_cases, rules.mass.high_cases) == (30, 5, 10)


@pytest.mark.parametrize("section, key, value, message", [
    ("spikes", "alpha", 2, "outside"),
    ("spikes", "min_count", 2.5, "not a whole number"),
    ("spikes", "alpha_high", 0.01, "alpha_high must not exceed alpha"),
    ("mass_disputes", "categories", ["no_such_category"], "unknown categories"),
    ("messages", "spike_why_zh", "{count}件{nope}", "bad placeholder"),
])
def test_broken_rules_are_refused_with_the_key_named(section, key, value, message):
    data = read_rules_file(RULES_DIR / "warnings.yaml")
    data[section][key] = value
    with pytest.raises(RulesError, match=message):
        parse_warning_rules(data, {"labour_wages", "neighbour"})


def test_respondent_names_compare_without_spaces_width_or_punctuation():
    one = normalise_name("芜湖 宏达建筑劳务（集团）有限公司")
    assert one == normalise_name("芜湖宏达建筑劳务(集团)有限公司 ") == normalise_name("芜湖宏达建筑劳务 集团 有限公司")
    assert one == "芜湖宏达建筑劳务集团有限公司"       # the suffix stays
    assert normalise_name("ＡＢＣ　Ｔｒａｄｉｎｇ") == "abctrading"


# --- through the database (SQLite and PostgreSQL) ------------------------------------------
@pytest.fixture()
def world(app):
    """Two organisations and a filer; returns a factory of cases with explicit created_at."""
    from app.accounts.models import Organisation, OrgType, Role, Tier, User
    from app.extensions import db

    with app.app_context():
        orgs = [Organisation(name=f"测试调解委员会{i}", type=OrgType.people_mediation, tier=Tier.county,
                             region_code="340202000000") for i in (1, 2)]
        filer = User(username="filer", password_hash="x", display_name="申请人", role=Role.resident)
        db.session.add_all([*orgs, filer])
        db.session.commit()
        ids = {"org1": orgs[0].id, "org2": orgs[1].id, "filer": filer.id}
        yield ids
        db.session.remove()


def _at(days_ago: float) -> datetime:
    """An instant `days_ago` days before noon Beijing time on TODAY (0: today, 6: the first day of this week)."""
    return day_start_utc(TODAY) + timedelta(hours=12) - timedelta(days=days_ago)


def _add_cases(world, rows: list[tuple[str, str, datetime]], org: str | None = "org1") -> list[int]:
    """Bulk-insert assessed cases (region_code, category, created_at); returns their ids in order."""
    from app.cases.models import Case, CaseStatus, Stage
    from app.extensions import db

    values = [{"title": "测试纠纷", "description": "测试", "stage": Stage.assess, "status": CaseStatus.assessed,
               "category": category, "region_code": region, "filed_by_id": world["filer"],
               "organisation_id": world[org] if org else None, "created_at": at, "updated_at": at}
              for region, category, at in rows]
    ids = db.session.scalars(sa.insert(Case).returning(Case.id, sort_by_parameter_order=True), values).all()
    db.session.commit()
    return list(ids)


def _spike_rows(region: str = "340202001001", category: str = "labour_wages", now: int = 12) -> list:
    """2 a week for the 8 previous weeks, then `now` in the last 7 days."""
    rows = [(region, category, _at(7 * week + day)) for week in range(1, 9) for day in (1, 4)]
    return rows + [(region, category, _at(i % 7)) for i in range(now)]


def test_injected_spike_fires_with_its_numbers_and_cases(app, world):
    from app.analytics.warnings import current_warnings

    with app.app_context():
        ids = _add_cases(world, _spike_rows())
        _add_cases(world, [("340202001001", "labour_wages", _at(7 * 9 + 1))] * 30)  # before the window: ignored
        warnings = current_warnings(Scope(), TODAY)
    assert len(warnings) == 1
    w = warnings[0]
    assert (w["kind"], w["region"], w["category"], w["count"], w["baseline"]) == (
        "spike", "340202", "labour_wages", 12, 2.0)
    assert w["case_ids"] == ids[16:]               # exactly this week's 12
    assert w["title"] == "区县340202「劳动与欠薪纠纷」突增"
    assert w["why"] == ("近7天区县340202「劳动与欠薪纠纷」12件，前8周平均每周2件；按泊松检验（λ=2），"
                        "出现不少于12件的概率为1.4e-06（低于阈值0.001）。")


def test_warnings_speak_english_when_the_visitor_does(app, world):
    from app.analytics.warnings import current_warnings

    with app.app_context():
        _add_cases(world, _spike_rows())
    with app.test_request_context("/?lang=en"):
        [w] = current_warnings(Scope(), TODAY)
    assert w["title"] == 'Surge of "Labour and wages" in county 340202'
    assert w["why"].startswith('12 cases of "Labour and wages" in county 340202 in the last 7 days against an average '
                               "of 2 a week over the previous 8 weeks")


def test_print_warnings_lists_each_warning_with_its_cases(app, world, capsys):
    from app.analytics.warnings import print_warnings

    with app.app_context():
        ids = _add_cases(world, _spike_rows())
        print_warnings(Scope(), TODAY)
    out = capsys.readouterr().out
    assert "[medium] 区县340202「劳动与欠薪纠纷」突增" in out and f"cases: {ids[16]}, {ids[17]}" in out
    assert out.rstrip().endswith("1 warning(s)")


def test_week_boundaries_follow_beijing_days(app, world):
    """A case at 23:30 Beijing time 7 days ago belongs to the baseline, one at 00:30 six days ago to this week."""
    from app.analytics.warnings import current_warnings

    start = day_start_utc(TODAY - timedelta(days=6))
    with app.app_context():
        _add_cases(world, [("340202001001", "neighbour", start - timedelta(minutes=30))] * 6)
        assert current_warnings(Scope(), TODAY) == []
        _add_cases(world, [("340202001001", "neighbour", start + timedelta(minutes=30))] * 6)
        [w] = current_warnings(Scope(), TODAY)
    assert (w["count"], w["baseline"]) == (6, 0.75)


def test_flat_noise_in_the_database_raises_no_warning(app, world):
    rng = random.Random(8)
    rows = []
    for county in range(10):
        for category in ("neighbour", "labour_wages", "tenancy"):
            for week in range(9):
                rows += [(f"3402{county:02d}001001", category, _at(7 * week + rng.random() * 6.9))
                         for _ in range(_poisson(rng, 3))]
    from app.analytics.warnings import current_warnings

    with app.app_context():
        _add_cases(world, rows)
        assert current_warnings(Scope(), TODAY) == []


def test_an_organisation_sees_only_its_own_cases(app, world):
    from app.analytics.warnings import current_warnings

    with app.app_context():
        _add_cases(world, _spike_rows(), org="org1")
        assert [w["kind"] for w in current_warnings(Scope(organisation_id=world["org1"]), TODAY)] == ["spike"]
        assert current_warnings(Scope(organisation_id=world["org2"]), TODAY) == []


# --- mass disputes -------------------------------------------------------------------------
EMPLOYER_VARIANTS = ["芜湖宏达建筑劳务（集团）有限公司", "芜湖宏达建筑劳务(集团)有限公司", " 芜湖宏达建筑劳务 (集团) 有限公司",
                     "芜湖宏达建筑劳务（集团）有限公司。", "芜湖宏达建筑劳务（集团）有限公司", "芜湖宏达建筑劳务（集团）有限公司"]


def _mass(warnings: list[dict]) -> list[dict]:
    return [w for w in warnings if w["kind"] == "mass_dispute"]


def _against(world, names: list[str], category: str = "labour_wages", org: str = "org1",
             days_ago: float = 3, id_number: str | None = None, kind: str = "organisation") -> list[int]:
    from app.cases.models import CaseParty, PartyKind, PartyRole
    from app.extensions import db

    ids = _add_cases(world, [("340202002003", category, _at(days_ago))] * len(names), org=org)
    db.session.add_all(CaseParty(case_id=case_id, role=PartyRole.respondent, kind=PartyKind(kind), name=name,
                                 id_number=id_number) for case_id, name in zip(ids, names))
    db.session.commit()
    return ids


def test_mass_dispute_fires_at_five_cases_against_one_employer_written_five_ways(app, world):
    from app.analytics.warnings import current_warnings

    with app.app_context():
        ids = _against(world, EMPLOYER_VARIANTS[:4])
        ids += _against(world, EMPLOYER_VARIANTS[4:5], category="work_injury")
        _against(world, EMPLOYER_VARIANTS[5:6], days_ago=30)      # 30 days ago: outside the 30-day window
        _against(world, ["另一家公司"] * 4)                             # someone else: 4, below the line
        [w] = _mass(current_warnings(Scope(), TODAY))  # 8 labour cases from nowhere are a spike too
    assert (w["kind"], w["count"], w["category"], w["categories"]) == (
        "mass_dispute", 5, "labour_wages", ["labour_wages", "work_injury"])
    assert w["respondent"] == "芜湖宏达建筑劳务（集团）有限公司" and w["severity"] == "medium"
    assert w["case_ids"] == ids and w["region"] == "340202"
    assert w["title"] == "群体性纠纷：芜湖宏达建筑劳务（集团）有限公司"
    assert w["why"] == ("近30天内有5件纠纷针对同一被申请人“芜湖宏达建筑劳务（集团）有限公司”"
                        "（劳动与欠薪纠纷4件、工伤纠纷1件），达到群体性纠纷预警线（30天内5件）。")


def test_four_cases_are_not_a_mass_dispute(app, world):
    from app.analytics.warnings import current_warnings

    with app.app_context():
        _against(world, EMPLOYER_VARIANTS[:4])
        assert current_warnings(Scope(), TODAY) == []


def test_the_credit_code_joins_cases_whatever_the_name(app, world):
    from app.analytics.warnings import current_warnings

    code = "91340200MA2TEST01X"
    with app.app_context():
        _against(world, ["宏达劳务", "宏达建筑公司", "宏达"], id_number=code)
        _against(world, ["宏达劳务"])             # no code, but this name was given with the code: same respondent
        _against(world, ["宏达建筑公司"], id_number=code.lower())
        [w] = _mass(current_warnings(Scope(), TODAY))
    assert (w["count"], w["respondent_key"]) == (5, f"id:{blind_index('id_number', code)}")


def test_mass_dispute_counts_only_the_organisations_own_cases(app, world):
    from app.analytics.warnings import current_warnings

    with app.app_context():
        _against(world, EMPLOYER_VARIANTS[:3], org="org1")
        _against(world, EMPLOYER_VARIANTS[3:5], org="org2")
        assert [w["count"] for w in _mass(current_warnings(Scope(), TODAY))] == [5]
        assert current_warnings(Scope(organisation_id=world["org1"]), TODAY) == []
        assert current_warnings(Scope(organisation_id=world["org2"]), TODAY) == []


def test_people_with_the_same_name_are_not_one_respondent(app, world):
    from app.analytics.warnings import current_warnings

    with app.app_context():
        _against(world, ["王伟"] * 6, category="tenancy", kind="person")  # six different people called 王伟
        assert _mass(current_warnings(Scope(), TODAY)) == []


def test_a_person_is_one_respondent_by_their_id_number(app, world):
    from app.analytics.warnings import current_warnings

    with app.app_context():
        _against(world, ["王伟", "王 伟", "王伟", "王伟", "王伟"], category="tenancy", kind="person",
                 id_number="340202198001011234")  # one landlord, five tenants
        [w] = _mass(current_warnings(Scope(), TODAY))
    assert (w["count"], w["respondent_key"]) == (5, f"id:{blind_index('id_number', '340202198001011234')}")


def test_a_case_naming_the_employer_twice_counts_once(app, world):
    """Grouped in SQL on the rollup: two spellings in one case are one case; the name shown is the one most cases
    give (ties: the earliest case's)."""
    from app.analytics.warnings import current_warnings
    from app.cases.models import CaseParty, PartyKind, PartyRole
    from app.extensions import db

    with app.app_context():
        ids = _against(world, ["宏达劳务有限公司", "宏达劳务(有限公司)", "宏达劳务(有限公司)", "宏达劳务有限公司"])
        db.session.add(CaseParty(case_id=ids[0], role=PartyRole.respondent, kind=PartyKind.organisation,
                                 name="宏达劳务（有限公司）"))
        db.session.commit()
        assert _mass(current_warnings(Scope(), TODAY)) == []  # 4 cases, 5 respondent rows: below the line
        ids += _against(world, ["宏达劳务有限公司"], days_ago=2)  # later than the rollups' watermark
        [w] = _mass(current_warnings(Scope(), TODAY))
    assert (w["count"], w["case_ids"], w["respondent"]) == (5, ids, "宏达劳务有限公司")
    assert w["respondent_key"] == "name:宏达劳务有限公司"
