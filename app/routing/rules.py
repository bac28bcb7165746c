"""Read and validate the routing fields of mediation_rules/categories.yaml."""
from __future__ import annotations

from pathlib import Path

import yaml

from app.routing.types import MEDIATING_ORG_TYPES, TIERS, CategoryRule

CATEGORIES_FILE = "categories.yaml"
USERDICT_FILE = "userdict.txt"


class RoutingRulesError(ValueError):
    """The routing rules cannot be used; the message names the file, category and key."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (a silent overwrite otherwise)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _weights(where: str, key: str, value: object, errors: list[str], required: bool) -> dict[str, float]:
    if value is None or value == {}:
        if required:
            errors.append(f"{where}: {key} is empty (a category needs keywords)")
        return {}
    if not isinstance(value, dict):
        errors.append(f"{where}: {key} must be a mapping of word: weight")
        return {}
    out: dict[str, float] = {}
    for word, weight in value.items():
        text = str(word).strip().lower()
        if not text:
            errors.append(f"{where}: {key} has an empty word")
        elif isinstance(weight, bool) or not isinstance(weight, (int, float)):
            errors.append(f"{where}: {key}.{word}: weight must be a number, not {weight!r}")
        elif not 0 < weight <= 10:
            errors.append(f"{where}: {key}.{word}: weight must be > 0 and <= 10")
        else:
            out[text] = float(weight)
    return out


def _choices(where: str, key: str, value: object, allowed: tuple[str, ...], errors: list[str]) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list):
        errors.append(f"{where}: {key} must be a list")
        return ()
    bad = [v for v in value if v not in allowed]
    if bad:
        errors.append(f"{where}: unknown {key[:-1].replace('_', ' ')} {bad} (allowed: {', '.join(allowed)})")
    return tuple(v for v in value if v in allowed)


def _category(i: int, entry: object, errors: list[str]) -> CategoryRule | None:
    if not isinstance(entry, dict) or not entry.get("id"):
        errors.append(f"{CATEGORIES_FILE}: entry {i}: a mapping with an id is required")
        return None
    cid = str(entry["id"])
    where = f"{CATEGORIES_FILE}: category {cid}"
    for key in ("zh", "en"):
        if not entry.get(key):
            errors.append(f"{where}: {key} is required")
    keywords = _weights(where, "keywords", entry.get("keywords"), errors, required=True)
    negative = _weights(where, "negative", entry.get("negative"), errors, required=False)
    org_types = _choices(where, "org_types", entry.get("org_types"), MEDIATING_ORG_TYPES, errors)
    tiers = _choices(where, "tiers", entry.get("tiers"), TIERS, errors)
    group = entry.get("group")
    if group != "referral" and (not org_types or not tiers):
        errors.append(f"{where}: org_types and tiers must name who may mediate it "
                      f"(only group: referral may leave them empty)")
    return CategoryRule(id=cid, zh=str(entry.get("zh") or cid), en=str(entry.get("en") or cid),
                        group=group, keywords=keywords, negative=negative,
                        org_types=org_types, tiers=tiers)


def parse_categories(yaml_text: str) -> tuple[list[CategoryRule], list[str]]:
    """Parse categories.yaml text into rules plus the list of errors found (empty when usable)."""
    try:
        data = yaml.load(yaml_text, Loader=_UniqueKeyLoader)  # noqa: S506 # nosec B506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        return [], [f"{CATEGORIES_FILE}: not valid YAML: {exc}"]
    if not isinstance(data, dict) or not isinstance(data.get("categories"), list):
        return [], [f"{CATEGORIES_FILE}: expected a mapping with a 'categories' list"]
    errors: list[str] = []
    rules: list[CategoryRule] = []
    for i, entry in enumerate(data["categories"]):
        rule = _category(i, entry, errors)
        if rule is None:
            continue
        if any(r.id == rule.id for r in rules):
            errors.append(f"{CATEGORIES_FILE}: duplicate category id {rule.id!r}")
        rules.append(rule)
    if not rules and not errors:
        errors.append(f"{CATEGORIES_FILE}: no categories")
    return rules, errors


def validate_categories(yaml_text: str) -> list[str]:
    """Errors in a candidate categories.yaml text (empty list: it may be installed)."""
    return parse_categories(yaml_text)[1]


def read_categories(rules_dir: str | Path) -> list[CategoryRule]:
    """Load categories.yaml from a rules directory, raising RoutingRulesError on any problem."""
    path = Path(rules_dir) / CATEGORIES_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RoutingRulesError(f"{path}: cannot read: {exc}") from exc
    rules, errors = parse_categories(text)
    if errors:
        raise RoutingRulesError("; ".join(errors))
    return rules
