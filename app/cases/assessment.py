"""The assessment report, computed: pure functions of plain inputs (no Flask, no database, no clock).

Court fees (诉讼费用交纳办法 art. 13, 15, 16), limitation periods (民法典 art. 188, 劳动争议调解仲裁法 art. 27)
against an injected `today`, the recommended path from the funnel rules, a small-claims hint, anonymised
similar cases and why the case has its category. Texts are codes and numbers: templates word them."""
from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from app.cases.assessment_rules import AssessmentRules, FeeSchedule, SmallClaims
from app.cases.rules import Category
from app.routing import Classification

CENT = Decimal("0.01")


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# --- court fees ------------------------------------------------------------------------------------
def property_fee_parts(amount: Decimal, s: FeeSchedule) -> list[dict]:
    """The fee of a property claim band by band: [{"low", "high", "rate", "fee"}] (rate None: the flat fee)."""
    amount = Decimal(amount)
    parts = [{"low": Decimal(0), "high": s.flat_upto, "rate": None, "fee": s.flat_fee}]
    low = s.flat_upto
    for band in s.bands:
        if amount <= low:
            break
        high = amount if band.upto is None else min(amount, band.upto)
        parts.append({"low": low, "high": high, "rate": band.rate, "fee": (high - low) * band.rate})
        low = band.upto if band.upto is not None else amount
    return parts


def property_fee(amount: Decimal, s: FeeSchedule) -> Decimal:
    """Case-acceptance fee of a property claim (art. 13(1)), cumulative by band, in yuan."""
    return _cents(sum((p["fee"] for p in property_fee_parts(amount, s)), Decimal(0)))


def divorce_fee(property_amount: Decimal | None, s: FeeSchedule) -> tuple[Decimal, Decimal]:
    """(lowest, highest) fee of a divorce case (art. 13(2)): 50-300, plus 0.5% of property above 200,000."""
    extra = Decimal(0)
    if property_amount is not None and Decimal(property_amount) > s.divorce_threshold:
        extra = (Decimal(property_amount) - s.divorce_threshold) * s.divorce_rate
    return _cents(s.divorce_min + extra), _cents(s.divorce_max + extra)


def reduction_factor(s: FeeSchedule, mediated: bool = False, summary: bool = False) -> Decimal:
    """Art. 15 (closed by mediation or withdrawn) and art. 16 (summary procedure): each halves the fee."""
    factors = [f for f, on in ((s.mediated_factor, mediated), (s.summary_factor, summary)) if on]
    if not factors:
        return Decimal(1)
    if s.combine_reductions:
        result = Decimal(1)
        for f in factors:
            result *= f
        return result
    return min(factors)


@dataclass(frozen=True)
class FeeEstimate:
    kind: str                 # property | labour | divorce
    amount: Decimal | None
    low: Decimal
    high: Decimal             # == low except for divorce (a range set by the province)
    mediated: bool = False
    summary: bool = False


def court_fee(amount: Decimal | None, kind: str, s: FeeSchedule, mediated: bool = False,
              summary: bool = False) -> FeeEstimate:
    """The fee estimate for one kind of case, with the art. 15/16 reductions applied."""
    if kind == "labour":
        low = high = s.labour_fee
    elif kind == "divorce":
        low, high = divorce_fee(amount, s)
    elif kind == "property":
        if amount is None:
            raise ValueError("a property claim needs its amount")
        low = high = property_fee(Decimal(amount), s)
    else:
        raise ValueError(f"unknown kind of case: {kind!r}")
    factor = reduction_factor(s, mediated, summary)
    return FeeEstimate(kind, None if amount is None else Decimal(amount), _cents(low * factor), _cents(high * factor),
                       mediated, summary)


def fee_scenarios(amount: Decimal | None, kind: str, s: FeeSchedule) -> dict | None:
    """The fee under judgment, if closed by mediation/withdrawn, and under the summary procedure."""
    if kind == "property" and amount is None:
        return None
    full = court_fee(amount, kind, s)
    return {"kind": kind, "amount": full.amount, "full": asdict(full),
            "mediated": asdict(court_fee(amount, kind, s, mediated=True)),
            "summary": asdict(court_fee(amount, kind, s, summary=True)),
            "parts": property_fee_parts(amount, s) if kind == "property" else []}


# --- limitation periods ----------------------------------------------------------------------------
def add_years(start: date, years: int) -> date:
    """The corresponding day `years` later; the month's last day when there is none (民法典 art. 202)."""
    year = start.year + years
    return start.replace(year=year, day=min(start.day, calendar.monthrange(year, start.month)[1]))


@dataclass(frozen=True)
class Limitation:
    code: str                    # general | labour_arbitration | not_subject
    years: int | None
    starts: date | None          # when the claimant learned of the harm
    deadline: date | None
    days_left: int | None
    status: str                  # ok | near | past | unknown | not_subject
    basis: str


def limitation(code: str, years: int, learned_on: date | None, today: date, warn_days: int, basis: str,
               began_on: date | None = None, longstop_years: int | None = None) -> Limitation:
    """One period counted from learned_on (ends on the corresponding day), capped by a longstop from began_on."""
    if learned_on is None:
        return Limitation(code, years, None, None, None, "unknown", basis)
    deadline = add_years(learned_on, years)
    if began_on is not None and longstop_years is not None:
        deadline = min(deadline, add_years(began_on, longstop_years))
    days_left = (deadline - today).days
    status = "past" if days_left < 0 else "near" if days_left < warn_days else "ok"
    return Limitation(code, years, learned_on, deadline, days_left, status, basis)


def limitations_for(category: Category, learned_on: date | None, began_on: date | None, today: date,
                    rules: AssessmentRules, lang: str = "zh") -> list[Limitation]:
    """The periods that matter for this category: labour arbitration (1 year), or the general 3 years."""
    if category.id in rules.not_subject:
        return [Limitation("not_subject", None, learned_on, None, None, "not_subject",
                           rules.not_subject[category.id][lang])]
    if category.arbitration == "statutory":
        return [limitation("labour_arbitration", rules.labour_years, learned_on, today, rules.warn_days,
                           rules.messages["labour_basis"][lang])]
    return [limitation("general", rules.general_years, learned_on, today, rules.warn_days,
                       rules.messages["general_basis"][lang], began_on, rules.longstop_years)]


# --- the path --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PathStep:
    code: str                    # see templates/assessment/_report.html for the wording of each code
    days: int | None = None
    text: str | None = None      # a rule message, already in the reader's language


def _msg(messages: dict[str, str], name: str, lang: str) -> str | None:
    return messages.get(f"{name}_{lang}") or messages.get(f"{name}_zh")


def recommended_path(category: Category, has_arbitration_agreement: bool, rules: AssessmentRules,
                     lang: str = "zh") -> list[PathStep]:
    """Mediation first; labour: labour mediation, then labour arbitration, court only after; family: no
    arbitration; referral categories: where to go instead."""
    if not category.mediable:
        where = rules.referrals.get(category.id)
        return [PathStep("referral", text=where[lang] if where else _msg(category.messages, "mediation_refused", lang))]
    if category.arbitration == "statutory":
        steps = [PathStep("labour_mediation", days=category.mediation_time_limit_days),
                 PathStep("labour_arbitration", text=_msg(category.messages, "litigation_refused", lang))]
        if category.litigation_after_award:
            steps.append(PathStep("litigation_after_award", days=15))
        return steps
    steps = [PathStep("mediation", days=category.mediation_time_limit_days), PathStep("judicial_confirmation", days=30)]
    if category.arbitration == "none":
        steps.append(PathStep("no_arbitration", text=_msg(category.messages, "arbitration_refused", lang)))
    elif has_arbitration_agreement:
        steps.append(PathStep("arbitration_agreed"))
        return steps
    else:
        steps.append(PathStep("arbitration_if_agreement"))
    steps.append(PathStep("litigation"))
    return steps


def small_claims_hint(category: Category, amount: Decimal | None, kind: str, sc: SmallClaims,
                      lang: str = "zh") -> dict | None:
    """A hint (not a rule) that a simple money claim up to the ceiling may go to the small-claims procedure."""
    if amount is None or amount <= 0 or kind != "property" or not category.mediable:
        return None
    if (category.group or "") in sc.excluded_groups or Decimal(amount) > sc.ceiling:
        return None
    return {"ceiling": sc.ceiling, "wage": sc.annual_average_wage, "wage_year": sc.wage_year,
            "province": sc.province[lang], "ratio_percent": int(sc.ratio * 100)}


# --- why this category -----------------------------------------------------------------------------
def category_reasons(category_id: str | None, classification: Classification | None,
                     labels: dict[str, str]) -> dict:
    """The words that point to the case's category, and whether the routing classifier agrees."""
    if classification is None:
        return {"words": [], "agrees": None, "system_category": None, "confidence": None, "uncertain": True}
    own = next((c for c in classification.ranked if c.id == category_id), None)
    words = list(dict.fromkeys(m.found for m in (own.matched if own else []) if m.kind != "negative"))
    top = classification.top
    return {"words": words[:12], "agrees": bool(top and top.id == category_id),
            "system_category": labels.get(top.id, top.zh) if top else None,
            "confidence": round(own.confidence, 2) if own else None, "uncertain": classification.uncertain}


# --- similar past cases ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PastCase:
    """A concluded case reduced to what may be shown to anyone: no names, titles, ids or texts."""

    amount: Decimal | None
    outcome: str                 # a CaseStatus value (settled, withdrawn, ...) or a stage it moved on to
    days: int | None             # filing to conclusion


def amount_band(amount: Decimal | None, edges: tuple[Decimal, ...]) -> tuple[Decimal | None, Decimal | None] | None:
    """(low, high) of the band holding amount (None ends are open); None when there is no amount."""
    if amount is None:
        return None
    low = None
    for edge in edges:
        if amount <= edge:
            return (low, edge)
        low = edge
    return (low, None)


def similar_summary(past: list[PastCase], amount: Decimal | None, rules: AssessmentRules) -> dict:
    """Counts by outcome and a few examples (same amount band first); nothing when there are too few cases."""
    summary = {"total": len(past), "shown": len(past) >= rules.similar_min_cases,
               "min_cases": rules.similar_min_cases, "outcomes": [], "examples": [], "median_days": None}
    if not summary["shown"]:
        return summary
    counts: dict[str, int] = {}
    for case in past:
        counts[case.outcome] = counts.get(case.outcome, 0) + 1
    summary["outcomes"] = [{"outcome": k, "count": v} for k, v in sorted(counts.items(), key=lambda kv: -kv[1])]
    days = sorted(c.days for c in past if c.days is not None)
    summary["median_days"] = days[len(days) // 2] if days else None
    mine = amount_band(amount, rules.amount_bands)
    ordered = sorted(past, key=lambda c: amount_band(c.amount, rules.amount_bands) != mine)
    summary["examples"] = [{"band": amount_band(c.amount, rules.amount_bands), "outcome": c.outcome, "days": c.days}
                           for c in ordered[:rules.similar_max_examples]]
    return summary


# --- the report ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseFacts:
    """What the report needs to know about the case, as plain values."""

    id: int
    title: str
    category: Category
    amount: Decimal | None
    began_on: date | None
    learned_on: date | None
    has_arbitration_agreement: bool
    stage: str = ""
    status: str = ""
    extra: dict = field(default_factory=dict)


def build_report(facts: CaseFacts, rules: AssessmentRules, today: date, *, classification: dict,
                 similar: dict, handler: dict, lang: str = "zh") -> dict:
    """The whole report as plain data (for the page and, unchanged, for the PDF)."""
    cat = facts.category
    kind = rules.fees.kind_for(cat.id)
    limits = limitations_for(cat, facts.learned_on, facts.began_on, today, rules, lang) if cat.mediable else []
    return {
        "generated_on": today,
        "case": {"id": facts.id, "title": facts.title, "category_id": cat.id,
                 "category": cat.en if lang == "en" else cat.zh, "amount": facts.amount,
                 "began_on": facts.began_on, "learned_on": facts.learned_on, "stage": facts.stage,
                 "status": facts.status, "group": cat.group, "mediable": cat.mediable, **facts.extra},
        "classification": classification,
        "path": [asdict(s) for s in recommended_path(cat, facts.has_arbitration_agreement, rules, lang)],
        "small_claims": small_claims_hint(cat, facts.amount, kind, rules.small_claims, lang),
        "limitations": [asdict(x) for x in limits],
        "limitation_note": (rules.category_notes.get(cat.id) or {}).get(lang),
        "fees": fee_scenarios(facts.amount, kind, rules.fees) if cat.mediable else None,
        "similar": similar,
        "handler": handler,
    }
