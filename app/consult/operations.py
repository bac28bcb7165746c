"""Consult operations: the knowledge base and its index (once per process), asking, and feedback.

Operations flush, never commit: the view commits once."""
from __future__ import annotations

import functools
import threading
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from app.consult.knowledge import KnowledgeBase, load_knowledge
from app.consult.models import ConsultQuery
from app.consult.retrieval import MAX_QUESTION_CHARS, Hit, Retriever, answer_question, build_retriever
from app.core.time import utcnow
from app.extensions import db

_retrievers: dict[str, Retriever] = {}
_lock = threading.Lock()


def routing_category_ids(rules_dir: Path) -> frozenset[str]:
    """The category ids of the shipped categories.yaml (what knowledge entries may name); the file is parsed again
    only when it changes (parsing it cost ~0.25 s, and every answers page asks)."""
    from app.routing.rules import CATEGORIES_FILE

    path = Path(rules_dir).resolve() / CATEGORIES_FILE
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = None  # read_categories says what is wrong
    return _category_ids(path.parent, stamp)


@functools.lru_cache(maxsize=8)
def _category_ids(rules_dir: Path, _stamp: int | None) -> frozenset[str]:
    from app.routing.rules import read_categories

    return frozenset(c.id for c in read_categories(rules_dir))


def knowledge_base() -> KnowledgeBase:
    """The validated knowledge base (KnowledgeError when a file is broken); loaded once per process."""
    rules_dir = Path(current_app.config["RULES_DIR"])
    return load_knowledge(rules_dir, routing_category_ids(rules_dir))


def retriever() -> Retriever:
    """The BM25 index of the knowledge base, built on first use and then shared by every request."""
    rules_dir = Path(current_app.config["RULES_DIR"])
    key = str(rules_dir.resolve())
    with _lock:
        found = _retrievers.get(key)
        if found is None:
            from app.routing.engine import load_engine

            tokenizer = load_engine(rules_dir).classifier.tokenizer   # process-wide jieba with the userdict
            found = _retrievers[key] = build_retriever(knowledge_base().entries, tokenizer,
                                                       sorted(routing_category_ids(rules_dir)))
        return found


def routing_engine():
    """The routing engine in force; the shipped rules when there is no database (CLI on a fresh checkout)."""
    from app.cases.assignment import current_engine
    from app.routing.engine import load_engine

    try:
        return current_engine()
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return load_engine(current_app.config["RULES_DIR"])


def find_answers(question: str, k: int = 3) -> tuple[list[Hit], str | None]:
    """(best k answers, the routing category used as the prior or None) for a question."""
    hits, classification = answer_question(retriever(), routing_engine(), question, k)
    top = classification.top
    return hits, top.id if top else None


def ask(question: str, user_id: int | None) -> tuple[ConsultQuery, list[Hit]]:
    """Answer a question and record it (with the answers shown) as a ConsultQuery."""
    question = question.strip()[:MAX_QUESTION_CHARS]
    hits, category = find_answers(question)
    query = ConsultQuery(question=question, category=category, entry_ids=[h.entry.id for h in hits],
                         user_id=user_id)
    db.session.add(query)
    db.session.flush()
    return query, hits


def shown_answers(query: ConsultQuery) -> list[Hit]:
    """The answers a query was shown, again (entries since removed from the base are left out)."""
    kb = knowledge_base()
    entries = [kb.by_id(entry_id) for entry_id in query.entry_ids or ()]
    return [Hit(e, 0.0) for e in entries if e is not None]


def may_give_feedback(query: ConsultQuery, user_id: int | None, own_ids: list[int]) -> bool:
    """Only who asked: the same browser session, or the signed-in user who asked."""
    return query.id in own_ids or (user_id is not None and query.user_id == user_id)


def record_feedback(query: ConsultQuery, resolved: bool) -> None:
    """The resident's answer to "这解决了我的问题吗？" (the latest answer counts)."""
    query.resolved = resolved
    query.feedback_at = utcnow()
    db.session.flush()


def resolved_at_consult() -> dict:
    """Questions asked, answered yes / no, and the resolved share among those who answered."""
    query = sa.select(ConsultQuery.resolved, sa.func.count()).group_by(ConsultQuery.resolved)
    rows = dict(db.session.execute(query).all())
    yes, no = rows.get(True, 0), rows.get(False, 0)
    return {"asked": sum(rows.values()), "resolved": yes, "not_resolved": no,
            "resolved_share": round(yes / (yes + no), 3) if yes + no else None}
