"""Retrieval, table-driven: residents' own wording (colloquial, typos, traditional characters) finds the
right knowledge-base entry among the first three answers. Pure modules: no app, no database."""
from __future__ import annotations

import pytest

from app.consult.retrieval import answer_question
from tests.consult.questions import QUESTIONS


@pytest.mark.parametrize(("question", "expected"), QUESTIONS, ids=[q for q, _ in QUESTIONS])
def test_the_expected_entry_is_among_the_first_three(retriever, engine, question, expected):
    hits, _ = answer_question(retriever, engine, question)
    ids = [h.entry.id for h in hits]
    assert set(expected.split("|")) & set(ids), f"{question!r}: expected {expected}, got {ids}"


def test_most_questions_get_the_expected_entry_first(retriever, engine):
    first = 0
    for question, expected in QUESTIONS:
        hits = answer_question(retriever, engine, question)[0]
        first += bool(hits) and hits[0].entry.id in expected.split("|")
    assert first / len(QUESTIONS) >= 0.85, f"top-1 {first}/{len(QUESTIONS)}"


@pytest.mark.parametrize("question", ["今天天气怎么样", "你好", "我想问一下", "asdfgh", "。。。", "", "   ",
                                      None, 42, "股票亏了怎么办"])
def test_off_topic_or_empty_questions_get_no_answer(retriever, engine, question):
    assert answer_question(retriever, engine, question)[0] == []


def test_scores_are_between_0_and_1_best_first(retriever, engine):
    hits, _ = answer_question(retriever, engine, "离婚后孩子的抚养费对方不给")
    scores = [h.score for h in hits]
    assert len(hits) == 3 and scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)


def test_the_routing_category_is_a_prior(retriever):
    """The same words rank an entry of the classified category higher when the prior says so."""
    text = "拖欠"
    plain = [h.entry.id for h in retriever.search(text, {}, k=5)]
    tenancy = [h.entry.id for h in retriever.search(text, {"tenancy": 1.0}, k=5)]
    assert tenancy[0] == "tn-rent-arrears"
    assert plain != tenancy or plain[0] == "tn-rent-arrears"


def test_typos_are_repaired_against_the_knowledge_base_words(retriever):
    assert "拖欠工资" in retriever.repair_typos(retriever.words("拖欠工姿"))
    assert retriever.repair_typos(retriever.words("我怕得不行")) == []  # 得不行 is not 不履行


def test_long_and_odd_input_does_not_break_it(retriever, engine):
    hits, _ = answer_question(retriever, engine, "老板拖欠工资" * 2000 + "\x00\u202e<script>")
    assert hits and hits[0].entry.id == "lw-unpaid"


def test_retrieval_and_knowledge_import_nothing_of_flask_or_the_database():
    import ast
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "app" / "consult"
    for name in ("retrieval.py", "knowledge.py"):
        for node in ast.walk(ast.parse((folder / name).read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for module in names:
                assert module.split(".")[0] not in ("flask", "flask_sqlalchemy", "sqlalchemy"), (name, module)
                assert not module.startswith("app.") or module.startswith(("app.routing", "app.consult")), module
