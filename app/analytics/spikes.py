"""The spike test of the early warning, as pure functions of weekly counts (no Flask, no database).

The rule (mediation_rules/warnings.yaml documents it for reviewers): this week's count x against the baseline
lambda = max(mean of the previous weeks, lambda_floor); fire when x >= min_count and P(X >= x | Poisson(lambda)) <
alpha. The Poisson tail is computed with math only (no scipy)."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SpikeRule:
    weeks_baseline: int
    alpha: float
    alpha_high: float
    lambda_floor: float
    min_count: int


@dataclass(frozen=True)
class Spike:
    count: int            # this week
    baseline: float       # mean of the baseline weeks
    lam: float            # the rate tested against: max(baseline, lambda_floor)
    p_value: float        # P(X >= count | Poisson(lam))
    severity: str         # "high" | "medium"


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), accurate in the far tail (summed upwards from k, not 1 - cdf)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    if k <= lam:  # the bulk: 1 - cdf loses nothing here
        term, below = math.exp(-lam), 0.0
        for i in range(k):
            below += term
            term *= lam / (i + 1)
        return max(0.0, 1.0 - below)
    # P(X = k) in log space (no overflow for large k), then the terms above it, which shrink geometrically.
    term = math.exp(-lam + k * math.log(lam) - math.lgamma(k + 1))
    total, i = 0.0, k
    while term > total * 1e-17:
        total += term
        i += 1
        term *= lam / i
    return min(1.0, total)


def detect_spike(count: int, baseline_weeks: list[int] | tuple[int, ...], rule: SpikeRule) -> Spike | None:
    """The spike this week's count makes against the baseline weeks, or None when the test does not fire."""
    if count < rule.min_count:
        return None
    baseline = sum(baseline_weeks) / rule.weeks_baseline
    lam = max(baseline, rule.lambda_floor)
    p = poisson_sf(count, lam)
    if p >= rule.alpha:
        return None
    return Spike(count=count, baseline=baseline, lam=lam, p_value=p,
                 severity="high" if p < rule.alpha_high else "medium")

