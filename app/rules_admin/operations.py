"""Edit one category's routing fields: parse, merge into the rules in force, validate, save a new version."""
from __future__ import annotations

from pathlib import Path

import yaml

from app.cases.assignment import CATEGORIES_FILE
from app.core.i18n import gettext as _
from app.core.i18n import is_english
from app.core.rules_store import active_text, save_version
from app.routing import engine_from_text, validate_categories

EDITABLE = ("keywords", "negative", "org_types", "tiers")
FIXED = ("id", "zh", "en", "group")


class RuleEditError(ValueError):
    """The edit cannot be saved; `errors` lists why, and the rules in force stay as they were."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def _join(items) -> str:
    """A list of names as text: "a、b" in Chinese, "a, b" in English."""
    return (", " if is_english() else "、").join(items)


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
        problem = getattr(exc, "problem", None) or str(exc)
        if mark:
            message = _("YAML 格式错误第 %(line)d 行第 %(column)d 列：%(problem)s",
                        line=mark.line + 1, column=mark.column + 1, problem=problem)
        else:
            message = _("YAML 格式错误：%(problem)s", problem=problem)
        raise RuleEditError([message]) from exc
    if not isinstance(fields, dict):
        raise RuleEditError([_("内容应为“字段: 值”的映射，包含 %(fields)s。", fields=_join(EDITABLE))])
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise RuleEditError([_("不能在此修改这些字段：%(unknown)s（只能修改 %(fields)s）。",
                               unknown=_join(map(str, unknown)), fields=_join(EDITABLE))])
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


def checked_text(rules_dir: Path, category_id: str, snippet: str) -> str:
    """The whole rules text with this category edited, validated; RuleEditError lists every problem."""
    document, _key = rules_in_force(rules_dir)
    if category_entry(document, category_id) is None:
        raise RuleEditError([_("没有类型 %(category)s。", category=category_id)])
    text = merged_text(document, category_id, snippet)
    check(text, rules_dir)
    return text


def save_category(rules_dir: Path, category_id: str, snippet: str, note: str, author_id: int) -> str:
    """Validate and store a new version with this category edited; return the new version key."""
    text = checked_text(rules_dir, category_id, snippet)
    version = save_version(CATEGORIES_FILE, text, author_id, note.strip())
    from app.cases.assignment import forget_rules_version

    forget_rules_version()
    return f"v{version.id}"


def _reason(code: str | None, reason_zh: str | None) -> str | None:
    """Why the engine is unsure (app/routing/classify.py REASONS_ZH), in the current language."""
    reasons = {
        "empty": _("没有填写纠纷内容，需要工作人员了解情况。"),
        "no_match": _("未能从描述中识别纠纷类型，需要工作人员判断。"),
        "weak": _("描述中的线索较少，需要工作人员确认纠纷类型。"),
        "too_close": _("可能属于多个纠纷类型，需要工作人员确认。"),
    }
    return reasons.get(code or "", reason_zh)


def try_text(rules_dir: Path, sample: str, candidate: str | None = None) -> dict:
    """Classify a sample with the rules in force (or a candidate text) as JSON-ready data."""
    from app.cases.assignment import current_engine

    engine = engine_from_text(candidate, rules_dir) if candidate else current_engine()
    result = engine.classify(sample)
    english = is_english()

    def name(c) -> str:
        rule = engine.category(c.id) if english else None
        return getattr(rule, "en", None) or c.zh

    return {
        "uncertain": result.uncertain, "reason": _reason(result.reason, result.reason_zh),
        "ranked": [{"id": c.id, "zh": c.zh, "name": name(c), "score": round(c.score, 2), "confidence": round(c.confidence, 3),
                    "matched": [{"word": m.word, "found": m.found, "kind": m.kind, "weight": m.weight}
                                for m in c.matched]} for c in result.ranked[:5]],
    }
