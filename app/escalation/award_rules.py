"""mediation_rules/awards.yaml: how each kind of arbitration body numbers and words its awards (裁决书).
Validated when loaded (the awards blueprint loads it at start-up, so a broken file stops the app)."""
from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.cases.rules import RulesError, read_rules_file

FILE = "awards.yaml"
BODY_TYPES = ("labour_arbitration", "arbitration_commission")
NUMBER_FIELDS = {"abbr", "year", "n"}
PLACE_RE = re.compile(r".+?(?:自治州|自治县|省|市|区|县)")


@dataclass(frozen=True)
class BodyRules:
    body_type: str
    number: str                   # e.g. "{abbr}劳人仲案字〔{year}〕第{n}号"
    self_name: str                # 本委 / 本会
    seal_subtitle: str
    law: str
    finality: tuple[str, ...]     # the notice at the end of the award
    next_steps: tuple[str, ...]   # what the case page tells the parties after issue

    def format_number(self, abbr: str, year: int, n: int) -> str:
        return self.number.format(abbr=abbr, year=year, n=n)


@dataclass(frozen=True)
class AwardRules:
    bodies: dict[str, BodyRules]
    abbreviations: dict[str, str]

    def for_type(self, body_type: str) -> BodyRules:
        """The rules of a body type; RulesError when the file says nothing about it."""
        if body_type not in self.bodies:
            raise RulesError(f"{FILE}: no rules for bodies of type {body_type!r}")
        return self.bodies[body_type]

    def abbreviation(self, name: str) -> str:
        """The body's abbreviation: listed, else the first character of its most local place name."""
        name = (name or "").strip()
        if name in self.abbreviations:
            return self.abbreviations[name]
        places = PLACE_RE.findall(name.split("仲裁")[0])
        return (places[-1] if places else name)[:1]


def _texts(where: str, value) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(t, str) and t.strip() for t in value):
        raise RulesError(f"{where} must be a non-empty list of texts")
    return tuple(t.strip() for t in value)


def _number(where: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RulesError(f"{where} must be a non-empty text")
    try:
        found = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError as exc:
        raise RulesError(f"{where}: {exc}") from exc
    if found != NUMBER_FIELDS:
        raise RulesError(f"{where} must use exactly the placeholders {{abbr}}, {{year}} and {{n}}, "
                         f"not {sorted(found)}")
    return value.strip()


def _body(body_type: str, entry) -> BodyRules:
    where = f"{FILE} bodies.{body_type}"
    if not isinstance(entry, dict):
        raise RulesError(f"{where} must be a mapping")
    for key in ("self_name", "law"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise RulesError(f"{where}.{key} must be a non-empty text")
    subtitle = entry.get("seal_subtitle", "")
    if not isinstance(subtitle, str):
        raise RulesError(f"{where}.seal_subtitle must be a text")
    return BodyRules(body_type=body_type, number=_number(f"{where}.number", entry.get("number")),
                     self_name=entry["self_name"].strip(), seal_subtitle=subtitle.strip(),
                     law=entry["law"].strip(),
                     finality=_texts(f"{where}.finality", entry.get("finality")),
                     next_steps=_texts(f"{where}.next_steps", entry.get("next_steps")))


def parse(data: dict) -> AwardRules:
    """The rules from the file's mapping, or RulesError naming what is wrong."""
    if data.get("version") != 1:
        raise RulesError(f"{FILE}: version must be 1")
    bodies = data.get("bodies")
    if not isinstance(bodies, dict):
        raise RulesError(f"{FILE}: bodies must be a mapping")
    unknown, missing = set(bodies) - set(BODY_TYPES), set(BODY_TYPES) - set(bodies)
    if unknown or missing:
        raise RulesError(f"{FILE}: bodies must be exactly {list(BODY_TYPES)} (unknown {sorted(unknown)}, "
                         f"missing {sorted(missing)})")
    abbreviations = data.get("abbreviations") or {}
    if not isinstance(abbreviations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in abbreviations.items()):
        raise RulesError(f"{FILE}: abbreviations must map body names to non-empty texts")
    return AwardRules(bodies={t: _body(t, bodies[t]) for t in BODY_TYPES},
                      abbreviations={k.strip(): v.strip() for k, v in abbreviations.items()})


@lru_cache(maxsize=4)
def load_award_rules(rules_dir: str) -> AwardRules:
    return parse(read_rules_file(Path(rules_dir) / FILE))


def current_award_rules() -> AwardRules:
    from flask import current_app

    return load_award_rules(str(current_app.config["RULES_DIR"]))
