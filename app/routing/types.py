"""Plain dataclasses going into and out of the routing engine (no ORM objects cross this line)."""
from __future__ import annotations

from dataclasses import dataclass, field

TIERS = ("village", "town", "county")            # lowest first: 小事不出村、大事不出镇
MEDIATING_ORG_TYPES = ("people_mediation", "trade_mediation", "lawyer_mediation")


@dataclass(frozen=True)
class CategoryRule:
    """One category of categories.yaml as the engine reads it."""

    id: str
    zh: str
    en: str
    group: str | None
    keywords: dict[str, float]
    negative: dict[str, float]
    org_types: tuple[str, ...]
    tiers: tuple[str, ...]

    @property
    def referral(self) -> bool:
        """True when no organisation on the platform may mediate it (refer the resident elsewhere)."""
        return not self.org_types


@dataclass(frozen=True)
class Match:
    """One piece of evidence: a keyword found in the text, exactly or as a typo/variant."""

    word: str
    weight: float
    kind: str        # 'exact' | 'fuzzy' | 'negative'
    found: str       # the text as written (after normalisation), e.g. 拖欠工姿 for 拖欠工资
    count: int = 1
    cause: bool = False  # said where the text states the cause (因……发生纠纷): counts twice more


@dataclass(frozen=True)
class CategoryScore:
    """A category with its score, a 0..1 confidence and the words that produced the score."""

    id: str
    zh: str
    score: float
    confidence: float
    matched: list[Match]


@dataclass(frozen=True)
class Classification:
    """Ranked categories for a text; uncertain means a person should triage it."""

    ranked: list[CategoryScore]
    uncertain: bool
    reason: str | None = None        # empty | no_match | weak | too_close
    reason_zh: str | None = None

    @property
    def top(self) -> CategoryScore | None:
        """The best category, or None when nothing matched."""
        return self.ranked[0] if self.ranked else None


@dataclass(frozen=True)
class CaseSnapshot:
    """What routing needs to know about a case."""

    id: int | str
    text: str
    category: str | None = None            # None: classify(text) decides
    region_code: str | None = None         # 6 (county), 9 (town) or 12 (village) digits
    party_user_ids: frozenset[int] = frozenset()
    party_names: frozenset[str] = frozenset()
    respondent_org_names: frozenset[str] = frozenset()
    language: str | None = None            # e.g. zh, yue, en; None: no preference


@dataclass(frozen=True)
class MediatorSnapshot:
    """What routing needs to know about a mediator; `id` is the mediator's user id."""

    id: int
    name: str
    organisation_id: int | None
    organisation_name: str | None
    org_type: str                          # OrgType value
    tier: str                              # village | town | county
    region_code: str                       # the organisation's region: its jurisdiction
    specialties: tuple[str, ...] = ()      # category ids
    languages: tuple[str, ...] = ("zh",)
    capacity: int = 10
    open_cases: int = 0
    available: bool = True
    relatives: frozenset[str] = frozenset()    # names of close relatives (declared)
    employer: str | None = None                # another employer besides the organisation


@dataclass(frozen=True)
class MediatorMatch:
    """A mediator's place in the ranking: total score, its parts, or why they were excluded."""

    mediator_id: int
    name: str
    organisation_name: str | None
    tier: str
    score: float
    breakdown: dict[str, float] = field(default_factory=dict)
    excluded: str | None = None            # party | relative | respondent_org | unavailable | ...
    excluded_zh: str | None = None


@dataclass(frozen=True)
class Related:
    """An earlier case that looks related to this one, and why."""

    case_id: int | str
    score: float             # similarity of the descriptions, 0..100 (0: below the cutoff)
    reasons: list[str]       # e.g. "same party name 张三", "near-duplicate description (92%)"
