"""Keyword classifier: exact terms by longest match, typos and variants through rapidfuzz."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz, process

from app.routing.text import is_cjk, normalise
from app.routing.types import CategoryRule, CategoryScore, Classification, Match

FUZZY_CUTOFF = 75          # fuzz.ratio: one wrong character in four (拖欠工姿 ~ 拖欠工资)
FUZZY_CUTOFF_SHORT = 66    # three characters, one wrong, only inside a run jieba could not segment
FUZZY_FACTOR = 0.8         # a fuzzy match counts a little less than the word itself
FUZZY_MAX_CHARS = 1000     # typos are looked for in the first 1,000 characters
FUZZY_MAX_CANDIDATES = 48
MIN_SCORE = 3.0            # below this the evidence is too thin to route without a person
CLOSE_RATIO = 0.8          # second best within 80 % of the best: too close to call
STRENGTH_SCALE = 8.0       # confidence saturates as the best score grows past this
# Characters that are words on their own in any text; runs of them are not typos.
STOP_CHARS = set("的了在是我你他她它们和与及或也都就而被把给对向从等着过吗呢吧啊呀个这那有没不很又还要会"
                 "说去来到让叫找上下中里后前再才已该能可想用将并且但如若因为所以之其此每各某")

REASONS_ZH = {
    "empty": "没有填写纠纷内容，需要工作人员了解情况。",
    "no_match": "未能从描述中识别纠纷类型，需要工作人员判断。",
    "weak": "描述中的线索较少，需要工作人员确认纠纷类型。",
    "too_close": "可能属于多个纠纷类型，需要工作人员确认。",
}


def repeat_factor(count: int) -> float:
    """A word said again adds less each time: 1, 1.5, 2 ... at most 2.5 times its weight."""
    return min(1.0 + 0.5 * math.log2(count), 2.5)


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

    def exact(self, text: str) -> tuple[dict[str, int], bytearray]:
        """Longest keyword at each position, left to right; returns counts and covered positions."""
        counts: dict[str, int] = {}
        covered = bytearray(len(text))
        index, prefixes, lengths, singles = self.index, self.prefixes, self.lengths, self.singles
        i, n = 0, len(text)
        while i < n:
            if text[i:i + 2] in prefixes:
                for size in lengths:
                    word = text[i:i + size]
                    if len(word) == size and word in index:
                        counts[word] = counts.get(word, 0) + 1
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
        return counts, covered

    def _runs(self, text: str, covered: bytearray) -> list[tuple[str, str, str]]:
        """Runs of single characters jieba could not join into words, with their neighbour tokens."""
        tokens = self.tokenizer.lcut(text[:FUZZY_MAX_CHARS], HMM=False)
        runs: list[tuple[str, str, str]] = []
        pos, start, run = 0, 0, []
        for k, tok in enumerate(tokens + [""]):
            single = len(tok) == 1 and is_cjk(tok) and tok not in STOP_CHARS and not covered[pos]
            if single:
                if not run:
                    start = k
                run.append(tok)
            elif run:
                left = tokens[start - 1] if start > 0 else ""
                runs.append((left, "".join(run), tok))
                run = []
            pos += len(tok)
        return runs

    def _candidates(self, text: str, covered: bytearray) -> dict[str, bool]:
        """Windows that may be a misspelt keyword; the flag marks pure unsegmented runs."""
        cands: dict[str, bool] = {}
        for left, run, right in self._runs(text, covered):
            if len(run) < 2 and len(left) < 2 and len(right) < 2:
                continue
            windows = [(run[i:i + size], True) for size in (3, 4) if len(run) > size
                       for i in range(len(run) - size + 1)]
            for cand, pure in [(run, True), (left + run, False), (run + right, False),
                               (left + run + right, False)] + windows:
                if 3 <= len(cand) <= self.max_len + 1 and all(is_cjk(c) for c in cand):
                    cands[cand] = cands.get(cand, False) or pure
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
        counts, covered = self.exact(text)
        fuzzy = self.fuzzy(text, covered, counts)
        scores = [0.0] * len(self.categories)
        evidence: list[list[Match]] = [[] for _ in self.categories]
        for word, count in counts.items():
            for ci, weight in self.index[word]:
                scores[ci] += weight * repeat_factor(count)
                kind = "exact" if weight > 0 else "negative"
                evidence[ci].append(Match(word, abs(weight), kind, word, count))
        for word, (found, _sim) in fuzzy.items():
            for ci, weight in self.index[word]:
                if weight > 0:
                    scores[ci] += weight * FUZZY_FACTOR
                    evidence[ci].append(Match(word, weight * FUZZY_FACTOR, "fuzzy", found))
        return self._rank(scores, evidence)

    def _rank(self, scores: list[float], evidence: list[list[Match]]) -> Classification:
        order = sorted((i for i, s in enumerate(scores) if s > 0), key=lambda i: (-scores[i], i))
        if not order:
            return Classification([], True, "no_match", REASONS_ZH["no_match"])
        total = sum(scores[i] for i in order)
        strength = 1.0 - math.exp(-scores[order[0]] / STRENGTH_SCALE)
        ranked = []
        for i in order:
            matched = sorted((m for m in evidence[i] if m.kind != "negative"),
                             key=lambda m: (-m.weight * m.count, m.word))
            matched += [m for m in evidence[i] if m.kind == "negative"]
            cat = self.categories[i]
            ranked.append(CategoryScore(cat.id, cat.zh, round(scores[i], 2),
                                        round(strength * scores[i] / total, 3), matched))
        best = scores[order[0]]
        second = scores[order[1]] if len(order) > 1 else 0.0
        reason = "weak" if best < MIN_SCORE else "too_close" if second >= CLOSE_RATIO * best else None
        return Classification(ranked, reason is not None, reason, REASONS_ZH.get(reason or ""))
