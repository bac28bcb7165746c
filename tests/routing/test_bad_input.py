"""Bad input never raises: it gives a valid classification, possibly "needs a person"."""
from __future__ import annotations

import time

import pytest

from app.routing import CaseSnapshot, Classification


@pytest.mark.parametrize("text", [
    "", " ", "\u3000\u3000", "😀" * 50, "\x00\x01\x02", "🏠💰⚖️", "a" * 10, "1234567890",
    "欠" * 100_000, "我的邻居" * 25_000, None, 12345, "\ud800 broken surrogate",
])
def test_any_text_gives_a_valid_result(engine, text):
    result = engine.classify(text)
    assert isinstance(result, Classification)
    assert result.uncertain or result.ranked


def test_long_text_is_bounded_in_time(engine):
    text = "邻居噪音扰民，" * 15_000           # 105,000 characters
    start = time.perf_counter()
    result = engine.classify(text)
    assert result.top.id == "neighbour"
    assert time.perf_counter() - start < 1.0   # generous: reads only the first 4,000 characters


@pytest.mark.parametrize(("text", "expected"), [
    ("離婚後孩子的撫養權歸誰", "marriage_family"),
    ("老闆拖欠工資三個月", "labour_wages"),
    ("鄰居裝修噪音擾民", "neighbour"),
    ("ＡＢＣ公司拖欠工资", "labour_wages"),       # full-width letters
])
def test_traditional_and_full_width_text(engine, text, expected):
    assert engine.classify(text).top.id == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("My landlord won't return 押金 after I moved out", "tenancy"),
    ("boss 拖欠工资 for 3 months, what can I do?", "labour_wages"),
    ("KTV里喝酒后被人打了", "public_order"),
])
def test_mixed_english(engine, text, expected):
    assert engine.classify(text).top.id == expected


def test_english_only_asks_for_a_person(engine):
    result = engine.classify("My neighbour is very noisy at night")
    assert result.uncertain


def test_match_with_odd_case_text(engine, make_mediator):
    case = CaseSnapshot(id=1, text="😀" * 10, region_code="not-a-code")
    ranked = engine.match(case, [make_mediator(1, region_code=""), make_mediator(2)])
    assert [m.mediator_id for m in ranked] == [1, 2]          # no category, no region: tie broken by id
