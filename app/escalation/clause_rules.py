"""mediation_rules/arbitration_clause.yaml: the template of the arbitration agreement signed online, validated at load."""
from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.cases.rules import RulesError, read_rules_file

FILE = "arbitration_clause.yaml"
PLACEHOLDERS = {"commission", "applicants", "respondents", "dispute", "category"}
REQUIRED = {"commission", "applicants", "respondents", "dispute"}


@dataclass(frozen=True)
class ClauseTemplate:
    title: str
    text: str

    def fill(self, **values: str) -> str:
        return self.text.format(**values)


def _fields(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise RulesError(f"{FILE}: text_zh: {exc}") from exc


def parse(data: dict) -> ClauseTemplate:
    """The template from the file's mapping, or RulesError naming what is wrong."""
    if data.get("version") != 1:
        raise RulesError(f"{FILE}: version must be 1")
    title, text = data.get("title_zh"), data.get("text_zh")
    for key, value in (("title_zh", title), ("text_zh", text)):
        if not isinstance(value, str) or not value.strip():
            raise RulesError(f"{FILE}: {key} must be a non-empty text")
    found = _fields(text)
    unknown, missing = found - PLACEHOLDERS, REQUIRED - found
    if unknown:
        raise RulesError(f"{FILE}: unknown placeholders {sorted(unknown)}")
    if missing:
        raise RulesError(f"{FILE}: text_zh must contain {sorted('{' + m + '}' for m in missing)}")
    if "仲裁" not in text:
        raise RulesError(f"{FILE}: text_zh must express the will to arbitrate (仲裁)")
    return ClauseTemplate(title=title.strip(), text=text.strip())


@lru_cache(maxsize=4)
def load_template(rules_dir: str) -> ClauseTemplate:
    return parse(read_rules_file(Path(rules_dir) / FILE))


def current_template() -> ClauseTemplate:
    from flask import current_app

    return load_template(str(current_app.config["RULES_DIR"]))
