"""Fixtures for the routing engine: pure Python, no app and no database."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.routing import MediatorSnapshot, load_engine

RULES_DIR = Path(__file__).resolve().parents[2] / "mediation_rules"


@pytest.fixture(scope="session")
def engine():
    """The engine of the repository's rules (loaded once, as in a worker)."""
    return load_engine(RULES_DIR)


@pytest.fixture()
def make_mediator():
    """Factory of mediator snapshots: a village people's mediator with room for cases by default."""

    def make(id: int, **kw) -> MediatorSnapshot:
        fields = dict(name=f"调解员{id}", organisation_id=id, organisation_name=f"调委会{id}",
                      org_type="people_mediation", tier="village", region_code="340202001001",
                      specialties=(), languages=("zh",), capacity=10, open_cases=0, available=True,
                      relatives=frozenset(), employer=None)
        fields.update(kw)
        return MediatorSnapshot(id=id, **fields)

    return make
