"""Routing: which kind of dispute a text describes, and who should mediate it.

Pure Python (jieba, rapidfuzz, numpy, PyYAML): nothing here imports Flask, the database or another
capability, so it runs the same in a request, a CLI command, a benchmark or a test.

- ``load_engine(rules_dir)`` reads ``categories.yaml`` and ``userdict.txt`` once per directory.
- ``engine.classify(text)``: categories ranked by keyword evidence; ``uncertain`` asks for a person.
- ``engine.match(case, mediators)``: mediators ranked with a score breakdown; conflicts excluded.
- ``engine.related_cases(case, earlier)``: same parties or near-duplicate descriptions.
- ``validate_categories(yaml_text)``: the errors of a candidate rules text, without installing it.
"""
from app.routing.engine import RoutingEngine, engine_from_text, load_engine, reload_engine
from app.routing.matching import MediatorPool
from app.routing.related import related_cases
from app.routing.rules import RoutingRulesError, validate_categories
from app.routing.types import (
    CaseSnapshot,
    CategoryRule,
    CategoryScore,
    Classification,
    Match,
    MediatorMatch,
    MediatorSnapshot,
    Related,
)

__all__ = [
    "CaseSnapshot", "CategoryRule", "CategoryScore", "Classification", "Match", "MediatorMatch",
    "MediatorPool", "MediatorSnapshot", "Related", "RoutingEngine", "RoutingRulesError",
    "engine_from_text", "load_engine", "related_cases", "reload_engine", "validate_categories",
]
