"""The admin's routing rules page: read, try, edit with validation and versions; nothing breaks on bad input."""
from __future__ import annotations

import re

import sqlalchemy as sa
import yaml

from app.core.rules_store import RuleVersion

WAGES = "老板拖欠我三个月工资一直不给"


def _edit_page(web, category_id="labour_wages"):
    page = web.get(f"/admin/routing/{category_id}").get_data(as_text=True)
    text = re.search(r'<textarea[^>]*name="rules"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    import html

    return page, html.unescape(text)


def test_only_admins_see_the_rules(app, demo, make_web):
    for username in ("resident1", "mediator1", "orgadmin1"):
        web = make_web()
        web.login(username)
        assert web.client.get("/admin/routing/").status_code == 403
    anonymous = make_web()
    assert anonymous.client.get("/admin/routing/").status_code == 302


def test_rules_page_lists_categories_and_tries_a_text(app, demo, make_web):
    admin = make_web()
    admin.login("admin")
    page = admin.get("/admin/routing/", query_string={"try": WAGES}).get_data(as_text=True)
    assert "劳动与欠薪纠纷" in page and "随代码发布的规则文件" in page
    ranked = re.search(r'<ol class="ranked">(.*?)</ol>', page, re.S).group(1)
    assert ranked.index("劳动与欠薪纠纷") < ranked.index("</li>")  # first in the ranking
    assert "工资" in ranked
    live = admin.client.get("/admin/routing/try", query_string={"text": "拖欠工姿"}).get_json()
    assert live["ranked"][0]["id"] == "labour_wages"
    assert any(m["kind"] == "fuzzy" for m in live["ranked"][0]["matched"])


def test_an_edit_is_validated_versioned_and_takes_effect(app, demo, make_web):
    admin = make_web()
    admin.login("admin")
    _, text = _edit_page(admin, "neighbour")
    fields = yaml.safe_load(text)
    fields["keywords"]["鸡飞狗跳"] = 5
    resp = admin.post("/admin/routing/neighbour", {"rules": yaml.safe_dump(fields, allow_unicode=True),
                                                   "note": "加入口语说法“鸡飞狗跳”"})
    assert resp.status_code == 302
    with app.app_context():
        from app.extensions import db

        versions = db.session.scalars(sa.select(RuleVersion)).all()
        assert len(versions) == 1 and versions[0].note == "加入口语说法“鸡飞狗跳”"
        assert "鸡飞狗跳" in versions[0].text
    live = admin.client.get("/admin/routing/try", query_string={"text": "两家天天鸡飞狗跳"}).get_json()
    assert live["ranked"][0]["id"] == "neighbour"
    assert "鸡飞狗跳" in [m["word"] for m in live["ranked"][0]["matched"]]
    assert "v1" in admin.get("/admin/routing/").get_data(as_text=True)


def _refused(admin, snippet, message):
    resp = admin.post("/admin/routing/neighbour", {"rules": snippet, "note": "试错"}, page="/admin/routing/neighbour")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422, body[:500]
    assert message in body, body[body.find("error"):][:800]
    assert "原规则继续有效" in body
    return body


def test_bad_edits_are_refused_with_a_clear_error_and_the_old_rules_stay(app, demo, make_web):
    admin = make_web()
    admin.login("admin")
    _, text = _edit_page(admin, "neighbour")
    _refused(admin, "keywords: {邻居: 4\n  tiers: [village", "YAML 格式错误")
    fields = yaml.safe_load(text)
    body = _refused(admin, yaml.safe_dump({**fields, "org_types": ["tea_house"]}, allow_unicode=True), "tea_house")
    assert "鸡飞狗跳" not in body
    _refused(admin, yaml.safe_dump({**fields, "keywords": {}}, allow_unicode=True), "keywords")
    _refused(admin, yaml.safe_dump({**fields, "zh": "改名"}, allow_unicode=True), "不能在此修改这些字段")
    _refused(admin, yaml.safe_dump({**fields, "keywords": {"邻居": "很多"}}, allow_unicode=True), "邻居")
    bad = admin.post("/admin/routing/neighbour", {"rules": "keywords: {邻居: 4", "note": "试错"},
                     page="/admin/routing/neighbour").get_data(as_text=True)
    assert "keywords: {邻居: 4" in bad  # what the admin typed is still in the editor
    with app.app_context():
        from app.extensions import db

        assert db.session.scalar(sa.select(sa.func.count()).select_from(RuleVersion)) == 0
    live = admin.client.get("/admin/routing/try", query_string={"text": "楼上邻居半夜噪音扰民"}).get_json()
    assert live["ranked"][0]["id"] == "neighbour"


def test_unknown_category_is_404(app, demo, make_web):
    admin = make_web()
    admin.login("admin")
    assert admin.client.get("/admin/routing/no_such_category").status_code == 404


def test_missing_note_and_bad_yaml_are_reported_together(app, demo, make_web):
    admin = make_web()
    admin.login("admin")
    _edit_page(admin, "neighbour")
    resp = admin.post("/admin/routing/neighbour", {"rules": "keywords: {邻居: 4", "note": ""},
                      page="/admin/routing/neighbour")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "YAML 格式错误" in body and "请说明为什么修改" in body and "原规则继续有效" in body


def test_editor_and_table_for_phones(app, demo, make_web):
    admin = make_web()
    admin.login("admin")
    page, _ = _edit_page(admin, "neighbour")
    editor = re.search(r'<textarea[^>]*name="rules"[^>]*>', page).group(0)
    for attr in ('rows="20"', 'spellcheck="false"', 'autocapitalize="off"', 'wrap="off"', "code-input"):
        assert attr in editor, attr
    index = admin.get("/admin/routing/").get_data(as_text=True)
    assert 'data-label="可调解组织"' in index and "人民调解委员会" in index and "村（社区）级" in index
    assert 'data-score="得分"' in index  # the live box's words, for rules_try.js


def test_rules_pages_in_english(app, demo, make_web):
    admin = make_web()
    admin.login("admin")
    assert admin.get("/lang/en?next=/").status_code == 302
    index = admin.get("/admin/routing/", query_string={"try": WAGES}).get_data(as_text=True)
    for phrase in ("Dispute routing rules", "the rules file shipped with the code", 'data-label="Keywords"',
                   "People&#39;s mediation committee", "Village / community", 'data-score="score"', "View / edit"):
        assert phrase in index, phrase
    resp = admin.post("/admin/routing/neighbour", {"rules": "keywords: {邻居: 4", "note": ""},
                      page="/admin/routing/neighbour")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "YAML syntax error" in body and "Please explain why" in body and "previous rules stay in force" in body
    assert ">Reason for the change</label>" in body
