"""One synthetic case's path through the funnel, drawn per category (labour: arbitration before court; family: never
arbitration), as steps (action, stage, status, seconds, actor, reason)."""
from __future__ import annotations

import random

from app.analytics.bulk_world import REASONS

DAY = 86400

class Story:
    """Draws one case's path through the funnel; `steps` are (action, stage, status, seconds, actor, reason)."""

    def __init__(self, rng: random.Random, world: dict, rules, category: str, village: str, filer: int, t0: float):
        self.rng, self.world, self.rules, self.category, self.village = rng, world, rules, category, village
        self.cat = rules.category(category)
        self.filer, self.t = filer, t0
        self.steps: list[tuple] = []

    def step(self, action: str, stage: str, status: str, after_days: float, actor: int | None = None) -> None:
        self.t += after_days * DAY
        pool = REASONS.get(action)
        self.steps.append((action, stage, status, self.t, actor, self.rng.choice(pool) if pool else None))

    def tell(self) -> list[tuple]:
        r, u = self.rng, self.rng.uniform
        complete = r.random() < 0.78
        self.step("file", "assess" if complete else "consult", "assessed" if complete else "open", 0, self.filer)
        if not complete:
            roll = r.random()
            if roll < 0.4:
                self.step("resolve_at_consult", "closed", "resolved", u(0.02, 3), self.filer)
                return self.steps
            if roll < 0.5:
                self.step("withdraw", "closed", "withdrawn", u(5, 40), self.filer)
                return self.steps
            self.step("assess", "assess", "assessed", u(0.05, 4), self.filer)
        if not self.cat.mediable or r.random() < 0.05:
            self.step("withdraw", "closed", "withdrawn", u(1, 15), self.filer)
        elif self.cat.arbitration == "statutory" and r.random() < 0.15:
            self.arbitrate(u(0.5, 5))
        else:
            self.mediate()
        return self.steps

    def mediate(self) -> None:
        r, u = self.rng, self.rng.uniform
        self.step("request_mediation", "mediate", "awaiting_assignment", r.uniform(0.01, 6), self.filer)
        if r.random() < 0.12:  # the triage queue: an organisation admin assigns
            self.step("assign_mediator", "mediate", "in_progress", u(0.2, 3))
        else:
            self.step("auto_assign", "mediate", "in_progress", u(0.00005, 0.0005))
        labour = self.cat.group == "labour"
        limit = self.cat.mediation_time_limit_days
        roll = r.random()
        settle = 0.55 if labour else 0.68
        if roll < 0.012:  # stalled: nobody records an outcome (what the overdue list is for)
            return
        if roll < settle:
            self.step("record_settlement", "closed", "settled", u(1, limit * 1.15) if r.random() < 0.93
                      else u(limit, limit * 2), "mediator")
        elif roll < settle + 0.08:
            self.step("withdraw", "closed", "withdrawn", u(1, limit), self.filer)
        else:
            self.step("record_failure", "mediate", "failed", u(3, limit * 1.1), "mediator")
            self.after_failure()

    def after_failure(self) -> None:
        r, u, cat = self.rng, self.rng.uniform, self.cat
        if cat.arbitration == "statutory" and r.random() < 0.7:
            self.arbitrate(u(1, 12))
        elif cat.arbitration == "agreement" and r.random() < 0.08:
            self.arbitrate(u(1, 20))
        elif not cat.arbitration_before_litigation and r.random() < 0.45:
            self.litigate(u(2, 30))

    def arbitrate(self, after: float) -> None:
        r, u = self.rng, self.rng.uniform
        self.step("request_arbitration", "arbitrate", "filed", after, self.filer)
        self.step("accept_arbitration", "arbitrate", "accepted", u(1, 5))
        self.step("issue_award", "arbitrate", "awarded", u(20, 60))
        if self.cat.litigation_after_award and r.random() < 0.2:
            self.litigate(u(3, 15))
        else:
            self.step("conclude_award", "closed", "concluded", u(1, 15), self.filer)

    def litigate(self, after: float) -> None:
        r, u = self.rng, self.rng.uniform
        self.step("file_lawsuit", "litigate", "filed", after, self.filer)
        if r.random() < 0.2:
            self.step("return_filing", "litigate", "returned", u(1, 7))
            if r.random() < 0.3:
                return
            self.step("resubmit_filing", "litigate", "filed", u(3, 20), self.filer)
        self.step("accept_filing", "litigate", "accepted", u(1, 7))

