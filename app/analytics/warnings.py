"""Early warning on the governance dashboard: spikes per county x category, and mass disputes against one respondent.

`current_warnings(scope, today)` returns plain dicts (the dashboard draws them). Both detectors count from rollups
kept by app/analytics/rollups.py (dash_daily: new cases per Beijing day, county and category, over 9 weeks for
spikes; dash_respondents: one row per case and respondent as named, over `window_days` for mass disputes); only the
few spikes that fire go back to the cases for their case ids. The thresholds and the wording are rules as data:
mediation_rules/warnings.yaml. The statistics live in app/analytics/spikes.py.

Scope: `organisation_id` restricts to that organisation's cases; `since`/`until` are ignored here (a warning is
always about the weeks up to `today`)."""
from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa

from app.analytics import rollups
from app.analytics.queries import Scope
from app.analytics.spikes import SpikeRule, detect_spike
from app.cases.models import Case
from app.cases.rules import RulesError, current_rules, load_rules, read_rules_file
from app.core.i18n import is_english, localized
from app.core.time import beijing_date, beijing_today, day_start_utc
from app.extensions import db

MAX_CASE_IDS = 200
MESSAGES = ("spike_title", "spike_why", "region", "mass_title", "mass_why")
_SAMPLE = {"region": "x", "category": "x", "count": 1, "baseline": 1, "lam": 1, "p": 1, "alpha": 1, "code": "x",
           "respondent": "x", "days": 1, "categories": "x", "min_cases": 1}


@dataclass(frozen=True)
class MassRule:
    window_days: int
    min_cases: int
    high_cases: int
    categories: frozenset[str]  # empty: every category


@dataclass(frozen=True)
class WarningRules:
    spikes: SpikeRule
    mass: MassRule
    messages: dict[str, str]


# --- rules --------------------------------------------------------------------------------
def _number(where: str, value, kind: type, low: float, high: float | None = None):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        raise RulesError(f"warnings.yaml {where}: {value!r} is not {'a whole number' if kind is int else 'a number'}")
    if value < low or (high is not None and value > high):
        raise RulesError(f"warnings.yaml {where}: {value!r} is outside [{low}, {high if high is not None else '∞'}]")
    return kind(value)


def _section(data: dict, name: str, keys: set[str]) -> dict:
    section = data.get(name)
    if not isinstance(section, dict):
        raise RulesError(f"warnings.yaml: missing the mapping {name}:")
    if set(section) != keys:
        raise RulesError(f"warnings.yaml {name}: expected keys {sorted(keys)}, found {sorted(section)}")
    return section


def parse_warning_rules(data: dict, category_ids: set[str]) -> WarningRules:
    """warnings.yaml as WarningRules, raising RulesError on anything the detectors cannot use."""
    s = _section(data, "spikes", {"weeks_baseline", "alpha", "alpha_high", "lambda_floor", "min_count"})
    spikes = SpikeRule(weeks_baseline=_number("spikes.weeks_baseline", s["weeks_baseline"], int, 1, 52),
                       alpha=_number("spikes.alpha", s["alpha"], float, 1e-12, 0.5),
                       alpha_high=_number("spikes.alpha_high", s["alpha_high"], float, 0, 0.5),
                       lambda_floor=_number("spikes.lambda_floor", s["lambda_floor"], float, 0.01),
                       min_count=_number("spikes.min_count", s["min_count"], int, 1))
    if spikes.alpha_high > spikes.alpha:
        raise RulesError("warnings.yaml spikes: alpha_high must not exceed alpha")
    m = _section(data, "mass_disputes", {"window_days", "min_cases", "high_cases", "categories"})
    categories = m["categories"] or []
    if not isinstance(categories, list) or set(categories) - category_ids:
        raise RulesError(f"warnings.yaml mass_disputes.categories: unknown categories "
                         f"{sorted(set(categories) - category_ids) if isinstance(categories, list) else categories}")
    mass = MassRule(window_days=_number("mass_disputes.window_days", m["window_days"], int, 1, 366),
                    min_cases=_number("mass_disputes.min_cases", m["min_cases"], int, 2),
                    high_cases=_number("mass_disputes.high_cases", m["high_cases"], int, 2),
                    categories=frozenset(categories))
    return WarningRules(spikes=spikes, mass=mass, messages=_messages(data.get("messages")))


def _messages(messages) -> dict[str, str]:
    if not isinstance(messages, dict):
        raise RulesError("warnings.yaml: missing the mapping messages:")
    for name in MESSAGES:
        if not isinstance(messages.get(f"{name}_zh"), str):
            raise RulesError(f"warnings.yaml messages: {name}_zh is missing")
    for key, text in messages.items():
        if not key.endswith(("_zh", "_en")) or not isinstance(text, str) or not text.strip():
            raise RulesError(f"warnings.yaml messages: {key} must be a non-empty <name>_zh or <name>_en text")
        try:
            text.format(**_SAMPLE)
        except (KeyError, IndexError, ValueError) as exc:
            raise RulesError(f"warnings.yaml messages: {key} has a bad placeholder: {exc}") from exc
    return messages


@lru_cache(maxsize=4)
def load_warning_rules(rules_dir: str) -> WarningRules:
    """mediation_rules/warnings.yaml of a rules directory, validated (categories checked against categories.yaml)."""
    categories = set(load_rules(rules_dir).categories)
    return parse_warning_rules(read_rules_file(Path(rules_dir) / "warnings.yaml"), categories)


def current_warning_rules() -> WarningRules:
    """The warning rules of the running app (RULES_DIR)."""
    from flask import current_app

    return load_warning_rules(str(current_app.config["RULES_DIR"]))


# --- helpers ------------------------------------------------------------------------------
_NOT_WORD = re.compile(r"[\W_]+")  # whitespace, punctuation and symbols of any script (CJK characters are \w)


def normalise_name(name: str | None) -> str:
    """A respondent's name compared loosely: full-width -> half-width (NFKC), no whitespace, punctuation or symbols,
    lower case. Suffixes such as 有限公司 are kept: "某某劳务（芜湖）有限公司" == "某某劳务 (芜湖) 有限公司"."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", name or "")).lower()


def _rows(stmt) -> list:
    """Plain rows through Core (tens of thousands of tuples: the ORM's per-row bookkeeping would double the time)."""
    return db.session.connection().execute(stmt).all()


def _scoped(stmt, scope: Scope):
    return stmt.where(Case.organisation_id == scope.organisation_id) if scope.organisation_id is not None else stmt


def _fmt(x: float) -> str:
    """2.0 -> '2', 2.375 -> '2.4'."""
    return f"{x:.1f}".removesuffix(".0")


def _fmt_p(p: float) -> str:
    return f"{p:.2g}" if p >= 0.0001 else f"{p:.1e}"


def _category_label(category_id: str | None) -> str:
    category = current_rules().category(category_id)
    return category.label if category else (category_id or "—")


class _Labels(dict):
    """Category labels in the current language, looked up once each."""

    def __missing__(self, category_id: str) -> str:
        self[category_id] = _category_label(category_id)
        return self[category_id]


def _msg(rules: WarningRules, name: str, **values) -> str:
    return localized(rules.messages, name).format(**values)


# --- spikes -------------------------------------------------------------------------------
def week_starts(today: date, weeks: int) -> list[datetime]:
    """Start instants (naive UTC) of week 0 (the 7 days ending with today), week 1, ... week `weeks`; plus, last,
    the end of today."""
    return [day_start_utc(today - timedelta(days=6 + 7 * k)) for k in range(weeks + 1)] + [
        day_start_utc(today + timedelta(days=1))]


def _rollup_scope(table: sa.Table, scope: Scope, *, totals: bool):
    """The rollup rows of the scope: one organisation's, or the platform's (the ALL_ORGS totals where kept)."""
    if scope.organisation_id is not None:
        return table.c.org_id == scope.organisation_id
    return table.c.org_id == rollups.ALL_ORGS if totals else table.c.org_id >= 0


def _weekly_counts(scope: Scope, starts: list[datetime]) -> dict[tuple[str, str], list[int]]:
    """{(county, category): [count in week 0, week 1, ...]} from the daily rollup (a few thousand rows)."""
    weeks = len(starts) - 1
    days = [beijing_date(moment).isoformat() for moment in starts]  # week k: days[k] <= day < days[k-1]
    t = rollups.daily
    week = sa.case(*[(t.c.day >= days[k], k) for k in range(weeks - 1)], else_=weeks - 1)
    stmt = sa.select(t.c.county, t.c.category, week, sa.func.sum(t.c.n)).where(
        _rollup_scope(t, scope, totals=True), t.c.day >= days[weeks - 1], t.c.day < days[-1],
    ).group_by(t.c.county, t.c.category, week)
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * weeks)
    for county, category, k, n in _rows(stmt):
        counts[(county, category)][int(k)] += int(n)
    return counts


def _week_case_ids(scope: Scope, pairs: list[tuple[str, str]], start: datetime, end: datetime) -> dict:
    """{(county, category): the first MAX_CASE_IDS case ids of the week} for the spikes found, in one query (one pass
    over the week's cases, not one per spike)."""
    if not pairs:
        return {}
    county = sa.func.substr(Case.region_code, 1, 6)
    stmt = _scoped(sa.select(county, Case.category, Case.id).where(
        Case.created_at >= start, Case.created_at < end, Case.category.in_(sorted({c for _, c in pairs})),
        county.in_(sorted({r for r, _ in pairs})),
    ).order_by(Case.id), scope)
    ids: dict[tuple[str, str], list[int]] = {pair: [] for pair in pairs}
    for region, category, case_id in _rows(stmt):
        found = ids.get((region, category))
        if found is not None and len(found) < MAX_CASE_IDS:
            found.append(case_id)
    return ids


def spike_warnings(scope: Scope, today: date, rules: WarningRules) -> list[dict]:
    """Counties x categories whose count in the last 7 days is improbably high against the previous weeks."""
    rule = rules.spikes
    starts = week_starts(today, rule.weeks_baseline)
    found = []
    for (county, category), weeks in _weekly_counts(scope, starts).items():
        spike = detect_spike(weeks[0], weeks[1:], rule)
        if spike:
            found.append((spike, county, category))
    found.sort(key=lambda f: (f[0].p_value, f[1], f[2]))
    case_ids = _week_case_ids(scope, [(county, category) for _, county, category in found], starts[0], starts[-1])
    warnings = []
    for spike, county, category in found:
        region, label = _msg(rules, "region", code=county), _category_label(category)
        values = {"region": region, "category": label, "count": spike.count, "baseline": _fmt(spike.baseline),
                  "lam": _fmt(spike.lam), "p": _fmt_p(spike.p_value), "alpha": _fmt_p(rule.alpha)}
        warnings.append({
            "kind": "spike", "severity": spike.severity,
            "title": _msg(rules, "spike_title", **values), "why": _msg(rules, "spike_why", **values),
            "region": county, "region_label": region, "category": category, "category_label": label,
            "respondent": None, "count": spike.count, "baseline": spike.baseline, "p_value": spike.p_value,
            "case_ids": case_ids[(county, category)],
        })
    return warnings


# --- mass disputes ------------------------------------------------------------------------
def _respondent_pairs(scope: Scope, rule: MassRule, start: datetime, end: datetime) -> list:
    """The window's respondents rollup rows grouped by (code key, name key, name as written), each with its cases
    packed as "case_id:category:county:case_id:..." (aggregated in SQL: a few thousand rows come back, not one per
    case and respondent; one flat split per row in Python)."""
    t = rollups.respondents
    packed = sa.func.aggregate_strings(
        sa.cast(t.c.case_id, sa.String) + ":" + t.c.category + ":" + t.c.county, ":")
    stmt = sa.select(t.c.id_key, t.c.name_key, t.c.name, packed).where(
        _rollup_scope(t, scope, totals=False), t.c.day >= beijing_date(start).isoformat(),
        t.c.day < beijing_date(end).isoformat()).group_by(t.c.id_key, t.c.name_key, t.c.name)
    if rule.categories:
        stmt = stmt.where(t.c.category.in_(sorted(rule.categories)))
    return _rows(stmt)


def _identity(pairs: list) -> dict[tuple[str, str], str | None]:
    """{(code key, name key): identity}: id:<blind index of the code> when given, else the code given with that
    (normalised) name when exactly one was in the window, so "某某公司" without a code and with one count together,
    else name:<normalised name>; None when there is nothing to go by."""
    codes_by_name: dict[str, set[str]] = defaultdict(set)
    for code, name_key, _name, _packed in pairs:
        if code:
            codes_by_name[name_key].add(code)
    code_of_name = {name: next(iter(codes)) for name, codes in codes_by_name.items() if len(codes) == 1}
    return {(code, name_key): f"id:{code}" if code else (f"id:{code_of_name[name_key]}" if name_key in code_of_name
                                                        else (f"name:{name_key}" if name_key else None))
            for code, name_key, _name, _packed in pairs}


def _mass_groups(scope: Scope, rule: MassRule, start: datetime, end: datetime) -> dict[str, dict]:
    """{identity: {"cases": {case_id: (category, county)} in case id order, "names": Counter}} for identities with
    >= min_cases (a case naming one employer twice, in two spellings, counts once). Names are counted per case that
    gives them and, like the cases, in case id order (most_common breaks ties by the earliest case)."""
    pairs = _respondent_pairs(scope, rule, start, end)
    identity = _identity(pairs)
    bound: Counter = Counter()  # rows per identity: at least its number of cases
    for code, name_key, _name, packed in pairs:
        bound[identity[(code, name_key)]] += (packed.count(":") + 1) // 3
    members: dict[str, list] = defaultdict(list)
    for code, name_key, name, packed in pairs:
        key = identity[(code, name_key)]
        if key is not None and bound[key] >= rule.min_cases:
            members[key].append((name, packed))
    groups: dict[str, dict] = {}
    for key, named in members.items():
        cases: dict[int, tuple] = {}
        names: dict[str, list[int]] = {}  # name as shown -> [cases giving it, its earliest case]
        for name, packed in named:
            name = name.strip()
            fields = packed.split(":")
            for i in range(0, len(fields), 3):
                case_id = int(fields[i])
                cases[case_id] = (fields[i + 1], fields[i + 2] or None)
                seen = names.get(name)
                if seen is None:
                    names[name] = [1, case_id]
                else:
                    seen[0] += 1
                    seen[1] = min(seen[1], case_id)
        if len(cases) >= rule.min_cases:
            order = sorted(names, key=lambda n: (names[n][1], n))
            groups[key] = {"cases": dict(sorted(cases.items())), "names": Counter({n: names[n][0] for n in order})}
    return groups


def _categories_text(by_category: Counter, english: bool, labels: dict[str, str]) -> str:
    if english:
        return ", ".join(f"{labels[c]}: {n}" for c, n in by_category.most_common())
    return "、".join(f"{labels[c]}{n}件" for c, n in by_category.most_common())


def mass_dispute_warnings(scope: Scope, today: date, rules: WarningRules) -> list[dict]:
    """Respondents with min_cases or more cases filed against them within window_days up to today."""
    rule = rules.mass
    start, end = day_start_utc(today - timedelta(days=rule.window_days - 1)), day_start_utc(today + timedelta(days=1))
    warnings = []
    english, labels = is_english(), _Labels()  # once per call, not per warning (there may be hundreds)
    for key, group in _mass_groups(scope, rule, start, end).items():
        cases = group["cases"]
        by_category = Counter(c for c, _ in cases.values())
        by_county = Counter(r for _, r in cases.values() if r)
        respondent = group["names"].most_common(1)[0][0]
        values = {"respondent": respondent, "count": len(cases), "days": rule.window_days,
                  "categories": _categories_text(by_category, english, labels), "min_cases": rule.min_cases}
        warnings.append({
            "kind": "mass_dispute", "severity": "high" if len(cases) >= rule.high_cases else "medium",
            "title": _msg(rules, "mass_title", **values), "why": _msg(rules, "mass_why", **values),
            "region": by_county.most_common(1)[0][0] if by_county else None,
            "category": by_category.most_common(1)[0][0], "categories": [c for c, _ in by_category.most_common()],
            "respondent": respondent, "respondent_key": key, "count": len(cases),
            "case_ids": sorted(cases)[:MAX_CASE_IDS],
        })
    warnings.sort(key=lambda w: (-w["count"], w["respondent"]))
    return warnings


# --- the dashboard's entry point ----------------------------------------------------------
def current_warnings(scope: Scope, today: date | None = None) -> list[dict]:
    """Every warning for the scope as of `today` (Beijing date; default: now), high severity first.

    Each: {"kind": "spike" | "mass_dispute", "title", "why", "region" (6-digit county code or None), "category",
    "respondent" (mass disputes; None for spikes), "case_ids" (at most 200), "severity": "high" | "medium",
    "count"} plus, for spikes, "region_label", "category_label", "baseline", "p_value"; for mass disputes,
    "categories" (ids, most cases first) and "respondent_key" (id:<blind index of the code> or name:<normalised
    name>)."""
    today = today or beijing_today()
    rules = current_warning_rules()
    rollups.ensure_fresh()
    # The detectors read only the rollups (and, for the few groups that fire, the cases behind them), so their answer
    # changes only when the rollups do: remembered per scope, day, language and rollup watermark (this process).
    mark = db.session.connection().execute(sa.select(rollups.watermark)).first()
    key = (scope, today, id(rules), is_english(), tuple(mark) if mark else None)
    if key not in _REMEMBERED:
        warnings = spike_warnings(scope, today, rules) + mass_dispute_warnings(scope, today, rules)
        if len(_REMEMBERED) >= 64:
            _REMEMBERED.pop(next(iter(_REMEMBERED)))
        # stable sort: spikes, then mass disputes, each in its own order
        _REMEMBERED[key] = sorted(warnings, key=lambda w: w["severity"] != "high")
    return [dict(w) for w in _REMEMBERED[key]]


_REMEMBERED: dict[tuple, list[dict]] = {}


def print_warnings(scope: Scope, today: date | None = None) -> None:
    """Print the current warnings (for a CLI command such as `flask dashboard warnings [--org ID]`)."""
    import click

    warnings = current_warnings(scope, today)
    for w in warnings:
        ids = ", ".join(map(str, w["case_ids"][:20])) + (" …" if len(w["case_ids"]) > 20 else "")
        click.echo(f"[{w['severity']}] {w['title']}\n  {w['why']}\n  cases: {ids}")
    click.echo(f"{len(warnings)} warning(s)")
