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
from app.core.web import CHINA_TZ
from app.extensions import db

MAX_CASE_IDS = 200
UTC_OFFSET = timedelta(hours=8)  # Beijing midnight is 16:00 UTC the day before; created_at is naive UTC
ID_RE = re.compile(r"^[0-9A-Z]{15,18}$")  # unified social credit code (18) or citizen ID (15/18)
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
def local_today() -> date:
    """Today in Beijing."""
    return datetime.now(CHINA_TZ).date()


def day_start_utc(day: date) -> datetime:
    """The naive-UTC instant a Beijing calendar day begins."""
    return datetime(day.year, day.month, day.day) - UTC_OFFSET


_NOT_WORD = re.compile(r"[\W_]+")  # whitespace, punctuation and symbols of any script (CJK characters are \w)


def normalise_name(name: str | None) -> str:
    """A respondent's name compared loosely: full-width -> half-width (NFKC), no whitespace, punctuation or symbols,
    lower case. Suffixes such as 有限公司 are kept: "某某劳务（芜湖）有限公司" == "某某劳务 (芜湖) 有限公司"."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", name or "")).lower()


def normalise_id(id_number: str | None) -> str | None:
    """A unified social credit code or ID number, upper case without spaces, or None when it does not look like one."""
    if not id_number:
        return None
    text = _NOT_WORD.sub("", unicodedata.normalize("NFKC", id_number)).upper()
    return text if ID_RE.match(text) else None


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
    days = [rollups.beijing_date(moment).isoformat() for moment in starts]  # week k: days[k] <= day < days[k-1]
    t = rollups.daily
    week = sa.case(*[(t.c.day >= days[k], k) for k in range(weeks - 1)], else_=weeks - 1)
    stmt = sa.select(t.c.county, t.c.category, week, sa.func.sum(t.c.n)).where(
        _rollup_scope(t, scope, totals=True), t.c.day >= days[weeks - 1], t.c.day < days[-1],
    ).group_by(t.c.county, t.c.category, week)
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * weeks)
    for county, category, k, n in _rows(stmt):
        counts[(county, category)][int(k)] += int(n)
    return counts


def _week_case_ids(scope: Scope, county: str, category: str, start: datetime, end: datetime) -> list[int]:
    stmt = _scoped(sa.select(Case.id).where(
        Case.created_at >= start, Case.created_at < end, Case.category == category,
        sa.func.substr(Case.region_code, 1, 6) == county,
    ).order_by(Case.id).limit(MAX_CASE_IDS), scope)
    return list(db.session.scalars(stmt))


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
            "case_ids": _week_case_ids(scope, county, category, starts[0], starts[-1]),
        })
    return warnings


# --- mass disputes ------------------------------------------------------------------------
class _Identities:
    """Respondent identity: the normalised code when given, else the normalised name; a name seen with exactly one
    code (in the window) joins that code's group, so "某某公司" without a code and with one count together."""

    def __init__(self, pairs) -> None:
        normal = {(i, n): (normalise_id(i), normalise_name(n)) for i, n in pairs}
        codes_by_name: dict[str, set[str]] = defaultdict(set)
        for code, name in normal.values():
            if code:
                codes_by_name[name].add(code)
        code_of_name = {name: next(iter(codes)) for name, codes in codes_by_name.items() if len(codes) == 1}
        self._keys = {pair: f"id:{code}" if code else (f"id:{code_of_name[name]}" if name in code_of_name else
                                                       (f"name:{name}" if name else None))
                      for pair, (code, name) in normal.items()}

    def key(self, id_number: str | None, name: str | None) -> str | None:
        return self._keys.get((id_number, name))


def _mass_groups(scope: Scope, rule: MassRule, start: datetime, end: datetime) -> dict[str, dict]:
    """{identity: {"cases": {case_id: (category, county)}, "names": Counter}} for identities with >= min_cases,
    from the respondents rollup (one row per case and respondent as named, a few thousand in a month)."""
    t = rollups.respondents
    stmt = sa.select(t.c.id_number, t.c.name, t.c.case_id, t.c.category, t.c.county).where(
        _rollup_scope(t, scope, totals=False), t.c.day >= rollups.beijing_date(start).isoformat(),
        t.c.day < rollups.beijing_date(end).isoformat())
    if rule.categories:
        stmt = stmt.where(t.c.category.in_(sorted(rule.categories)))
    rows = [(i or None, name, case_id, category, county or None) for i, name, case_id, category, county in _rows(stmt)]
    identities = _Identities({(i, name) for i, name, *_ in rows})
    keyed = [(identities.key(i, name), name, case_id, category, county) for i, name, case_id, category, county in rows]
    # A case naming one employer twice (two spellings) counts once.
    counts = Counter(key for key, _case in {(key, case_id) for key, _n, case_id, _c, _r in keyed} if key)
    groups: dict[str, dict] = {key: {"cases": {}, "names": Counter()} for key, n in counts.items()
                               if n >= rule.min_cases}
    for key, name, case_id, category, county in sorted(keyed, key=lambda k: k[2]):
        group = groups.get(key)
        if group is not None:
            group["cases"][case_id] = (category, county)
            group["names"][name.strip()] += 1
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
    "categories" (ids, most cases first) and "respondent_key" (id:<code> or name:<normalised name>)."""
    today = today or local_today()
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
