"""Consult fixtures: the knowledge base and its retriever built once, without Flask (pure modules)."""
from __future__ import annotations

from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "mediation_rules"


@pytest.fixture(scope="session")
def engine():
    from app.routing import load_engine

    return load_engine(RULES)


@pytest.fixture(scope="session")
def knowledge(engine):
    from app.consult.knowledge import read_knowledge

    return read_knowledge(RULES, frozenset(engine.categories))


@pytest.fixture(scope="session")
def retriever(engine, knowledge):
    from app.consult.retrieval import build_retriever

    return build_retriever(knowledge.entries, engine.classifier.tokenizer, sorted(engine.categories))
