"""Load and validate mediation_rules/causes.yaml (民事案件案由) and jurisdiction.yaml (地域管辖) once per process."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.cases.rules import RulesError, load_rules, read_rules_file

BASIS_REGIONS = {"defendants", "performance_place", "case"}


@dataclass(frozen=True)
class Cause:
    code: str
    name: str          # the official wording, e.g. 民间借贷纠纷
    part: str          # e.g. 第四部分 合同、准合同纠纷
    section: str       # the second-level heading, e.g. 合同纠纷


@dataclass(frozen=True)
class Basis:
    key: str
    label: str         # 被告住所地 / 合同履行地 / 不动产所在地 ...
    law: str
    text: str
    region: str        # defendants | performance_place | case
    exclusive: bool


@dataclass(frozen=True)
class LitigationRules:
    causes: dict[str, Cause]
    category_causes: dict[str, tuple[str, ...]]   # category id -> cause codes, the first suggested
    bases: dict[str, Basis]
    default_bases: tuple[str, ...]
    category_bases: dict[str, tuple[str, ...]]

    def causes_for(self, category_id: str | None) -> list[Cause]:
        """The causes offered for a category, the suggested one first (empty for referrals)."""
        return [self.causes[c] for c in self.category_causes.get(category_id or "", ())]

    def bases_for(self, category_id: str | None) -> list[Basis]:
        keys = self.category_bases.get(category_id or "", self.default_bases)
        return [self.bases[k] for k in keys]

    def needs_performance_place(self, category_id: str | None) -> bool:
        return any(b.region == "performance_place" for b in self.bases_for(category_id))


def _parse_causes(data: dict) -> tuple[dict[str, Cause], dict[str, tuple[str, ...]]]:
    parts = data.get("parts") or {}
    causes: dict[str, Cause] = {}
    names: set[str] = set()
    for code, entry in (data.get("causes") or {}).items():
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("section"):
            raise RulesError(f"causes.yaml {code}: name and section are required")
        if entry.get("part") not in parts:
            raise RulesError(f"causes.yaml {code}: unknown part {entry.get('part')!r}")
        if len(code) > 40 or entry["name"] in names:
            raise RulesError(f"causes.yaml {code}: key longer than 40 characters or duplicate name")
        names.add(entry["name"])
        causes[code] = Cause(code, entry["name"], parts[entry["part"]], entry["section"])
    mapping: dict[str, tuple[str, ...]] = {}
    for category_id, codes in (data.get("categories") or {}).items():
        if not isinstance(codes, list) or not codes:
            raise RulesError(f"causes.yaml categories.{category_id}: a non-empty list of causes is required")
        unknown = [c for c in codes if c not in causes]
        if unknown:
            raise RulesError(f"causes.yaml categories.{category_id}: unknown causes {unknown}")
        mapping[category_id] = tuple(codes)
    return causes, mapping


def _parse_bases(data: dict) -> dict[str, Basis]:
    bases = {}
    for key, entry in (data.get("bases") or {}).items():
        if not isinstance(entry, dict) or not all(entry.get(f) for f in ("label", "law", "text", "region")):
            raise RulesError(f"jurisdiction.yaml bases.{key}: label, law, text and region are required")
        if entry["region"] not in BASIS_REGIONS:
            raise RulesError(f"jurisdiction.yaml bases.{key}: region must be one of {sorted(BASIS_REGIONS)}")
        if len(key) > 30:
            raise RulesError(f"jurisdiction.yaml bases.{key}: key longer than 30 characters")
        bases[key] = Basis(key, entry["label"], entry["law"], entry["text"], entry["region"],
                           bool(entry.get("exclusive", False)))
    return bases


def _check_bases(where: str, keys, bases: dict[str, Basis]) -> tuple[str, ...]:
    if not isinstance(keys, list) or not keys:
        raise RulesError(f"jurisdiction.yaml {where}: a non-empty list of bases is required")
    unknown = [k for k in keys if k not in bases]
    if unknown:
        raise RulesError(f"jurisdiction.yaml {where}: unknown bases {unknown}")
    if len(keys) > 1 and any(bases[k].exclusive for k in keys):
        raise RulesError(f"jurisdiction.yaml {where}: an exclusive basis stands alone")
    return tuple(keys)


@lru_cache(maxsize=4)
def load_litigation_rules(rules_dir: str) -> LitigationRules:
    """Parse causes.yaml and jurisdiction.yaml, checked against categories.yaml (RulesError if inconsistent)."""
    base = Path(rules_dir)
    causes, category_causes = _parse_causes(read_rules_file(base / "causes.yaml"))
    jurisdiction = read_rules_file(base / "jurisdiction.yaml")
    bases = _parse_bases(jurisdiction)
    default = _check_bases("default", jurisdiction.get("default"), bases)
    category_bases = {cid: _check_bases(f"categories.{cid}", keys, bases)
                      for cid, keys in (jurisdiction.get("categories") or {}).items()}
    categories = load_rules(rules_dir).categories
    for where, mapping in (("causes.yaml", category_causes), ("jurisdiction.yaml", category_bases)):
        unknown = sorted(set(mapping) - set(categories))
        if unknown:
            raise RulesError(f"{where}: unknown categories {unknown}")
    unmapped = sorted(cid for cid, cat in categories.items()
                      if cat.group != "referral" and cid not in category_causes)
    if unmapped:
        raise RulesError(f"causes.yaml: categories without a cause of action {unmapped}")
    return LitigationRules(causes, category_causes, bases, default, category_bases)


def current_litigation_rules() -> LitigationRules:
    """The litigation rules of the running app (RULES_DIR)."""
    from flask import current_app

    return load_litigation_rules(str(current_app.config["RULES_DIR"]))
