"""Keyword classifier: exact terms by longest match, typos and variants through rapidfuzz."""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz, process

from app.routing.text import is_cjk, normalise
from app.routing.types import CategoryRule, CategoryScore, Classification, Match

FUZZY_CUTOFF = 75          # fuzz.ratio: one wrong character in four (拖欠工姿 ~ 拖欠工资)
FUZZY_CUTOFF_SHORT = 66    # three characters, one wrong, only inside a run jieba could not segment
FUZZY_FACTOR = 0.8         # a fuzzy match counts a little less than the word itself
FUZZY_MAX_CHARS = 1000     # typos are looked for in the first 1,000 characters
FUZZY_ALWAYS_CHARS = 200   # ... always in short texts; in longer ones only when exact words are not decisive
FUZZY_MAX_CANDIDATES = 48
CAUSE_BONUS = 2.0          # a word inside the stated cause (因……发生纠纷, ……纠纷) counts twice more
MIN_SCORE = 3.0            # below this the evidence is too thin to route without a person
CLOSE_RATIO = 0.8          # second best within 80 % of the best: too close to call
STRENGTH_SCALE = 8.0       # confidence saturates as the best score grows past this
# Characters that are words on their own in any text; runs of them are not typos.
STOP_CHARS = set("的了在是我你他她它们和与及或也都就而被把给对向从等着过吗呢吧啊呀个这那有没不很又还要会"
                 "说去来到让叫找上下中里后前再才已该能可想用将并且但如若因为所以之其此每各某")

# Narratives name the cause of a dispute in set phrases; fights and quarrels are often only how it
# ended. 因排水问题发生纠纷 / 因荒地使用权发生争执 / 土地纠纷 / ……有染，导致 / 争议的焦点在于…….
CAUSE_TRIGGERS = re.compile(r"纠纷|矛盾|争议|导致|致使|发生|引发|引起|产生|起了|结下|焦点|起因")
CLAUSE_END = "，。；！？,;!?"
SENTENCE_END = "。；！？;!?"
REASONS_ZH = {
    "empty": "没有填写纠纷内容，需要工作人员了解情况。",
    "no_match": "未能从描述中识别纠纷类型，需要工作人员判断。",
    "weak": "描述中的线索较少，需要工作人员确认纠纷类型。",
    "too_close": "可能属于多个纠纷类型，需要工作人员确认。",
}


def _back(text: str, at: int, limit: int, stops: str) -> int:
    """Start of the stretch before `at`: at most `limit` characters, not across a stop character."""
    start = max(0, at - limit)
    return max([start] + [text.rfind(ch, start, at) + 1 for ch in stops])


def _forward(text: str, at: int, limit: int, stops: str) -> int:
    """End of the stretch after `at`: at most `limit` characters, not across a stop character."""
    end = min(len(text), at + limit)
    found = [i for i in (text.find(ch, at, end) for ch in stops) if i >= 0]
    return min(found, default=end)


def repeat_factor(count: int) -> float:
    """A word said again adds less each time: 1, 1.35, 1.7 ... at most twice its weight."""
    return min(1.0 + 0.35 * math.log2(count), 2.0)


class KeywordClassifier:
    """Scores texts against the keyword tables of all categories; built once per rules version."""

    def __init__(self, categories: Sequence[CategoryRule], tokenizer) -> None:
        self.categories = list(categories)
        self.tokenizer = tokenizer
        self.index: dict[str, list[tuple[int, float]]] = {}
        for ci, cat in enumerate(self.categories):
            for word, weight in cat.keywords.items():
                self.index.setdefault(word, []).append((ci, weight))
            for word, weight in cat.negative.items():
                self.index.setdefault(word, []).append((ci, -weight))
        self.lengths = sorted({len(w) for w in self.index if len(w) > 1}, reverse=True)
        self.prefixes = {w[:2] for w in self.index if len(w) > 1}
        self.singles = {w for w in self.index if len(w) == 1}
        self.fuzzy_words = sorted(w for w, entries in self.index.items()
                                  if len(w) >= 3 and all(is_cjk(c) for c in w) and any(x > 0 for _, x in entries))
        self.max_len = max(self.lengths, default=1)

    @staticmethod
    def cause_positions(text: str) -> bytearray:
        """1 at each character inside a phrase that states the cause of the dispute."""
        cause = bytearray(len(text))
        for m in CAUSE_TRIGGERS.finditer(text):
            trigger, at = m.group(), m.start()
            if trigger in ("纠纷", "矛盾", "争议"):            # 土地纠纷, 排水问题的矛盾
                a, b = _back(text, at, 8, CLAUSE_END), at
            elif trigger in ("导致", "致使"):                  # ……有染，导致……
                a, b = _back(text, at, 20, SENTENCE_END), at
            elif trigger in ("焦点", "起因"):                  # 争议的焦点在于……
                a, b = m.end(), _forward(text, m.end(), 40, SENTENCE_END)
            else:                                              # 因……发生 / 由于……引起
                start = _back(text, at, 30, CLAUSE_END)
                because = max(text.rfind("因", start, at), text.rfind("由于", start, at))
                a, b = (because + 1, at) if because >= 0 else (0, 0)
            cause[a:b] = b"\x01" * max(b - a, 0)
        return cause

    def exact(self, text: str) -> tuple[dict[str, int], bytearray, set[str]]:
        """Longest keyword at each position, left to right: counts, covered positions, cause words."""
        counts: dict[str, int] = {}
        covered = bytearray(len(text))
        cause = self.cause_positions(text)
        in_cause: set[str] = set()
        index, prefixes, lengths, singles = self.index, self.prefixes, self.lengths, self.singles
        i, n = 0, len(text)
        while i < n:
            if text[i:i + 2] in prefixes:
                for size in lengths:
                    word = text[i:i + size]
                    if len(word) == size and word in index:
                        counts[word] = counts.get(word, 0) + 1
                        if cause[i]:
                            in_cause.add(word)
                        covered[i:i + size] = b"\x01" * size
                        i += size
                        break
                else:
                    size = 0
                if size:
                    continue
            if text[i] in singles:
                counts[text[i]] = counts.get(text[i], 0) + 1
                covered[i] = 1
            i += 1
        return counts, covered, in_cause

    def _runs(self, text: str, covered: bytearray) -> list[tuple[int, int]]:
        """Spans of characters that make no word of jieba's dictionary with a neighbour.

        That is what a typo leaves behind (拖欠工姿: 工 and 姿 join nothing). Checking the dictionary
        (with our userdict) directly costs a tenth of segmenting the text and finds the same runs.
        """
        freq = self.tokenizer.FREQ
        runs: list[tuple[int, int]] = []
        start = -1
        n = min(len(text), FUZZY_MAX_CHARS)
        for i in range(n + 1):
            ch = text[i] if i < n else ""
            orphan = (i < n and is_cjk(ch) and ch not in STOP_CHARS and not covered[i]
                      and not freq.get(text[i:i + 2]) and not (i and freq.get(text[i - 1:i + 1])))
            if orphan and start < 0:
                start = i
            elif not orphan and start >= 0:
                runs.append((start, i))
                start = -1
        return runs

    def _candidates(self, text: str, covered: bytearray) -> dict[str, bool]:
        """Windows that may be a misspelt keyword; the flag marks windows made only of orphan characters."""
        cands: dict[str, bool] = {}
        for a, b in self._runs(text, covered):
            windows = [(a - left, b + right) for left in (0, 1, 2) for right in (0, 1, 2)
                       if b - a > 1 or left + right >= 2]
            windows += [(i, i + size) for size in (3, 4) if b - a > size for i in range(a, b - size + 1)]
            for i, j in windows:
                cand = text[max(i, 0):j]
                if 3 <= len(cand) <= self.max_len + 1 and all(is_cjk(c) for c in cand):
                    cands[cand] = cands.get(cand, False) or (a <= i and j <= b)
            if len(cands) >= FUZZY_MAX_CANDIDATES:
                break
        return cands

    def fuzzy(self, text: str, covered: bytearray, exact: dict[str, int]) -> dict[str, tuple[str, int]]:
        """Keywords found only as typos or variants: keyword -> (text found, similarity)."""
        cands = self._candidates(text, covered)
        if not cands or not self.fuzzy_words:
            return {}
        names = list(cands)
        scores = process.cdist(names, self.fuzzy_words, scorer=fuzz.ratio, dtype=np.uint8,
                               score_cutoff=FUZZY_CUTOFF_SHORT, workers=1)
        found: dict[str, tuple[str, int]] = {}
        for row in np.flatnonzero(scores.max(axis=1)):
            col = int(scores[row].argmax())
            cand, word, sim = names[row], self.fuzzy_words[col], int(scores[row, col])
            short_ok = cands[cand] and len(cand) == len(word) == 3
            if (sim >= FUZZY_CUTOFF or short_ok) and word not in exact and word not in found:
                found[word] = (cand, sim)
        return found

    def classify(self, raw: object) -> Classification:
        """Ranked categories for a text, with the matched words; never raises on odd input."""
        text = normalise(raw)
        if not any(ch.isalnum() for ch in text):
            return Classification([], True, "empty", REASONS_ZH["empty"])
        counts, covered, in_cause = self.exact(text)
        scores = [0.0] * len(self.categories)
        evidence: list[list[Match]] = [[] for _ in self.categories]
        for word, count in counts.items():
            factor = repeat_factor(count) + (CAUSE_BONUS if word in in_cause else 0.0)
            for ci, weight in self.index[word]:
                scores[ci] += weight * factor
                kind = "exact" if weight > 0 else "negative"
                evidence[ci].append(Match(word, abs(weight), kind, word, count, word in in_cause))
        if len(text) <= FUZZY_ALWAYS_CHARS or not self._decisive(scores):
            for word, (found, _sim) in self.fuzzy(text, covered, counts).items():
                for ci, weight in self.index[word]:
                    if weight > 0:
                        scores[ci] += weight * FUZZY_FACTOR
                        evidence[ci].append(Match(word, weight * FUZZY_FACTOR, "fuzzy", found))
        return self._rank(scores, evidence)

    @staticmethod
    def _decisive(scores: list[float]) -> bool:
        """True when exact words alone already give a clear answer (typos could not change it)."""
        best, second = sorted(scores, reverse=True)[:2] if len(scores) > 1 else (max(scores, default=0), 0)
        return best >= 2 * MIN_SCORE and second < CLOSE_RATIO * best

    def _rank(self, scores: list[float], evidence: list[list[Match]]) -> Classification:
        order = sorted((i for i, s in enumerate(scores) if s > 0), key=lambda i: (-scores[i], i))
        if not order:
            return Classification([], True, "no_match", REASONS_ZH["no_match"])
        total = sum(scores[i] for i in order)
        strength = 1.0 - math.exp(-scores[order[0]] / STRENGTH_SCALE)
        ranked = []
        for i in order:
            matched = sorted((m for m in evidence[i] if m.kind != "negative"),
                             key=lambda m: (-m.weight * (m.count + m.cause), m.word))
            matched += [m for m in evidence[i] if m.kind == "negative"]
            cat = self.categories[i]
            ranked.append(CategoryScore(cat.id, cat.zh, round(scores[i], 2),
                                        round(strength * scores[i] / total, 3), matched))
        best = scores[order[0]]
        second = scores[order[1]] if len(order) > 1 else 0.0
        reason = "weak" if best < MIN_SCORE else "too_close" if second >= CLOSE_RATIO * best else None
        return Classification(ranked, reason is not None, reason, REASONS_ZH.get(reason or ""))
