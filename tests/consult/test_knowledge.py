"""The knowledge base: its size and coverage, and the loader's errors for broken files."""
from __future__ import annotations

import shutil

import pytest

from app.consult.knowledge import GENERAL, NEXT_STEPS, KnowledgeError, parse_knowledge, read_knowledge
from tests.consult.conftest import RULES

GOOD = """
entries:
  - id: a
    category: neighbour
    question: 楼上噪音很大怎么办？
    answer: >-
      先沟通。
      不成申请调解。
    citations: [{law: 民法典, article: 288}]
    next_step: {kind: mediate, text: 申请调解。}
"""


def entry(**change) -> str:
    fields = {"id": "b", "category": "tenancy", "question": "押金不退怎么办？", "answer": "可以申请调解。",
              "citations": "[{law: 民法典, article: 722}]", "next_step": "{kind: mediate, text: 申请调解。}"}
    fields.update(change)
    body = "\n".join(f"    {k}: {v}" for k, v in fields.items() if v is not None)
    return "entries:\n  - " + body.lstrip()


def errors_of(text: str, other: str = GOOD) -> list[str]:
    return parse_knowledge({"a.yaml": other, "b.yaml": text}, frozenset({"neighbour", "tenancy"}))[1]


def test_the_shipped_base_is_large_and_covers_every_routing_category(knowledge, engine):
    assert len(knowledge) >= 200
    counts = knowledge.counts()
    for cat in engine.categories.values():
        assert counts.get(cat.id, 0) >= (3 if cat.referral else 5), cat.id
    assert set(counts) <= set(engine.categories) | {GENERAL}
    assert {e.next_step.kind for e in knowledge.entries} <= set(NEXT_STEPS)


def test_referral_entries_say_where_to_go(knowledge, engine):
    for e in knowledge.entries:
        if engine.categories.get(e.category) and engine.categories[e.category].referral:
            assert e.next_step.kind in ("other_agency", "police", "litigate"), e.id


def test_answers_read_as_plain_chinese(knowledge):
    for e in knowledge.entries:
        assert 30 <= len(e.answer) <= 600, e.id
        assert " " not in e.answer and e.answer.count("。") >= 2, e.id   # folded lines joined without spaces
        assert all(c.article > 0 and c.law for c in e.citations), e.id


def test_a_good_file_loads_and_folds_lines_without_spaces():
    entries, errors = parse_knowledge({"a.yaml": GOOD}, frozenset({"neighbour"}))
    assert errors == [] and entries[0].answer == "先沟通。不成申请调解。"


@pytest.mark.parametrize(("change", "message"), [
    ({"id": "a"}, "duplicate id 'a' in a.yaml and b.yaml"),
    ({"category": "astrology"}, "unknown category 'astrology'"),
    ({"next_step": "{kind: pray, text: 祈祷。}"}, "unknown next_step kind 'pray'"),
    ({"next_step": "{kind: mediate}"}, "next_step needs a 'text'"),
    ({"citations": "[]"}, "missing citation"),
    ({"citations": None}, "missing citation"),
    ({"citations": "[{law: 民法典}]"}, "citation 1 (民法典) needs 'article'"),
    ({"citations": "[{article: 5}]"}, "citation 1 has no 'law'"),
    ({"answer": "''"}, "'answer' is missing or empty"),
    ({"answer": None}, "'answer' is missing or empty"),
    ({"question": "'   '"}, "'question' is missing or empty"),
    ({"keywords": "[996]"}, "quote numbers, e.g. '996'"),
    ({"colour": "red"}, "unknown field(s) colour"),
])
def test_each_broken_entry_is_named_with_its_problem(change, message):
    errors = errors_of(entry(**change))
    assert any(message in e for e in errors), errors
    assert any("b.yaml" in e for e in errors)


def test_not_yaml_and_no_entries_list_are_errors():
    assert "b.yaml: not valid YAML" in errors_of("entries: [unclosed")[0]
    assert errors_of("- just a list") == ["b.yaml: needs a top-level 'entries:' list"]


def test_every_problem_is_reported_at_once(tmp_path):
    rules = tmp_path / "rules"
    (rules / "knowledge").mkdir(parents=True)
    items = [entry(id="x", category="nope"), entry(id="y"), entry(id="y")]
    text = items[0] + "\n" + "\n".join(line for item in items[1:] for line in item.splitlines()[1:])
    (rules / "knowledge" / "bad.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError) as exc:
        read_knowledge(rules, frozenset({"tenancy"}))
    message = str(exc.value)
    assert "2 problem(s)" in message
    assert "unknown category 'nope'" in message and "duplicate id 'y'" in message


def test_an_empty_folder_is_an_error(tmp_path):
    with pytest.raises(KnowledgeError, match="no knowledge files"):
        read_knowledge(tmp_path, frozenset())


def test_create_app_refuses_to_start_with_a_broken_knowledge_base(tmp_path):
    from app import create_app

    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / "knowledge" / "zz_broken.yaml").write_text(entry(id="lw-unpaid"), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="duplicate id 'lw-unpaid'"):
        create_app({"ENV_NAME": "testing", "RULES_DIR": rules, "SECRET_KEY": "x" * 40,
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
