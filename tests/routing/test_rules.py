"""Rules: validation errors name the file, category and key; the repository's rules are sound."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.routing import RoutingRulesError, load_engine, validate_categories
from app.routing.types import MEDIATING_ORG_TYPES, TIERS
from tests.routing.conftest import RULES_DIR

GOOD = """
version: 1
categories:
  - {id: neighbour, zh: 邻里纠纷, en: Neighbours, org_types: [people_mediation], tiers: [village],
     keywords: {邻居: 3}, negative: {房东: 1}}
  - {id: criminal, zh: 刑事, en: Criminal, group: referral, org_types: [], tiers: [], keywords: {诈骗: 5}}
"""


def test_good_rules_have_no_errors():
    assert validate_categories(GOOD) == []


@pytest.mark.parametrize(("text", "message"), [
    ("categories: [ {id: a", "not valid YAML"),
    ("just text", "expected a mapping with a 'categories' list"),
    ("categories: []", "no categories"),
    (GOOD.replace("[people_mediation]", "[court]"), "category neighbour: unknown org type ['court']"),
    (GOOD.replace("tiers: [village]", "tiers: [province]"), "category neighbour: unknown tier ['province']"),
    (GOOD.replace("keywords: {邻居: 3}", "keywords: {}"), "category neighbour: keywords is empty"),
    (GOOD.replace("keywords: {邻居: 3}", "keywords: {邻居: high}"), "category neighbour: keywords.邻居: weight must be a number"),
    (GOOD.replace("negative: {房东: 1}", "negative: {房东: -1}"), "negative.房东: weight must be > 0"),
    (GOOD.replace("keywords: {邻居: 3}", "keywords: {邻居: 3, 邻居: 4}"), "duplicate key '邻居'"),
    (GOOD.replace("id: criminal", "id: neighbour"), "duplicate category id 'neighbour'"),
    (GOOD.replace("org_types: [people_mediation], tiers: [village]", "org_types: [], tiers: []"),
     "category neighbour: org_types and tiers must name who may mediate it"),
    (GOOD.replace("zh: 邻里纠纷, ", ""), "category neighbour: zh is required"),
])
def test_validation_errors(text, message):
    errors = validate_categories(text)
    assert any(message in e for e in errors), errors
    assert all(e.startswith("categories.yaml") for e in errors)


def test_load_engine_raises_on_bad_rules_and_caches_good_ones(tmp_path):
    (tmp_path / "categories.yaml").write_text(GOOD.replace("[people_mediation]", "[nobody]"), encoding="utf-8")
    with pytest.raises(RoutingRulesError, match="unknown org type"):
        load_engine(tmp_path)
    assert load_engine(RULES_DIR) is load_engine(str(RULES_DIR))


def test_missing_rules_file(tmp_path):
    with pytest.raises(RoutingRulesError, match=r"categories\.yaml: cannot read"):
        load_engine(tmp_path / "nowhere")


def test_repository_rules(engine):
    from app.cases.rules import load_rules

    funnel = load_rules(str(RULES_DIR)).categories
    assert list(engine.categories) == list(funnel)          # same ids, same order
    for cid, rule in engine.categories.items():
        assert (rule.zh, rule.en, rule.group) == (funnel[cid].zh, funnel[cid].en, funnel[cid].group)
        assert set(rule.org_types) <= set(MEDIATING_ORG_TYPES) and set(rule.tiers) <= set(TIERS)
        assert rule.referral == (rule.group == "referral")
        assert len(rule.keywords) >= (40 if not rule.referral else 30), cid
    assert "village" not in engine.categories["demolition"].tiers


def test_userdict_is_in_jieba_format():
    lines = (RULES_DIR / "userdict.txt").read_text(encoding="utf-8").splitlines()
    assert {"拖欠工资", "物业费", "宅基地", "工伤认定"} <= {line.split()[0] for line in lines}
    for line in lines:
        word, freq, tag = line.split(" ")
        assert word and freq.isdigit() and tag.isalpha()


def test_jieba_keeps_legal_terms_whole(engine):
    assert "拖欠工资" in engine.classifier.tokenizer.lcut("老板拖欠工资不给", HMM=False)


def test_routing_imports_nothing_of_flask_or_the_app():
    forbidden = ("flask", "flask_sqlalchemy", "sqlalchemy")
    for path in (RULES_DIR.parent / "app" / "routing").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert name.split(".")[0] not in forbidden, (path.name, name)
                assert not name.startswith("app.") or name.startswith("app.routing"), (path.name, name)


def test_label_maps_name_known_categories(engine):
    from app.routing.evaluate import read_label_map

    for path in Path(RULES_DIR / "label_maps").glob("*.yaml"):
        label_map = read_label_map(path, set(engine.categories))
        assert label_map.labels, path
