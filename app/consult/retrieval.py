"""Answer retrieval over the knowledge base: pure Python (jieba, bm25s, rapidfuzz, numpy), no Flask or DB.

How a question is scored:
1. jieba words (the routing engine's process-wide tokenizer with its legal userdict; knowledge-base
   keywords that jieba cuts apart are joined again here), plus character bigrams and single
   characters, so a typo or an odd segmentation still shares most of its tokens with the entry;
2. typo repair with rapidfuzz: runs of the question holding a single character or an unknown word
   (拖欠工姿) are compared with the words of the entries' questions and keywords (拖欠工资); one
   character wrong in place counts. The routing classifier's own fuzzy matches are added too;
3. BM25 (bm25s) over the entries' question (counted twice), keywords (twice) and answer words;
4. the routing category as a prior: entries of the classified categories gain up to PRIOR_WEIGHT;
5. the best candidates are re-ranked with how much of the question they cover and rapidfuzz's
   partial_ratio against the entry's question; an entry that holds none of the question's words is
   not an answer (bigrams and characters find candidates, they do not answer: 今天天气 is not 天天);
   answers under half the best one's score are left out.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import bm25s
import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Hamming

from app.routing.text import is_cjk, normalise

MAX_QUESTION_CHARS = 500
_STOPWORDS_TEXT = (
    "的 了 吗 呢 吧 啊 呀 么 嘛 哦 是 在 我 我们 我家 你 您 他 她 它 他们 这 那"
    " 这个 那个 这种 那种 就 都 也 还 和 与 跟 及 把 被 给 让 对 向 从 到 又 很 太"
    " 想 能 可以 怎么 怎么办 怎样 如何 什么 哪 哪里 为什么 请问 一下 一个 个 现在"
    " 已经 应该 该 情况 问题 谢谢 请 怎么样 你好 您好 想问 问 问一下 咨询 说")
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
STOP_CHARS = frozenset("的了着过我你您他她它们是在不就都也还和与及把被给让对向从"
                       "到又很太吗呢吧啊呀么嘛哦这那个一有没要会能可该怎么什")
BIGRAM = "\x01"           # prefix that keeps bigram tokens apart from two-character words
UNIGRAM = "\x02"          # ... and single characters apart from one-character words
_CLAUSES = re.compile(r"(?<=[。；，？！,;?!])")
PRIOR_WEIGHT = 0.5        # an entry of the classified category gains up to 50 % (times the confidence)
CANDIDATES = 30           # re-ranked with coverage and rapidfuzz
W_BM25, W_COVER, W_FUZZ = 0.55, 0.25, 0.20
MIN_SCORE = 0.25          # below this an entry is not shown as an answer
RELATIVE_CUT = 0.5        # ... nor below half the best one's score (one good answer beats three vague ones)
TYPO_CUTOFF = 75          # fuzz.ratio: one wrong character in four (拖欠工姿 ~ 拖欠工资)
TYPO_CUTOFF_SHORT = 66    # three characters, one wrong


@dataclass(frozen=True)
class Hit:
    entry: object         # a knowledge Entry (anything with id, category, question, answer, keywords)
    score: float          # 0..1


def _bigrams(text: str) -> list[str]:
    """Character bigrams of every CJK run, plus its single characters (both marked apart from words)."""
    out, run = [], []
    for ch in text + " ":
        if is_cjk(ch):
            run.append(ch)
            continue
        out.extend(BIGRAM + run[i] + run[i + 1] for i in range(len(run) - 1))
        out.extend(UNIGRAM + c for c in run if c not in STOP_CHARS)
        run = []
    return out


class Retriever:
    """BM25 index of a knowledge base; build once per process, then search() is read-only and thread-safe."""

    def __init__(self, entries: Sequence, tokenizer, categories: Sequence[str] | None = None) -> None:
        self.entries = list(entries)
        self._cut = tokenizer.lcut
        # Keywords residents use (打我, 一分钱不出) that jieba cuts apart: joined again after cutting, here
        # only (jieba's dictionary is process-wide: adding them there would change how routing cuts text).
        self.phrases = frozenset(normalise(k) for e in self.entries for k in e.keywords if len(k) >= 2)
        self.words = lru_cache(maxsize=65_536)(self._words)
        self.categories = sorted(set(categories or ()) | {e.category for e in self.entries})
        code = {c: i for i, c in enumerate(self.categories)}
        self.cat_codes = np.array([code[e.category] for e in self.entries], dtype=np.int32)
        self.questions = [normalise(e.question, MAX_QUESTION_CHARS) for e in self.entries]
        self.bm25 = bm25s.BM25(k1=1.2, b=0.75)
        self.bm25.index([self.doc_tokens(e) for e in self.entries], show_progress=False)
        # typo targets: the words of questions and keywords (the answers' words would add noise: 得不到)
        vocab = {w for e in self.entries
                 for w in (*self.words(e.question), *self.words(" ".join(e.keywords)))}
        self.typo_words = sorted(w for w in vocab if 3 <= len(w) <= 6 and all(is_cjk(c) for c in w))

    def _words(self, text: str) -> tuple[str, ...]:
        cut = self._cut(normalise(text, MAX_QUESTION_CHARS * 4))
        out, i = [], 0
        while i < len(cut):
            for n in (3, 2):
                if i + n <= len(cut) and (joined := "".join(cut[i:i + n])) in self.phrases:
                    out.append(joined)
                    i += n
                    break
            else:
                out.append(cut[i])
                i += 1
        return tuple(t for t in out
                     if t.strip() and t not in STOPWORDS and any(is_cjk(c) or c.isalnum() for c in t))

    def doc_tokens(self, entry) -> list[str]:
        """What BM25 indexes for an entry: question and keywords twice (words and bigrams), answer words once.
        Text is cut clause by clause, so a clause seen before is not segmented again (large bases)."""
        keywords = " ".join(entry.keywords)
        head = self._clause_words(entry.question) + list(self.words(keywords))
        head += _bigrams(normalise(entry.question)) + _bigrams(normalise(keywords))
        return head * 2 + self._clause_words(entry.answer)

    def _clause_words(self, text: str) -> list[str]:
        return [w for clause in _CLAUSES.split(text) if clause for w in self.words(clause)]

    def repair_typos(self, words: Sequence[str]) -> list[str]:
        """Knowledge-base words close to runs of the question that hold a typo: a single character or a
        word the base does not know (jieba cuts 拖欠工姿 into 拖欠 + 工姿)."""
        vocab = self.bm25.vocab_dict
        weak = [len(w) == 1 or w not in vocab for w in words]
        spans = set()
        for i in range(len(words)):
            for j in range(i + 1, min(i + 4, len(words)) + 1):
                joined = "".join(words[i:j])
                if 3 <= len(joined) <= 5 and any(weak[i:j]) and all(map(is_cjk, joined)):
                    spans.add(joined)
        if not spans or not self.typo_words:
            return []
        spans_list = sorted(spans)
        scores = process.cdist(spans_list, self.typo_words, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF_SHORT,
                               dtype=np.uint8)
        found = []
        for row in np.flatnonzero(scores.max(axis=1)):
            col = int(scores[row].argmax())
            word, span = self.typo_words[col], spans_list[row]
            # a typo is a wrong character in place (同音字), not a reshuffle: 得不行 is not 不履行
            if scores[row, col] >= (TYPO_CUTOFF if len(word) > 3 else TYPO_CUTOFF_SHORT) \
                    and Hamming.distance(word, span) == 1:
                found.append(word)
        return found

    def query_tokens(self, text: str, extra_words: Sequence[str] = ()) -> tuple[list[str], list[str]]:
        """(words incl. repaired typos and extra words, all query tokens incl. bigrams)."""
        words = list(self.words(text))
        added = [w for w in (*self.repair_typos(words), *extra_words) if w not in words]
        words += added
        return words, words + _bigrams(normalise(text)) + [b for w in added for b in _bigrams(w)]

    def _prior(self, prior: Mapping[str, float]) -> np.ndarray:
        vec = np.ones(len(self.categories), dtype=np.float32)
        for i, cat in enumerate(self.categories):
            vec[i] += PRIOR_WEIGHT * max(0.0, min(1.0, float(prior.get(cat, 0.0))))
        return vec[self.cat_codes]

    def search(self, text: str, prior: Mapping[str, float] | None = None, extra_words: Sequence[str] = (),
               k: int = 3) -> list[Hit]:
        """The k best entries for a question, best first; [] when nothing in the base fits."""
        text = normalise(text, MAX_QUESTION_CHARS)
        words, tokens = self.query_tokens(text, extra_words)
        ids = self.bm25.get_tokens_ids(tokens)
        if not ids:
            return []
        scores = self.bm25.get_scores(ids)
        top = float(scores.max())
        if top <= 0:
            return []
        boosted = scores / top * (self._prior(prior) if prior else 1.0)
        n = min(CANDIDATES, len(boosted))
        candidates = np.argpartition(-boosted, n - 1)[:n]
        best = float(boosted[candidates].max())
        content = [w for w in words if len(w) >= 2] or words
        hits = [Hit(self.entries[i], score) for i in candidates
                if (score := self._rerank(i, float(boosted[i]) / best, words, content, text)) >= MIN_SCORE]
        hits.sort(key=lambda h: (-h.score, h.entry.id))
        return [h for h in hits[:k] if h.score >= RELATIVE_CUT * hits[0].score]

    def _rerank(self, i: int, rel: float, words: Sequence[str], content: Sequence[str], text: str) -> float:
        """The final score; 0 unless the entry contains a content word of the question (bigrams and single
        characters alone find candidates, but are not enough to answer: 今天天气 is not 天天辱骂)."""
        entry = self.entries[i]
        haystack = self.questions[i] + " ".join(entry.keywords) + entry.answer
        if not any(w in haystack for w in content):
            return 0.0
        cover = sum(1 for w in words if w in haystack) / len(words)
        similar = fuzz.partial_ratio(text, self.questions[i]) / 100.0
        return round(W_BM25 * rel + W_COVER * cover + W_FUZZ * similar, 3)


def answer_question(retriever: Retriever, engine, text: str, k: int = 3) -> tuple[list[Hit], object]:
    """(best k hits, the routing Classification) for a resident's question; engine is a RoutingEngine."""
    text = normalise(text, MAX_QUESTION_CHARS)
    classification = engine.classify(text)
    ranked = classification.ranked[:3]
    prior = {c.id: c.confidence for c in ranked}
    fuzzy = [m.word for c in ranked for m in c.matched if m.kind == "fuzzy"]
    return retriever.search(text, prior, fuzzy, k), classification


def build_retriever(entries: Sequence, tokenizer, categories: Sequence[str] = ()) -> Retriever:
    """A Retriever using the routing engine's jieba tokenizer as it is. Knowledge-base keywords are NOT added
    to jieba's dictionary: it is process-wide, and a phrase like 工资不给 would change how routing cuts
    拖欠工资不给. They are indexed through their words and bigrams instead."""
    return Retriever(entries, tokenizer, categories)
