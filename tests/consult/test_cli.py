"""`flask consult ask "TEXT"` prints a JSON list of answers."""
from __future__ import annotations

import json


def test_ask_prints_answers_as_json(app):
    result = app.test_cli_runner().invoke(args=["consult", "ask", "被邻居家的狗咬了"])
    assert result.exit_code == 0, result.output
    answers = json.loads(result.output)
    assert isinstance(answers, list) and 1 <= len(answers) <= 3
    assert answers[0]["id"] == "pi-dog-bite" and answers[0]["category"] == "personal_injury"
    for a in answers:
        assert {"question", "answer", "citations", "score", "id", "category"} <= set(a)
        assert isinstance(a["score"], float) and 0 < a["score"] <= 1
        assert a["citations"] and all(isinstance(c["law"], str) and isinstance(c["article"], int)
                                      for c in a["citations"])
    assert answers[0]["citations"][0] == {"law": "民法典", "article": 1245, "label": "《民法典》第1245条"}


def test_top_and_no_answer(app):
    runner = app.test_cli_runner()
    assert len(json.loads(runner.invoke(args=["consult", "ask", "离婚", "--top", "5"]).output)) == 5
    assert json.loads(runner.invoke(args=["consult", "ask", "今天天气怎么样"]).output) == []
