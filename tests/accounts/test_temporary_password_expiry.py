"""A temporary password from /org/assisted-reset works for TEMP_PASSWORD_HOURS (default 24). After that a login with
it is refused; only whoever typed the right temporary password is told it expired, so the answer says nothing about
the account to anyone else."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.accounts.models import User
from app.core.time import utcnow
from app.core.web import localtime
from app.extensions import db
from tests.accounts.test_assisted_reset import (
    PASSWORD,
    TEMPORARY_RE,
    find,
    login,
    register,
    reset,
    text,
    user,
)

EXPIRED = "临时密码已过期，请再到调解机构办理"
WRONG = "用户名或密码不正确"


def counter_reset(app, make_web, username: str = "laoli") -> str:
    """The resident registers, forgets, and is given a temporary password at the counter: returned."""
    register(make_web, username)
    admin = make_web()
    admin.login("orgadmin1")
    find(admin, username)
    done = reset(admin, user(app, username).id)
    assert done.status_code == 200
    return TEMPORARY_RE.search(text(done)).group(1)


def age(app, username: str, hours: float) -> None:
    """Move the temporary password's expiry `hours` into the past (the clock moved on)."""
    with app.app_context():
        db.session.execute(sa.update(User).where(User.username == username)
                           .values(temp_password_expires_at=utcnow() - timedelta(hours=hours)))
        db.session.commit()


def test_the_admin_is_told_when_it_expires_and_it_is_stored(app, demo, make_web):
    register(make_web)
    admin = make_web()
    admin.login("orgadmin1")
    before = utcnow()
    done = reset(admin, user(app, "laoli").id)
    stored = user(app, "laoli")
    assert stored.must_change_password is True
    expected = before + timedelta(hours=24)
    assert expected <= stored.temp_password_expires_at <= utcnow() + timedelta(hours=24)
    page = text(done)
    assert f"有效期至 {localtime(stored.temp_password_expires_at)}（北京时间），共 24 小时。" in page
    assert "过期后不能再用，居民需要再来办理。" in page


def test_an_expired_temporary_password_is_refused_and_only_its_holder_is_told_why(app, demo, make_web):
    temporary = counter_reset(app, make_web)
    age(app, "laoli", 1)
    right = login(make_web(), "laoli", temporary)
    assert right.status_code == 422 and EXPIRED in text(right) and WRONG not in text(right)
    assert '<p class="error" id="password-error">临时密码已过期' in text(right)
    assert 'value="laoli"' in text(right)  # the username typed stays
    # Anyone without the temporary password sees what a wrong password always says, for this account or none.
    for username, password in (("laoli", "abcd-efgh-jkmn"), ("laoli", PASSWORD), ("nobody-here", temporary)):
        wrong = login(make_web(), username, password)
        assert wrong.status_code == 422 and WRONG in text(wrong) and EXPIRED not in text(wrong), username
    english = make_web()
    english.get("/lang/en?next=/login")
    told = login(english, "laoli", temporary)
    assert told.status_code == 422 and "This temporary password has expired" in text(told)
    stored = user(app, "laoli")
    assert stored.must_change_password is True  # still waiting for a new temporary password, no session started
    with app.app_context():
        from app.accounts.models import UserSession

        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)
                                 .where(UserSession.user_id == stored.id, UserSession.ended_at.is_(None))) == 0


def test_within_its_hours_it_works_and_a_new_password_ends_the_expiry(app, demo, make_web):
    temporary = counter_reset(app, make_web)
    age(app, "laoli", -1)  # an hour left
    web = make_web()
    first = login(web, "laoli", temporary)
    assert first.status_code == 302 and first.location == "/account/password/new"
    new = "grey-heron-fishing-4"
    chosen = web.post("/account/password/new", {"password": new, "confirm": new}, page="/account/password/new")
    assert chosen.status_code == 302
    stored = user(app, "laoli")
    assert stored.must_change_password is False and stored.temp_password_expires_at is None
    age(app, "laoli", 1)  # an expiry only ever applies to a temporary password, never to one's own
    assert login(make_web(), "laoli", new).location == "/dashboard"


def test_the_setting_changes_the_hours(app, demo, make_web, monkeypatch):
    monkeypatch.setitem(app.config, "TEMP_PASSWORD_HOURS", 2)
    register(make_web)
    admin = make_web()
    admin.login("orgadmin1")
    before = utcnow()
    page = text(reset(admin, user(app, "laoli").id))
    assert "共 2 小时" in page
    expires = user(app, "laoli").temp_password_expires_at
    assert before + timedelta(hours=2) <= expires <= utcnow() + timedelta(hours=2)


def test_a_reset_by_sms_code_after_expiry_gives_a_password_that_is_not_temporary(app, demo, make_web):
    """resident1 has a phone: after an expired temporary password, the SMS reset's new password just works."""
    from tests.accounts.test_recovery import ask, codes_sent_to
    from tests.accounts.test_recovery import reset as reset_by_code

    admin = make_web()
    admin.login("orgadmin1")
    resident1 = user(app, "resident1")
    temporary = TEMPORARY_RE.search(text(reset(admin, resident1.id))).group(1)
    age(app, "resident1", 1)
    assert EXPIRED in text(login(make_web(), "resident1", temporary))
    web, new = make_web(), "river-lantern-sparrow-8"
    assert ask(web, "resident1", resident1.phone).status_code == 302
    [code] = codes_sent_to(app, resident1.phone)
    assert reset_by_code(web, code, new).status_code == 302
    stored = user(app, "resident1")
    assert stored.must_change_password is False and stored.temp_password_expires_at is None
    assert login(make_web(), "resident1", new).location == "/dashboard"
