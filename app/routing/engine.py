"""The routing engine: rules loaded once per directory, then classify, match and related cases."""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from app.routing.classify import KeywordClassifier
from app.routing.matching import MediatorPool, rank_mediators
from app.routing.related import related_cases
from app.routing.rules import USERDICT_FILE, RoutingRulesError, parse_categories, read_categories
from app.routing.text import jieba_tokenizer
from app.routing.types import (
    CaseSnapshot,
    CategoryRule,
    Classification,
    MediatorMatch,
    MediatorSnapshot,
    Related,
)

KEYWORD_FREQ = 50_000      # jieba frequency for keywords missing from its dictionary: keep them whole
# Classifications kept per engine (so per rules version: new rules build a new engine, with an empty memo), keyed on
# a digest of the text. The intake's step 2 shows the suggestion on every visit and the same draft is classified
# again at submission; ~0.25 ms each. Entries are a few hundred bytes: the text itself is not kept.
CLASSIFY_MEMO_SIZE = 1024

_engines: dict[str, RoutingEngine] = {}
_lock = threading.Lock()


class RoutingEngine:
    """Pure function of (text, rules, mediator snapshot) -> ranked results with their reasons."""

    def __init__(self, categories: Sequence[CategoryRule], userdict: Path | None = None) -> None:
        self.categories = {c.id: c for c in categories}
        words = {w: KEYWORD_FREQ for c in categories for w in c.keywords if len(w) >= 2}
        self.classifier = KeywordClassifier(categories, jieba_tokenizer(userdict, words))
        self._memo: OrderedDict[bytes, Classification] = OrderedDict()
        self._memo_lock = threading.Lock()

    def classify(self, text: object) -> Classification:
        """Ranked categories with confidence and matched words; uncertain means "needs a person"."""
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest() \
            if isinstance(text, str) else None
        if key is not None:
            with self._memo_lock:
                found = self._memo.get(key)
                if found is not None:
                    self._memo.move_to_end(key)
                    return found
        try:
            result = self.classifier.classify(text)
        except Exception:  # noqa: BLE001 - routing must never break intake; a person triages instead
            return Classification([], True, "error", "自动识别出错，需要工作人员判断。")
        if key is not None:
            with self._memo_lock:
                self._memo[key] = result
                if len(self._memo) > CLASSIFY_MEMO_SIZE:
                    self._memo.popitem(last=False)
        return result

    def category(self, category_id: str | None) -> CategoryRule | None:
        """The rule of a category id, or None."""
        return self.categories.get(category_id) if category_id else None

    def case_category(self, case: CaseSnapshot) -> CategoryRule | None:
        """The case's category, or the top classified one when the case has none yet."""
        if case.category:
            return self.category(case.category)
        top = self.classify(case.text).top
        return self.category(top.id) if top else None

    def match(self, case: CaseSnapshot, mediators: Sequence[MediatorSnapshot] | MediatorPool,
              limit: int | None = 10, include_excluded: bool = False) -> list[MediatorMatch]:
        """Mediators ranked for the case (best first), then those excluded for a conflict of interest."""
        pool = mediators if isinstance(mediators, MediatorPool) else MediatorPool.build(mediators)
        return rank_mediators(case, self.case_category(case), pool, limit, include_excluded)

    def related_cases(self, case: CaseSnapshot, earlier: Sequence[CaseSnapshot]) -> list[Related]:
        """Earlier cases with the same parties or a near-duplicate description."""
        return related_cases(case, earlier)


_resolved: dict[str | Path, str] = {}  # rules_dir as configured -> its resolved path


def load_engine(rules_dir: str | Path) -> RoutingEngine:
    """The engine for a rules directory, built once per process (RoutingRulesError if invalid)."""
    key = _resolved.get(rules_dir)
    if key is None:  # resolve() stats every component of the path: once per directory, not once per request
        key = _resolved[rules_dir] = str(Path(rules_dir).resolve())
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = RoutingEngine(read_categories(key), Path(key) / USERDICT_FILE)
            _engines[key] = engine
        return engine


def engine_from_text(yaml_text: str, rules_dir: str | Path | None = None) -> RoutingEngine:
    """An engine for a candidate categories.yaml text (the admin's "try it" box); not cached."""
    categories, errors = parse_categories(yaml_text)
    if errors:
        raise RoutingRulesError("; ".join(errors))
    userdict = Path(rules_dir) / USERDICT_FILE if rules_dir else None
    return RoutingEngine(categories, userdict)


def reload_engine(rules_dir: str | Path) -> RoutingEngine:
    """Build the engine again after the rules changed; the old one stays in force if they are invalid."""
    key = str(Path(rules_dir).resolve())
    engine = RoutingEngine(read_categories(key), Path(key) / USERDICT_FILE)
    with _lock:
        _engines[key] = engine
    return engine
