"""causes.yaml (民事案件案由) and jurisdiction.yaml: loaded and checked at start-up against categories.yaml."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from app.cases.rules import RulesError, load_rules
from app.escalation.litigation_rules import load_litigation_rules

RULES = Path(__file__).resolve().parents[2] / "mediation_rules"


def test_every_category_but_referrals_has_a_cause_that_exists():
    rules, lit = load_rules(str(RULES)), load_litigation_rules(str(RULES))
    for cid, cat in rules.categories.items():
        causes = lit.causes_for(cid)
        assert bool(causes) == (cat.group != "referral"), cid
    assert lit.causes_for("loan_debt")[0].name == "民间借贷纠纷"
    assert lit.causes_for("loan_debt")[0].part == "第四部分 合同、准合同纠纷"
    assert lit.causes_for("maintenance_support")[0].name == "赡养纠纷"
    assert lit.causes_for("traffic_accident")[0].part == "第九部分 侵权责任纠纷"
    assert lit.causes_for("labour_wages")[0].name == "追索劳动报酬纠纷"
    names = {c.name for c in lit.causes.values()}
    assert {"离婚纠纷", "离婚后财产纠纷", "婚约财产纠纷", "抚养纠纷", "扶养纠纷", "法定继承纠纷", "遗嘱继承纠纷",
            "相邻关系纠纷", "物业服务合同纠纷", "房屋租赁合同纠纷", "土地承包经营权纠纷", "宅基地使用权纠纷",
            "劳动合同纠纷", "工伤保险待遇纠纷", "买卖合同纠纷", "建设工程施工合同纠纷", "医疗损害责任纠纷",
            "生命权、身体权、健康权纠纷", "产品责任纠纷", "信息网络买卖合同纠纷", "教育机构责任纠纷",
            "环境污染责任纠纷", "合同纠纷"} <= names


@pytest.mark.parametrize("category, bases", [
    ("loan_debt", ["被告住所地", "合同履行地"]), ("traffic_accident", ["被告住所地"]),
    ("rural_land", ["不动产所在地"]), ("tenancy", ["不动产所在地"]), ("inheritance", ["主要遗产所在地"]),
])
def test_jurisdiction_grounds_by_category(category, bases):
    lit = load_litigation_rules(str(RULES))
    assert [b.label for b in lit.bases_for(category)] == bases
    assert lit.needs_performance_place(category) == ("合同履行地" in bases)


def _broken(tmp_path, name, change):
    target = tmp_path / "rules"
    shutil.copytree(RULES, target)
    data = yaml.safe_load((target / name).read_text(encoding="utf-8"))
    change(data)
    (target / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(target)


@pytest.mark.parametrize("name, change, message", [
    ("causes.yaml", lambda d: d["categories"].update(loan_debt=["no_such_cause"]), "unknown causes"),
    ("causes.yaml", lambda d: d["categories"].pop("neighbour"), "categories without a cause of action ['neighbour']"),
    ("causes.yaml", lambda d: d["categories"].update(no_such_category=["contract"]), "unknown categories"),
    ("causes.yaml", lambda d: d["causes"]["divorce"].update(part="nowhere"), "unknown part"),
    ("jurisdiction.yaml", lambda d: d["categories"].update(tenancy=["property_location", "defendant_domicile"]),
     "exclusive basis stands alone"),
    ("jurisdiction.yaml", lambda d: d["bases"]["defendant_domicile"].update(region="moon"), "region must be"),
])
def test_a_broken_rules_file_is_refused(tmp_path, name, change, message):
    with pytest.raises(RulesError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_litigation_rules(_broken(tmp_path, name, change))
