"""The `routing` click group: classify prints JSON; evaluate ends with one JSON line."""
from __future__ import annotations

import json

from click.testing import CliRunner

from app.routing.cli import DEFAULT_RULES, routing
from tests.routing.conftest import RULES_DIR

ROWS = [
    ("a1", "社区邻里纠纷", "楼上邻居半夜噪音扰民，多次沟通无果"),
    ("a2", "交通事故纠纷", "电动车在路口被轿车撞伤，交警认定对方全责"),
    ("a3", "经济债务纠纷", "朋友借钱五万元写了借条，一直拖着不还"),
    ("a4", "劳资劳动纠纷", "老板拖欠工资三个月"),
    ("a5", "社区邻里纠纷", "今天天气很好"),
]


def write_tsv(path, rows=ROWS):
    path.write_text("id\tlabel\ttext\n" + "".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_default_rules_dir_is_the_repository_one():
    assert DEFAULT_RULES == RULES_DIR.resolve()


def test_classify_prints_json():
    result = CliRunner().invoke(routing, ["classify", "老板拖欠工姿三个月"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ranked"][0]["id"] == "labour_wages"
    assert {"word", "weight", "kind", "found"} <= set(data["ranked"][0]["matched"][0])
    assert set(data) >= {"ranked", "uncertain", "reason"}


def test_classify_empty_text():
    data = json.loads(CliRunner().invoke(routing, ["classify", ""]).output)
    assert data == {"ranked": [], "uncertain": True, "reason": "empty", "reason_zh": data["reason_zh"]}


def test_evaluate_chooses_the_label_map_and_ends_with_json(tmp_path):
    result = CliRunner().invoke(routing, ["evaluate", str(write_tsv(tmp_path / "dev.tsv"))])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "label map: mediation-cases"
    assert any(line.startswith("社区邻里纠纷") for line in lines)          # per-label precision/recall
    assert "社区邻里纠纷 -> (none)" in result.output                        # confusions
    summary = json.loads(lines[-1])
    assert set(summary) >= {"n", "top1", "top3", "p50_ms", "p99_ms"}
    assert summary["n"] == 5 and summary["top1"] == 0.8


def test_evaluate_with_named_label_map_and_skipped_labels(tmp_path):
    rows = [("b1", "综合咨询", "找律师"), ("b2", "劳动纠纷", "公司辞退我不给经济补偿")]
    result = CliRunner().invoke(routing, ["evaluate", str(write_tsv(tmp_path / "q.tsv", rows)),
                                          "--labels", "disputes", "--rules", str(RULES_DIR)])
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert (summary["n"], summary["skipped"], summary["top1"]) == (1, 1, 1.0)


def test_evaluate_unknown_labels_is_a_clear_error(tmp_path):
    rows = [("c1", "完全不同的标签", "老板拖欠工资")]
    result = CliRunner().invoke(routing, ["evaluate", str(write_tsv(tmp_path / "x.tsv", rows))])
    assert result.exit_code != 0 and "no label map" in result.output


def test_bad_rules_dir_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(routing, ["classify", "x", "--rules", str(tmp_path)])
    assert result.exit_code != 0 and "categories.yaml" in result.output
