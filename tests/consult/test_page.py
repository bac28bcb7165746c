"""The consult page through HTTP with CSRF on: anonymous asking (a POST: the question never goes in a URL), answers
with their citations, feedback recorded on the question's row, and nobody else able to see or change it."""
from __future__ import annotations

import re
from urllib.parse import quote

import sqlalchemy as sa

from app.consult.models import ConsultQuery

QUESTION = "老板拖欠我三个月工资不给怎么办"


def rows(app) -> list[ConsultQuery]:
    from app.extensions import db

    with app.app_context():
        found = db.session.scalars(sa.select(ConsultQuery).order_by(ConsultQuery.id)).all()
        db.session.expunge_all()
        return found


def ask(web, question=QUESTION):
    """Ask on the consult page as a browser does: POST, then the question's own page (never ?q= in a URL)."""
    resp = web.post("/consult", {"q": question}, page="/consult")
    assert resp.status_code == 303 and re.fullmatch(r"/consult/\d+", resp.headers["Location"]), resp.status_code
    page = web.get(resp.headers["Location"])
    assert page.status_code == 200
    return page.get_data(as_text=True)


def feedback_url(page: str) -> str:
    return re.search(r'action="(/consult/\d+/feedback)"', page).group(1)


def test_anonymous_question_gets_answers_with_citations_and_is_recorded(app, web):
    page = ask(web)
    assert "老板拖欠我三个月工资不给，我该怎么要？" in page          # the best entry's question
    assert "《劳动合同法》第30条" in page and "《劳动争议调解仲裁法》第5条" in page
    assert "劳动争议要先仲裁、后起诉" in page                        # the labour arbitration hint
    assert "这解决了我的问题吗？" in page
    shown = page.count('class="card kb-answer"')
    assert 1 <= shown <= 3
    [row] = rows(app)
    assert f'href="/cases/new?consult={row.id}"' in page               # "我还需要帮助" names the question
    assert "q=" not in page and quote(QUESTION) not in page            # the text is in no link or form action
    assert row.question == QUESTION and row.user_id is None and row.resolved is None
    assert row.entry_ids[0] == "lw-unpaid" and len(row.entry_ids) == shown and row.category == "labour_wages"


def test_an_empty_visit_records_nothing(app, web):
    page = web.get("/consult").get_data(as_text=True)
    assert "在线咨询" in page and "这解决了我的问题吗？" not in page
    assert rows(app) == []


def test_no_answer_still_offers_a_case(app, web):
    page = ask(web, "今天天气怎么样")
    assert "知识库里暂时没有合适的解答" in page and "我还需要帮助：提交纠纷" in page
    assert "这解决了我的问题吗？" not in page          # nothing was answered: nothing to rate
    assert rows(app)[0].entry_ids == []


def test_feedback_yes_is_recorded_and_can_be_changed_by_who_asked(app, web):
    page = ask(web)
    resp = web.post(feedback_url(page), {"resolved": "yes"})
    assert resp.status_code == 302 and re.search(r"/consult/\d+#feedback$", resp.headers["Location"])
    assert rows(app)[0].resolved is True and rows(app)[0].feedback_at is not None
    shown = web.get(resp.headers["Location"]).get_data(as_text=True)
    assert "谢谢您的反馈" in shown and "您已告诉我们：问题解决了" in shown and "《劳动合同法》第30条" in shown
    assert web.post(feedback_url(page), {"resolved": "no"}, page=resp.headers["Location"]).status_code == 302
    assert rows(app)[0].resolved is False
    from app.consult.operations import resolved_at_consult

    with app.app_context():
        assert resolved_at_consult() == {"asked": 1, "resolved": 0, "not_resolved": 1, "resolved_share": 0.0}


def test_feedback_needs_the_csrf_token(app, web):
    page = ask(web)
    resp = web.client.post(feedback_url(page), data={"resolved": "yes"})
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)
    assert rows(app)[0].resolved is None


def test_feedback_needs_yes_or_no(app, web):
    page = ask(web)
    assert web.post(feedback_url(page), {"resolved": "maybe"}).status_code == 400
    assert rows(app)[0].resolved is None


def test_someone_else_cannot_see_or_change_your_feedback(app, make_web):
    mine, other = make_web(), make_web()
    url = feedback_url(ask(mine))
    ask(other, "房东不退押金")                       # the other visitor has a session and a CSRF token too
    assert other.post(url, {"resolved": "no"}).status_code == 404
    assert other.get(url.rsplit("/", 1)[0]).status_code == 404
    assert rows(app)[0].resolved is None
    assert mine.post(url, {"resolved": "yes"}).status_code == 302
    assert rows(app)[0].resolved is True


def test_a_signed_in_resident_is_recorded_and_may_answer_from_another_browser(app, demo, make_web):
    phone, laptop = make_web(), make_web()
    phone.login("resident1")
    url = feedback_url(ask(phone))
    laptop.login("resident1")
    assert laptop.post(url, {"resolved": "yes"}, page="/consult").status_code == 302
    row = rows(app)[0]
    assert row.user_id is not None and row.resolved is True


def test_the_knowledge_index_is_built_once_per_process(app, web):
    from app.consult import operations

    ask(web)
    with app.app_context():
        first = operations.retriever()
        assert operations.retriever() is first


# --- asking is a POST: what a browser sends and shows ------------------------------------------------------------

def test_an_empty_question_is_refused_by_the_field(app, web):
    resp = web.post("/consult", {"q": "   "}, page="/consult")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert '<p class="error" id="q-error">请先用自己的话写下遇到的问题。</p>' in page and 'aria-invalid="true"' in page
    assert rows(app) == []


def test_a_too_long_question_keeps_its_text(app, web):
    text = "邻居" * 1001                                                  # 2002 characters: one box's worth is 2000
    resp = web.post("/consult", {"q": text}, page="/consult")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "问题最多 2000 个字，请删减一些再提问。" in page
    assert f">{text}</textarea>" in page                                  # nothing typed is lost
    assert rows(app) == []


def test_a_stale_token_keeps_the_question_and_says_what_to_do(app, web):
    web.get("/consult")
    resp = web.client.post("/consult", data={"q": QUESTION, "csrf_token": "stale"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert f">{QUESTION}</textarea>" in page and "页面已过期（安全令牌 CSRF 失效），您的问题还在，请再点一次“提问”。" in page
    assert rows(app) == []
    again = web.post("/consult", {"q": QUESTION}, page="/consult")      # the fresh token on that page works
    assert again.status_code == 303 and len(rows(app)) == 1


def test_an_old_link_with_the_question_fills_the_box_and_asks_nothing(app, web):
    page = web.get(f"/consult?q={quote(QUESTION)}").get_data(as_text=True)
    assert f">{QUESTION}</textarea>" in page and 'method="post" action="/consult"' in page
    assert "这解决了我的问题吗？" not in page
    assert rows(app) == []


def test_the_home_page_asks_by_post(app, web):
    page = web.get("/").get_data(as_text=True)
    assert 'method="post" action="/consult"' in page and 'name="csrf_token"' in page
    resp = web.post("/consult", {"q": QUESTION})                          # the home page's own token
    assert resp.status_code == 303 and len(rows(app)) == 1


def test_a_question_asked_before_logging_in_goes_on_to_the_dispute_form(app, demo, make_web):
    from app.extensions import db

    web = make_web()
    ask(web, "楼上卫生间漏水，泡坏了我家天花板，对方不肯赔")
    [row] = rows(app)
    web.login("resident1")                          # the browser's questions stay its own after logging in
    resp = web.get(f"/cases/new?consult={row.id}")
    assert resp.status_code == 200, resp.status_code
    assert "楼上卫生间漏水，泡坏了我家天花板，对方不肯赔</textarea>" in resp.get_data(as_text=True)
    other = make_web()
    other.login("resident2")                        # someone else's question id fills nothing
    page = other.get(f"/cases/new?consult={row.id}").get_data(as_text=True)
    assert "泡坏了我家天花板" not in page
    with app.app_context():
        assert db.session.get(ConsultQuery, row.id).user_id is None  # logging in claimed nothing


def test_the_categories_file_is_parsed_once_until_it_changes(app, tmp_path):
    import os
    import shutil
    from pathlib import Path

    from app.consult import operations

    rules = tmp_path / "rules"
    shutil.copytree(Path(app.config["RULES_DIR"]), rules)
    first = operations.routing_category_ids(rules)
    assert operations.routing_category_ids(rules) is first                  # an answers page no longer re-reads it
    text = (rules / "categories.yaml").read_text(encoding="utf-8")
    (rules / "categories.yaml").write_text(text + "\n", encoding="utf-8")
    os.utime(rules / "categories.yaml", ns=(1, 1))                           # a different modification time
    again = operations.routing_category_ids(rules)
    assert again == first and again is not first


def test_who_asks_is_told_what_is_kept_and_for_how_long_before_asking(app, web):
    """PIPL art. 17: the notice comes where the question is typed, and the rules are open to anyone."""
    for path in ("/", "/consult"):
        page = web.get(path).get_data(as_text=True)
        assert "问题会保存 180 天，用于解答和改进知识库，期满删除。请不要写身份证号、手机号或他人姓名。" in page, path
        assert 'href="/privacy/rules"' in page, path
    rules = web.get("/privacy/rules")
    text = rules.get_data(as_text=True)
    assert rules.status_code == 200 and "解纷平台个人信息处理规则（第 1 版）" in text
    assert "您输入的问题会保存 180 天" in text and "注销账号时，您提过的问题原文立即删除" in text
    register = web.get("/register").get_data(as_text=True)
    assert "只用于登录、找回密码和发送调解通知" in register and 'href="/privacy/rules"' in register
