"""related_cases(): same parties or near-duplicate descriptions, with the reason."""
from __future__ import annotations

from app.routing import CaseSnapshot, related_cases

TEXT = "邻居家空调外机正对我家卧室窗户，夜里噪音很大，多次沟通无果，要求移走空调外机"


def snap(id, text="无关的描述：借钱不还的事情已经说了很多次", users=(), names=()):
    return CaseSnapshot(id=id, text=text, party_user_ids=frozenset(users), party_names=frozenset(names))


def test_same_party_user_and_name():
    new = snap(1, TEXT, users={10}, names={"王五"})
    found = related_cases(new, [snap(2, users={10}), snap(3, names={"王五", "赵六"}), snap(4)])
    assert [(r.case_id, r.reasons) for r in found] == [
        (2, ["same party user #10"]), (3, ["same party name 王五"])]


def test_near_duplicate_description():
    typo = TEXT.replace("夜里", "晚上").replace("多次", "几次")
    found = related_cases(snap(1, TEXT), [snap(2, typo), snap(3)])
    assert [r.case_id for r in found] == [2]
    assert found[0].score >= 85 and found[0].reasons[0].startswith("near-duplicate description")


def test_party_matches_come_first_then_by_similarity():
    found = related_cases(snap(1, TEXT, names={"王五"}), [snap(2, TEXT), snap(3, names={"王五"})])
    assert [r.case_id for r in found] == [3, 2]


def test_the_case_itself_and_short_texts_are_ignored():
    assert related_cases(snap(1, TEXT), [snap(1, TEXT)]) == []
    assert related_cases(snap(1, "欠钱"), [snap(2, "欠钱")]) == []
    assert related_cases(snap(1, TEXT), []) == []


def test_engine_method(engine):
    assert [r.case_id for r in engine.related_cases(snap(1, TEXT), [snap(2, TEXT)])] == [2]


def test_blank_names_do_not_match():
    assert related_cases(snap(1, TEXT, names={" ", ""}), [snap(2, names={"", " "})]) == []
