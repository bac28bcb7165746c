"""classify(): one written example per category, typos, negatives, causes and the explanation."""
from __future__ import annotations

import pytest

from app.routing import engine_from_text

EXAMPLES = [
    ("neighbour", "楼上邻居天天半夜跺脚，噪音吵得老人睡不着，上门沟通还被骂"),
    ("marriage_family", "我和老公感情破裂分居两年了，想离婚，他不同意分夫妻共同财产"),
    ("maintenance_support", "我母亲八十多岁了，三个儿子都不愿意出赡养费，互相推诿"),
    ("inheritance", "父亲去世没留遗嘱，留下的老房子兄妹四人怎么分遗产"),
    ("property_management", "物业公司不修电梯还催我们交物业费，业主们都很不满"),
    ("tenancy", "租房到期了房东一直不退押金，说墙被弄脏了要扣钱"),
    ("rural_land", "村里调整承包地，把我家的责任田分给了别人，宅基地也被占了一角"),
    ("labour_wages", "老板拖欠工资三个月，辞职后还不给结算加班费"),
    ("work_injury", "在车间操作机器时手被压伤，公司不给申请工伤认定"),
    ("loan_debt", "朋友向我借钱五万元写了借条，到期后一直拖着不还"),
    ("contract", "我们签了供货合同，对方收货后拖欠货款，还说要解除合同"),
    ("consumer", "在网店买的手机是假货，商家拒绝退款，售后也不理"),
    ("traffic_accident", "我骑电动车在路口被一辆小轿车撞倒，交警认定对方全责"),
    ("medical", "母亲在医院做完手术后伤口感染，怀疑医生误诊耽误了治疗"),
    ("personal_injury", "在商场门口地面湿滑摔倒导致骨折，要求赔偿医疗费和误工费"),
    ("construction", "装修公司拖延工期两个月，瓷砖铺得不平，还要加装修款"),
    ("environment", "村边的养猪场把污水直接排进河里，臭味熏天，鱼都死了"),
    ("school", "孩子在学校课间被同学推倒摔伤，班主任说不是学校的责任"),
    ("company_business", "我和朋友合伙开公司，他是大股东，一直不给我看账目也不分红"),
    ("demolition", "老房子拆迁，补偿款太低，安置房也迟迟没有交付"),
    ("public_order", "在烧烤店喝酒后和邻桌发生口角，对方动手打人，派出所出警"),
    ("administrative", "城管执法人员没收了我的三轮车，我想申请行政复议"),
    ("intellectual_property", "别人未经授权盗版了我的小说，还侵犯了我的著作权"),
    ("maritime", "我们的渔船在海上和一艘货船发生碰撞，船员受伤"),
    ("foreign_related", "我和外国人结婚后离婚，对方已经回国，涉外的官司怎么打"),
    ("criminal", "我在网上被骗了两万元，是电信诈骗，该怎么报案"),
]


@pytest.mark.parametrize(("expected", "text"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_written_example_is_ranked_first(engine, expected, text):
    result = engine.classify(text)
    assert result.top is not None and result.top.id == expected, [(c.id, c.score) for c in result.ranked[:3]]
    assert result.top.matched and all(m.kind in ("exact", "fuzzy") for m in result.top.matched[:1])


def test_every_category_has_a_written_example(engine):
    assert {e[0] for e in EXAMPLES} == set(engine.categories)


@pytest.mark.parametrize(("text", "category", "word", "found"), [
    ("老板拖欠工姿三个月了", "labour_wages", "拖欠工资", "拖欠工姿"),
    ("小区物叶费交不起了", "property_management", "物业费", "物叶费"),
    ("工伤认顶要去哪里办", "work_injury", "工伤认定", "工伤认顶"),
    ("离混协议怎么写才有效", "marriage_family", "离婚协议", "离混协议"),
])
def test_typos_match_fuzzily(engine, text, category, word, found):
    result = engine.classify(text)
    assert result.top.id == category
    fuzzy = [m for m in result.top.matched if m.kind == "fuzzy"]
    assert [(m.word, m.found) for m in fuzzy] == [(word, found)]
    assert fuzzy[0].weight < engine.categories[category].keywords[word]   # a typo counts a little less


def test_exact_words_are_not_also_fuzzy(engine):
    matched = engine.classify("老板拖欠工资三个月了").top.matched
    assert [m.kind for m in matched if m.word == "拖欠工资"] == ["exact"]


def test_longest_term_counts_once(engine):
    """交通事故 is one piece of evidence, not also 事故."""
    words = [m.word for m in engine.classify("发生交通事故，对方全责").top.matched]
    assert "交通事故" in words and "事故" not in words


def test_negative_words_lower_a_category():
    rules = """
categories:
  - {id: a, zh: 甲, en: A, org_types: [people_mediation], tiers: [village],
     keywords: {赔偿: 3}, negative: {车祸: 2}}
  - {id: b, zh: 乙, en: B, org_types: [people_mediation], tiers: [village], keywords: {车祸: 2}}
"""
    engine = engine_from_text(rules)
    plain = engine.classify("要求赔偿").ranked[0]
    against = {c.id: c for c in engine.classify("车祸后要求赔偿").ranked}
    assert plain.score == 3 and against["a"].score == 1
    assert [m.kind for m in against["a"].matched] == ["exact", "negative"]


def test_stated_cause_outweighs_how_the_quarrel_ended(engine):
    result = engine.classify("两家因为排水问题发生纠纷，后来吵架动手，派出所出警调处")
    assert result.top.id == "neighbour"
    assert any(m.word == "排水" and m.cause for m in result.top.matched)


def test_repeated_words_add_less_each_time(engine):
    once = engine.classify("噪音").top.score
    four = engine.classify("噪音，噪音，噪音，噪音").top.score
    assert once < four < 4 * once


def test_ranking_and_confidence_are_well_formed(engine):
    result = engine.classify("邻居装修噪音太大，还把我家墙震裂了，装修公司不管")
    scores = [c.score for c in result.ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= c.confidence <= 1 for c in result.ranked)
    assert result.ranked[0].zh == engine.categories[result.ranked[0].id].zh


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"), ("   \n\t ", "empty"), ("😀😂🎉", "empty"), ("？？！！。。", "empty"),
    ("今天天气很好", "no_match"), ("请问怎么办", "no_match"),
    ("老板", "weak"),
])
def test_uncertain_texts_go_to_a_person(engine, text, reason):
    result = engine.classify(text)
    assert result.uncertain and result.reason == reason and result.reason_zh


def test_close_call_is_uncertain(engine):
    result = engine.classify("借款纠纷和离婚纠纷")
    assert result.uncertain and result.reason == "too_close"


def test_clear_case_is_certain(engine):
    result = engine.classify("老板拖欠工资三个月，辞退我也不给经济补偿金")
    assert not result.uncertain and result.reason is None
