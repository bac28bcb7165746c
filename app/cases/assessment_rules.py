"""Read and validate mediation_rules/fees.yaml and assessment.yaml (once per process) into plain dataclasses."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from app.cases.rules import RulesError, read_rules_file

FEE_KINDS = ("property", "labour", "divorce")


@dataclass(frozen=True)
class FeeBand:
    upto: Decimal | None     # top of the band; None: no top
    rate: Decimal


@dataclass(frozen=True)
class FeeSchedule:
    """诉讼费用交纳办法 art. 13, 15, 16 as numbers."""

    flat_upto: Decimal
    flat_fee: Decimal
    bands: tuple[FeeBand, ...]
    labour_fee: Decimal
    divorce_min: Decimal
    divorce_max: Decimal
    divorce_threshold: Decimal
    divorce_rate: Decimal
    mediated_factor: Decimal
    summary_factor: Decimal
    combine_reductions: bool
    category_kinds: dict[str, str]

    def kind_for(self, category_id: str | None) -> str:
        return self.category_kinds.get(category_id or "", "property")


@dataclass(frozen=True)
class SmallClaims:
    province: dict[str, str]          # {"zh": ..., "en": ...}
    wage_year: int
    annual_average_wage: Decimal
    ratio: Decimal
    excluded_groups: frozenset[str]

    @property
    def ceiling(self) -> Decimal:
        return (self.annual_average_wage * self.ratio).quantize(Decimal("1"))


@dataclass(frozen=True)
class AssessmentRules:
    fees: FeeSchedule
    small_claims: SmallClaims
    warn_days: int
    general_years: int
    longstop_years: int
    labour_years: int
    messages: dict[str, dict[str, str]]     # name -> {"zh": ..., "en": ...}
    not_subject: dict[str, dict[str, str]]  # category id -> basis {"zh", "en"}
    referrals: dict[str, dict[str, str]]    # category id -> where to go {"zh", "en"}
    category_notes: dict[str, dict[str, str]]  # category id -> a note on its limitation period
    similar_min_cases: int
    similar_max_examples: int
    amount_bands: tuple[Decimal, ...]




def _dec(where: str, value, *, allow_none: bool = False) -> Decimal | None:
    if value is None and allow_none:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise RulesError(f"{where}: {value!r} is not a number") from exc
    if number < 0:
        raise RulesError(f"{where}: must not be negative")
    return number


def _message(where: str, mapping: dict, name: str) -> dict[str, str]:
    zh = mapping.get(f"{name}_zh")
    if not isinstance(zh, str) or not zh.strip():
        raise RulesError(f"{where}: {name}_zh must be a non-empty text")
    return {"zh": zh, "en": mapping.get(f"{name}_en") or zh}


def _bands(raw) -> tuple[FeeBand, ...]:
    if not isinstance(raw, list) or not raw:
        raise RulesError("fees.yaml property.bands: a non-empty list is required")
    bands = tuple(FeeBand(_dec(f"fees.yaml band {i} upto", b.get("upto"), allow_none=True),
                          _dec(f"fees.yaml band {i} rate", b.get("rate"))) for i, b in enumerate(raw))
    tops = [b.upto for b in bands[:-1]]
    if None in tops or bands[-1].upto is not None or tops != sorted(set(tops)):
        raise RulesError("fees.yaml property.bands: tops must rise, and only the last band is open (upto: null)")
    return bands


def parse_fees(data: dict) -> tuple[FeeSchedule, SmallClaims]:
    """fees.yaml as numbers; RulesError names what is wrong."""
    try:
        prop, divorce, red, sc = data["property"], data["divorce"], data["reductions"], data["small_claims"]
        kinds = dict(data.get("category_kinds") or {})
        bad = {k: v for k, v in kinds.items() if v not in FEE_KINDS}
        if bad:
            raise RulesError(f"fees.yaml category_kinds: unknown kinds {bad}")
        schedule = FeeSchedule(
            flat_upto=_dec("flat_upto", prop["flat_upto"]), flat_fee=_dec("flat_fee", prop["flat_fee"]),
            bands=_bands(prop["bands"]), labour_fee=_dec("labour.fee", data["labour"]["fee"]),
            divorce_min=_dec("divorce.min_fee", divorce["min_fee"]), divorce_max=_dec("divorce.max_fee", divorce["max_fee"]),
            divorce_threshold=_dec("divorce.property_threshold", divorce["property_threshold"]),
            divorce_rate=_dec("divorce.property_rate", divorce["property_rate"]),
            mediated_factor=_dec("reductions.mediated", red["mediated"]),
            summary_factor=_dec("reductions.summary", red["summary"]),
            combine_reductions=bool(red.get("combine", False)), category_kinds=kinds)
        small = SmallClaims(province={"zh": sc["province_zh"], "en": sc.get("province_en") or sc["province_zh"]},
                            wage_year=int(sc["wage_year"]),
                            annual_average_wage=_dec("small_claims.annual_average_wage", sc["annual_average_wage"]),
                            ratio=_dec("small_claims.ratio", sc["ratio"]),
                            excluded_groups=frozenset(sc.get("excluded_groups") or ()))
    except (KeyError, TypeError) as exc:
        raise RulesError(f"fees.yaml: missing or malformed entry {exc}") from exc
    if schedule.bands[0].upto <= schedule.flat_upto:
        raise RulesError("fees.yaml: the first band must end above flat_upto")
    return schedule, small


def parse_assessment(data: dict) -> dict:
    """assessment.yaml's fields for AssessmentRules; RulesError names what is wrong."""
    try:
        lim = data["limitation"]
        sim = data["similar_cases"]
        messages = {"general_basis": _message("limitation.general", lim["general"], "basis"),
                    "labour_basis": _message("limitation.labour_arbitration", lim["labour_arbitration"], "basis")}
        edges = tuple(_dec("similar_cases.amount_bands", e) for e in sim["amount_bands"])
        if list(edges) != sorted(set(edges)):
            raise RulesError("assessment.yaml similar_cases.amount_bands must rise")
        return dict(
            warn_days=int(lim["warn_days"]), general_years=int(lim["general"]["years"]),
            longstop_years=int(lim["general"]["longstop_years"]), labour_years=int(lim["labour_arbitration"]["years"]),
            messages=messages,
            not_subject={cid: _message(f"not_subject.{cid}", v, "basis") for cid, v in (lim.get("not_subject") or {}).items()},
            category_notes={cid: _message(f"category_notes.{cid}", v, "note")
                            for cid, v in (data.get("category_notes") or {}).items()},
            referrals={cid: _message(f"referrals.{cid}", v, "where") for cid, v in (data.get("referrals") or {}).items()},
            similar_min_cases=int(sim["min_cases"]), similar_max_examples=int(sim["max_examples"]), amount_bands=edges)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, RulesError):
            raise
        raise RulesError(f"assessment.yaml: missing or malformed entry {exc}") from exc


@lru_cache(maxsize=4)
def load_assessment_rules(rules_dir: str) -> AssessmentRules:
    """fees.yaml + assessment.yaml of a rules directory, validated."""
    base = Path(rules_dir)
    fees, small = parse_fees(read_rules_file(base / "fees.yaml"))
    return AssessmentRules(fees=fees, small_claims=small, **parse_assessment(read_rules_file(base / "assessment.yaml")))


def current_assessment_rules() -> AssessmentRules:
    """The assessment rules of the running app (RULES_DIR)."""
    from flask import current_app

    return load_assessment_rules(str(current_app.config["RULES_DIR"]))
