"""The consult knowledge base: question-and-answer entries in mediation_rules/knowledge/*.yaml.

Pure Python (PyYAML only): loaded and validated once per directory. Every error names the file, the
entry and the field, and all errors are reported together, so a broken file stops the app at start-up
with a message a reviewer can act on.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml

KNOWLEDGE_DIR = "knowledge"
GENERAL = "general"   # questions about the process itself (fees, limitation, agreements), no dispute type
NEXT_STEPS = ("consult_more", "mediate", "labour_arbitration", "arbitration", "litigate", "police",
              "other_agency")
REQUIRED = ("id", "category", "question", "answer", "citations", "next_step")
OPTIONAL = ("keywords",)
MAX_ANSWER_CHARS = 600

# YAML folds a multi-line answer with spaces; Chinese takes none next to its characters and punctuation.
_CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")
_cache: dict[tuple[str, frozenset], KnowledgeBase] = {}
_lock = threading.Lock()


class KnowledgeError(ValueError):
    """The knowledge base holds something the platform cannot use; the message lists every problem."""


@dataclass(frozen=True)
class Citation:
    law: str
    article: int

    @property
    def label(self) -> str:
        """《民法典》第188条"""
        return f"《{self.law}》第{self.article}条"


@dataclass(frozen=True)
class NextStep:
    kind: str
    text: str


@dataclass(frozen=True)
class Entry:
    id: str
    category: str
    question: str
    answer: str
    citations: tuple[Citation, ...]
    next_step: NextStep
    keywords: tuple[str, ...]
    source: str          # file name, for error messages and reviewers

    def as_dict(self) -> dict:
        """Plain data for JSON output and templates."""
        return {"id": self.id, "category": self.category, "question": self.question, "answer": self.answer,
                "citations": [{"law": c.law, "article": c.article, "label": c.label} for c in self.citations],
                "next_step": {"kind": self.next_step.kind, "text": self.next_step.text},
                "keywords": list(self.keywords)}


@dataclass(frozen=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]

    def __len__(self) -> int:
        return len(self.entries)

    def by_id(self, entry_id: str) -> Entry | None:
        """The entry with this id, or None."""
        return next((e for e in self.entries if e.id == entry_id), None)

    def counts(self) -> dict[str, int]:
        """Entries per category."""
        out: dict[str, int] = {}
        for e in self.entries:
            out[e.category] = out.get(e.category, 0) + 1
        return out


def _text(where: str, data: dict, key: str, errors: list[str]) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        errors.append(f"{where}: '{key}' is missing or empty")
        return ""
    return _CJK_SPACE.sub("", " ".join(value.split()))


def _citations(where: str, value: object, errors: list[str]) -> tuple[Citation, ...]:
    if not isinstance(value, list) or not value:
        errors.append(f"{where}: 'citations' needs at least one {{law, article}} (missing citation)")
        return ()
    out = []
    for i, item in enumerate(value, 1):
        law = item.get("law") if isinstance(item, dict) else None
        article = item.get("article") if isinstance(item, dict) else None
        if not isinstance(law, str) or not law.strip():
            errors.append(f"{where}: citation {i} has no 'law'")
        elif isinstance(article, bool) or not isinstance(article, int) or article <= 0:
            errors.append(f"{where}: citation {i} ({law}) needs 'article' as a positive whole number")
        else:
            out.append(Citation(law.strip().strip("《》"), article))
    return tuple(out)


def _next_step(where: str, value: object, errors: list[str]) -> NextStep:
    kind = value.get("kind") if isinstance(value, dict) else None
    text = value.get("text") if isinstance(value, dict) else None
    if kind not in NEXT_STEPS:
        errors.append(f"{where}: unknown next_step kind {kind!r} (one of: {', '.join(NEXT_STEPS)})")
    if not isinstance(text, str) or not text.strip():
        errors.append(f"{where}: next_step needs a 'text' sentence")
    return NextStep(str(kind), _CJK_SPACE.sub("", " ".join(text.split())) if isinstance(text, str) else "")


def _entry(source: str, i: int, data: object, categories: frozenset[str], errors: list[str]) -> Entry | None:
    if not isinstance(data, dict):
        errors.append(f"{source} entry {i}: not a mapping")
        return None
    where = f"{source} entry {i} ({data.get('id', '?')})"
    unknown = set(data) - set(REQUIRED) - set(OPTIONAL)
    if unknown:
        errors.append(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    before = len(errors)
    entry_id, question = _text(where, data, "id", errors), _text(where, data, "question", errors)
    answer, category = _text(where, data, "answer", errors), _text(where, data, "category", errors)
    if category and category not in categories:
        errors.append(f"{where}: unknown category {category!r} (not in categories.yaml, nor '{GENERAL}')")
    if len(answer) > MAX_ANSWER_CHARS:
        errors.append(f"{where}: answer longer than {MAX_ANSWER_CHARS} characters: keep it plain and short")
    citations = _citations(where, data.get("citations"), errors)
    next_step = _next_step(where, data.get("next_step"), errors)
    keywords = data.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k.strip() for k in keywords):
        numbers = [k for k in keywords if isinstance(k, int | float)] if isinstance(keywords, list) else []
        hint = f" (quote numbers, e.g. '{numbers[0]}')" if numbers else ""
        errors.append(f"{where}: 'keywords' must be a list of words{hint}")
        keywords = []
    if len(errors) > before:
        return None
    return Entry(entry_id, category, question, answer, citations, next_step,
                 tuple(k.strip() for k in keywords), source)


def parse_knowledge(files: dict[str, str], categories: frozenset[str]) -> tuple[list[Entry], list[str]]:
    """Entries and errors for {file name: YAML text}; categories are the routing ids (plus 'general')."""
    allowed = frozenset(categories) | {GENERAL}
    entries: list[Entry] = []
    errors: list[str] = []
    for name, text in sorted(files.items()):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            errors.append(f"{name}: not valid YAML: {exc}")
            continue
        items = data.get("entries") if isinstance(data, dict) else None
        if not isinstance(items, list):
            errors.append(f"{name}: needs a top-level 'entries:' list")
            continue
        entries.extend(e for i, item in enumerate(items, 1) if (e := _entry(name, i, item, allowed, errors)))
    seen: dict[str, str] = {}
    for e in entries:
        if e.id in seen:
            errors.append(f"duplicate id {e.id!r} in {seen[e.id]} and {e.source}")
        seen.setdefault(e.id, e.source)
    if not entries and not errors:
        errors.append("the knowledge base is empty")
    return entries, errors


def read_knowledge(rules_dir: str | Path, categories: frozenset[str]) -> KnowledgeBase:
    """The validated knowledge base under rules_dir/knowledge/ (KnowledgeError listing every problem)."""
    folder = Path(rules_dir) / KNOWLEDGE_DIR
    paths = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    files = {p.name: p.read_text(encoding="utf-8") for p in paths}
    if not files:
        raise KnowledgeError(f"{folder}: no knowledge files (*.yaml)")
    entries, errors = parse_knowledge(files, categories)
    if errors:
        raise KnowledgeError(f"{folder}: {len(errors)} problem(s):\n  " + "\n  ".join(errors))
    return KnowledgeBase(tuple(entries))


def load_knowledge(rules_dir: str | Path, categories: frozenset[str]) -> KnowledgeBase:
    """read_knowledge, once per process for a directory and category set."""
    key = (str(Path(rules_dir).resolve()), frozenset(categories))
    with _lock:
        kb = _cache.get(key)
        if kb is None:
            kb = _cache[key] = read_knowledge(rules_dir, categories)
        return kb
