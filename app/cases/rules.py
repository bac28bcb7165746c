"""Load and validate the dispute-type rules in mediation_rules/ (once per process)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from app.core.i18n import is_english, localized

PATH_KEYS = {
    "mediable": bool, "arbitration": str, "arbitration_body": str, "arbitration_before_litigation": bool,
    "litigation_after_award": bool, "mediation_time_limit_days": int,
}
ARBITRATION_KINDS = {"agreement", "statutory", "none"}
MESSAGE_SUFFIXES = ("_zh", "_en")  # keys ending so are messages: <name>_zh, and optionally its English twin


class RulesError(ValueError):
    """mediation_rules/ holds something the platform cannot use; the message names it."""


@dataclass(frozen=True)
class Category:
    id: str
    zh: str
    en: str
    group: str | None
    mediable: bool
    arbitration: str               # agreement | statutory | none
    arbitration_body: str          # OrgType value of the body that hears it
    arbitration_before_litigation: bool
    litigation_after_award: bool
    mediation_time_limit_days: int
    messages: dict[str, str]

    @property
    def arbitrable(self) -> bool:
        return self.arbitration != "none"

    @property
    def label(self) -> str:
        """The category's name in the current request's language."""
        return self.en if is_english() else self.zh

    def message(self, name: str, default: str | None = None) -> str | None:
        """The rule message `name` (e.g. "litigation_refused"): its _en twin in English when there is one."""
        return localized(self.messages, name, default)


@dataclass(frozen=True)
class Rules:
    categories: dict[str, Category]
    messages: dict[str, str]

    def category(self, category_id: str | None) -> Category | None:
        return self.categories.get(category_id) if category_id else None

    def choices(self, locale: str = "zh") -> list[tuple[str, str]]:
        return [(c.id, c.en if locale == "en" else c.zh) for c in self.categories.values()]

    def message(self, name: str, default: str | None = None) -> str | None:
        """A funnel-wide rule message (funnel.yaml messages:), in English when it has an _en twin."""
        return localized(self.messages, name, default)


def read_rules_file(path: Path) -> dict:
    """A rules YAML file as a mapping, or RulesError naming the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"{path}: cannot read rules: {exc}") from exc
    if not isinstance(data, dict):
        raise RulesError(f"{path}: expected a mapping at the top level")
    return data


def _check_messages(where: str, mapping: dict) -> None:
    """Messages are text, and an English message (<name>_en) needs its Chinese original (<name>_zh)."""
    for key, value in mapping.items():
        if not key.endswith(MESSAGE_SUFFIXES):
            continue
        if not isinstance(value, str) or not value.strip():
            raise RulesError(f"{where}: {key} must be a non-empty text")
        if key.endswith("_en") and f"{key[:-3]}_zh" not in mapping:
            raise RulesError(f"{where}: {key} has no Chinese original {key[:-3]}_zh")


def _check_path_keys(where: str, mapping: dict) -> None:
    _check_messages(where, mapping)
    for key, value in mapping.items():
        if key.endswith(MESSAGE_SUFFIXES):
            continue
        if key not in PATH_KEYS:
            raise RulesError(f"{where}: unknown key {key!r}")
        if not isinstance(value, PATH_KEYS[key]):
            raise RulesError(f"{where}: {key} must be {PATH_KEYS[key].__name__}")
    if "arbitration" in mapping and mapping["arbitration"] not in ARBITRATION_KINDS:
        raise RulesError(f"{where}: arbitration must be one of {sorted(ARBITRATION_KINDS)}")


@lru_cache(maxsize=4)
def load_rules(rules_dir: str) -> Rules:
    """Parse categories.yaml and funnel.yaml into Rules, raising RulesError on any inconsistency."""
    base = Path(rules_dir)
    funnel = read_rules_file(base / "funnel.yaml")
    cats = read_rules_file(base / "categories.yaml")
    defaults = funnel.get("defaults") or {}
    groups = funnel.get("groups") or {}
    _check_path_keys("funnel.yaml defaults", defaults)
    missing = set(PATH_KEYS) - set(defaults)
    if missing:
        raise RulesError(f"funnel.yaml defaults: missing {sorted(missing)}")
    for name, group in groups.items():
        _check_path_keys(f"funnel.yaml groups.{name}", group)
    categories: dict[str, Category] = {}
    for i, entry in enumerate(cats.get("categories") or []):
        cid = entry.get("id")
        if not cid or not entry.get("zh") or not entry.get("en"):
            raise RulesError(f"categories.yaml entry {i}: id, zh and en are required")
        if cid in categories:
            raise RulesError(f"categories.yaml: duplicate id {cid!r}")
        group = entry.get("group")
        if group is not None and group not in groups:
            raise RulesError(f"categories.yaml {cid}: unknown group {group!r}")
        merged = {**defaults, **(groups.get(group) or {})}
        categories[cid] = Category(
            id=cid, zh=entry["zh"], en=entry["en"], group=group,
            mediable=merged["mediable"], arbitration=merged["arbitration"],
            arbitration_body=merged["arbitration_body"],
            arbitration_before_litigation=merged["arbitration_before_litigation"],
            litigation_after_award=merged["litigation_after_award"],
            mediation_time_limit_days=merged["mediation_time_limit_days"],
            messages={k: v for k, v in merged.items() if k.endswith(MESSAGE_SUFFIXES)},
        )
    if not categories:
        raise RulesError("categories.yaml: no categories")
    messages = funnel.get("messages") or {}
    _check_messages("funnel.yaml messages", messages)
    return Rules(categories=categories, messages=messages)


def current_rules() -> Rules:
    """The rules of the running app (RULES_DIR)."""
    from flask import current_app

    return load_rules(str(current_app.config["RULES_DIR"]))
