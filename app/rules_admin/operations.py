"""Edit one category's routing fields: parse, merge into the rules in force, validate, save a new version."""
from __future__ import annotations

from pathlib import Path

import yaml

from app.cases.assignment import CATEGORIES_FILE
from app.core.rules_store import active_text, save_version
from app.routing import engine_from_text, validate_categories

EDITABLE = ("keywords", "negative", "org_types", "tiers")
FIXED = ("id", "zh", "en", "group")


class RuleEditError(ValueError):
    """The edit cannot be saved; `errors` lists why, and the rules in force stay as they were."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def rules_in_force(rules_dir: Path) -> tuple[dict, str]:
    """The parsed categories document in force and its version key ('file' or 'v<id>')."""
    text, key = active_text(CATEGORIES_FILE, rules_dir)
    return yaml.safe_load(text), key


def category_entry(document: dict, category_id: str) -> dict | None:
    return next((c for c in document.get("categories") or [] if c.get("id") == category_id), None)


def editable_yaml(entry: dict) -> str:
    """The fields an admin may change, as YAML text for the editor."""
    return yaml.safe_dump({k: entry.get(k) for k in EDITABLE}, allow_unicode=True, sort_keys=False, width=100)


def merged_text(document: dict, category_id: str, snippet: str) -> str:
    """The whole categories document with this category's editable fields replaced by the snippet."""
    try:
        fields = yaml.safe_load(snippet)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        raise RuleEditError([f"YAML 格式错误{where}：{getattr(exc, 'problem', exc)}"]) from exc
    if not isinstance(fields, dict):
        raise RuleEditError(["内容应为“字段: 值”的映射，包含 keywords、negative、org_types、tiers。"])
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise RuleEditError([f"不能在此修改这些字段：{'、'.join(map(str, unknown))}（只能修改 {'、'.join(EDITABLE)}）。"])
    doc = yaml.safe_load(yaml.safe_dump(document, allow_unicode=True))  # a deep copy
    entry = category_entry(doc, category_id)
    for key in EDITABLE:
        if key in fields:
            entry[key] = fields[key]
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)


def check(text: str, rules_dir: Path) -> None:
    """Raise RuleEditError with every problem of a candidate rules text; build an engine to be sure."""
    errors = validate_categories(text)
    if errors:
        raise RuleEditError(errors)
    engine_from_text(text, rules_dir)


def save_category(rules_dir: Path, category_id: str, snippet: str, note: str, author_id: int) -> str:
    """Validate and store a new version with this category edited; return the new version key."""
    document, _ = rules_in_force(rules_dir)
    if category_entry(document, category_id) is None:
        raise RuleEditError([f"没有类型 {category_id}。"])
    text = merged_text(document, category_id, snippet)
    check(text, rules_dir)
    version = save_version(CATEGORIES_FILE, text, author_id, note.strip())
    return f"v{version.id}"


def try_text(rules_dir: Path, sample: str, candidate: str | None = None) -> dict:
    """Classify a sample with the rules in force (or a candidate text) as JSON-ready data."""
    from app.cases.assignment import current_engine

    engine = engine_from_text(candidate, rules_dir) if candidate else current_engine()
    result = engine.classify(sample)
    return {
        "uncertain": result.uncertain, "reason": result.reason_zh,
        "ranked": [{"id": c.id, "zh": c.zh, "score": round(c.score, 2), "confidence": round(c.confidence, 3),
                    "matched": [{"word": m.word, "found": m.found, "kind": m.kind, "weight": m.weight}
                                for m in c.matched]} for c in result.ranked[:5]],
    }
