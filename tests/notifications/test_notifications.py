"""E-mail through the outbox, and the in-app notifications page with its unread badge."""
from __future__ import annotations

import re

import sqlalchemy as sa

from app.accounts.models import User
from app.extensions import db
from app.mediation.models import OutboxMessage
from tests.cases.test_funnel_journeys import file_dispute, step
from tests.conftest import sql_statements
from tests.mediation.test_invitations import invited_phone_on_account

BADGE_RE = re.compile(r'class="nav-count"[^>]*>(\d+)<')
LINK_RE = re.compile(r"/invitations/([A-Za-z0-9_\-]+)")


def _outbox(app, case_id, channel):
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.case_id == case_id,
                                                                 OutboxMessage.channel == channel)
                                  .order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return rows


def _badge(web) -> int:
    m = BADGE_RE.search(web.get("/my/cases").get_data(as_text=True))
    return int(m.group(1)) if m else 0


def test_the_invitation_also_goes_by_email_when_the_respondent_gave_one(app, demo, make_web):
    applicant = make_web()
    applicant.login("resident1")
    case_id = file_dispute(applicant, "隔壁装修砸坏我家墙面", "neighbour", "隔壁装修时砸墙，把我家客厅墙面震裂，对方不肯修。",
                           **{"respondent1-email": "li.jianguo@example.com"})
    assert step(applicant, case_id, "request_mediation").status_code == 302
    emails = _outbox(app, case_id, "email")
    assert [m.to for m in emails] == ["li.jianguo@example.com"] and "调解邀请" in emails[0].subject
    assert emails[0].body.count("http://127.0.0.1:5000/invitations/") == 1
    assert _outbox(app, case_id, "sms")  # the SMS still goes too
    no_email = file_dispute(applicant, "楼上花盆掉落砸坏雨棚", "neighbour", "楼上阳台花盆掉下来砸坏我家雨棚，对方不认账。")
    assert step(applicant, no_email, "request_mediation").status_code == 302
    assert _outbox(app, no_email, "email") == [] and _outbox(app, no_email, "sms")


def _draft_parties_step(web):
    """A draft after step 1; returns the URL of its parties step (3)."""
    resp = web.post("/cases/new", {"title": "楼上空调滴水", "description": "楼上空调冷凝水一直滴在我家窗台上，协商无果。"},
                    page="/cases/new")
    case_id = int(re.search(r"/cases/(\d+)/intake/2$", resp.headers["Location"]).group(1))
    return case_id, f"/cases/{case_id}/intake/3"


def _version(web, url):
    return re.search(r'name="version"[^>]*value="(\d+)"', web.get(url).get_data(as_text=True)).group(1)


def test_the_wizard_keeps_the_emails_and_refuses_a_bad_one_next_to_the_field(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id, url = _draft_parties_step(resident)
    data = {"respondent1-name": "李建国", "respondent1-kind": "person", "respondent1-email": "li at example",
            "applicant_email": "wang@example"}
    resp = resident.post(url, {"version": _version(resident, url), **data})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert re.search(r'id="respondent1-email-error">请输入有效的电子邮箱地址', html)
    assert re.search(r'id="applicant_email-error">请输入有效的电子邮箱地址', html)
    assert "li at example" in html and "李建国" in html  # nothing lost

    data.update({"respondent1-email": "li.jianguo@example.com", "applicant_email": "wang.xiuying@example.com"})
    assert resident.post(url, {"version": _version(resident, url), **data}).status_code == 302
    page = resident.get(url).get_data(as_text=True)  # back to the step: both addresses are shown again
    assert 'value="li.jianguo@example.com"' in page and 'value="wang.xiuying@example.com"' in page
    with app.app_context():
        from app.cases.models import Case

        case = db.session.get(Case, case_id)
        assert case.applicants[0].email == "wang.xiuying@example.com"
        assert case.respondents[0].email == "li.jianguo@example.com"


def test_registration_refuses_a_bad_email_next_to_the_field(app, make_web):
    web = make_web()
    resp = web.post("/register", {"username": "zhao_min", "display_name": "赵敏", "password": "a-long-password",
                                  "confirm": "a-long-password", "email": "zhao@@example"}, page="/register")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and re.search(r'id="email-error">请输入有效的电子邮箱地址', html)
    assert "赵敏" in html


def test_registration_keeps_the_email_and_notifications_go_there_too(app, demo, make_web):
    web = make_web()
    resp = web.post("/register", {"username": "zhao_min", "display_name": "赵敏", "password": "a-long-password",
                                  "confirm": "a-long-password", "email": "zhao.min@example.com"}, page="/register")
    assert resp.status_code == 302
    from app.mediation.operations import notify_user

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "zhao_min"))
        assert user.email == "zhao.min@example.com"
        notify_user(user, "【解纷】测试通知", "这是一条测试通知。")
        db.session.commit()
        rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.subject == "【解纷】测试通知")).all()
        assert sorted((m.channel, m.to) for m in rows) == [("email", "zhao.min@example.com"), ("in_app", str(user.id))]


def _respondent_accepts(app, make_web):
    """resident1 files against 李建国, who accepts as resident2: resident1 is told in the app."""
    applicant = make_web()
    invited_phone_on_account(app)  # only the account with the invited number may answer
    applicant.login("resident1")
    case_id = file_dispute(applicant, "邻居家的狗半夜一直叫", "neighbour", "邻居家的狗每天半夜叫个不停，孩子睡不好，沟通无果。")
    assert step(applicant, case_id, "request_mediation").status_code == 302
    token = LINK_RE.search(_outbox(app, case_id, "sms")[0].body).group(1)
    respondent = make_web()
    respondent.login("resident2")
    respondent.get(f"/invitations/{token}")
    assert respondent.post(f"/invitations/{token}/accept").status_code == 302
    return applicant, respondent, case_id


def _unread_rows(app, username) -> list[tuple[int, str]]:
    """(id, subject) of the user's stored in-app messages not yet read (sent_at NULL), oldest first."""
    with app.app_context():
        uid = db.session.scalar(sa.select(User.id).where(User.username == username))
        rows = db.session.execute(sa.select(OutboxMessage.id, OutboxMessage.subject).where(
            OutboxMessage.channel == "in_app", OutboxMessage.to == str(uid), OutboxMessage.sent_at.is_(None))
            .order_by(OutboxMessage.id)).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def test_the_notifications_page_shows_my_messages_only(app, demo, make_web):
    applicant, respondent, case_id = _respondent_accepts(app, make_web)
    mine = applicant.get("/notifications")
    html = mine.get_data(as_text=True)
    assert mine.status_code == 200
    assert "被申请人已同意调解：邻居家的狗半夜一直叫" in html and f"查看案件 #{case_id}" in html
    theirs = respondent.get("/notifications").get_data(as_text=True)
    assert "被申请人已同意调解" not in theirs
    anonymous = make_web()
    resp = anonymous.get("/notifications")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_reading_the_page_changes_nothing_and_mark_all_read_is_a_post(app, demo, make_web):
    applicant, _, case_id = _respondent_accepts(app, make_web)
    unread = _unread_rows(app, "resident1")
    assert unread and _badge(applicant) == len(unread)
    # The outbox sender does not touch in-app messages: they stay unread until the user marks them read.
    assert app.test_cli_runner().invoke(args=["outbox", "send"]).exit_code == 0
    assert _badge(applicant) == len(unread)
    for _ in range(2):  # a GET, however often (a prefetching browser, a reload), marks nothing read
        page = applicant.get("/notifications").get_data(as_text=True)
        assert page.count('class="unread"') == len(unread) and BADGE_RE.search(page).group(1) == str(len(unread))
        assert "全部标为已读" in page
    assert _unread_rows(app, "resident1") == unread and _badge(applicant) == len(unread)

    assert applicant.client.post("/notifications/read").status_code == 400  # no CSRF token: refused, nothing read
    assert _unread_rows(app, "resident1") == unread
    assert applicant.client.get("/notifications/read").status_code == 405
    resp = applicant.post("/notifications/read", page="/notifications")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/notifications")
    page = applicant.get("/notifications").get_data(as_text=True)
    assert _unread_rows(app, "resident1") == [] and _badge(applicant) == 0
    assert 'class="unread"' not in page and not BADGE_RE.search(page) and "全部标为已读" not in page
    assert f'href="/cases/{case_id}"' in page  # read messages link to their case directly
    with app.app_context():
        uid = db.session.scalar(sa.select(User.id).where(User.username == "resident1"))
        read_at = db.session.scalars(sa.select(OutboxMessage.sent_at).where(
            OutboxMessage.channel == "in_app", OutboxMessage.to == str(uid))).all()
        db.session.remove()
    assert read_at and all(t is not None for t in read_at)


def test_opening_one_message_marks_it_read_and_goes_to_its_case(app, demo, make_web):
    from app.mediation.operations import queue

    applicant, respondent, case_id = _respondent_accepts(app, make_web)
    with app.app_context():
        uid = db.session.scalar(sa.select(User.id).where(User.username == "resident1"))
        queue("in_app", str(uid), "【解纷】账号提醒", "这是一条与案件无关的通知。")
        db.session.commit()
        db.session.remove()
    unread = _unread_rows(app, "resident1")
    [about_case] = [i for i, subject in unread if "被申请人已同意调解" in subject]
    [plain] = [i for i, subject in unread if subject == "【解纷】账号提醒"]
    page = applicant.get("/notifications").get_data(as_text=True)
    assert f'action="/notifications/{about_case}/open"' in page and f'action="/notifications/{plain}/open"' in page
    assert "标为已读" in page

    assert applicant.client.get(f"/notifications/{about_case}/open").status_code == 405  # a GET never marks
    assert respondent.post(f"/notifications/{about_case}/open", page="/notifications").status_code == 404
    assert _unread_rows(app, "resident1") == unread  # someone else's message: refused, still unread

    resp = applicant.post(f"/notifications/{about_case}/open", page="/notifications")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case_id}")
    left = _unread_rows(app, "resident1")
    assert about_case not in [i for i, _ in left] and len(left) == len(unread) - 1
    assert _badge(applicant) == len(left)  # the nav counts one fewer on the next page
    resp = applicant.post(f"/notifications/{plain}/open", page="/notifications")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/notifications#message-{plain}")
    assert len(_unread_rows(app, "resident1")) == len(unread) - 2
    page = applicant.get("/notifications").get_data(as_text=True)
    assert page.count('class="unread"') == len(unread) - 2 and f'href="/cases/{case_id}"' in page


def test_the_badge_comes_with_the_session_lookup_and_sees_new_messages(app, demo, make_web):
    """The unread count is answered in the session's own query (no COUNT round trip per page), yet a message that
    arrives between two pages shows on the next one."""
    from app.mediation.operations import queue

    applicant, _, _case_id = _respondent_accepts(app, make_web)
    applicant.post("/notifications/read", page="/notifications")  # everything read
    with sql_statements(app) as statements:
        assert _badge(applicant) == 0
    with app.app_context():
        uid = db.session.scalar(sa.select(User.id).where(User.username == "resident1"))
        queue("in_app", str(uid), "新消息", "调解员给您留言了")
        queue("in_app", str(uid), "新消息", "调解时间已确定")
        db.session.commit()
    assert statements and not [s for s in statements if " ".join(s.split()).startswith("SELECT count(*) AS count_1 FROM outbox")]
    assert _badge(applicant) == 2


def test_a_long_list_of_messages_costs_no_query_per_message(app, demo, make_web):
    """The page used to commit (marking them read) before rendering, so each expired message was read back with a
    query of its own; now it writes nothing at all."""
    from app.mediation.operations import queue

    web = make_web()
    web.login("resident3")
    with app.app_context():
        uid = db.session.scalar(sa.select(User.id).where(User.username == "resident3"))
        for i in range(40):
            queue("in_app", str(uid), f"消息 {i}", f"第 {i} 条留言")
        db.session.commit()
    with sql_statements(app) as statements:
        page = web.get("/notifications").get_data(as_text=True)
    assert page.count('class="unread"') == 40 and "第 39 条留言" in page and "第 0 条留言" in page
    assert len(statements) <= 6, statements
    assert not [s for s in statements if s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))], statements
    assert web.get("/notifications").get_data(as_text=True).count('class="unread"') == 40  # still unread
    web.post("/notifications/read", page="/notifications")
    assert 'class="unread"' not in web.get("/notifications").get_data(as_text=True)  # marked read, committed
