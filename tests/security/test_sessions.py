"""Login sessions end on the server: logout, a password change, the idle and absolute limits; the cookie's flags;
`next` never leads off-site. Time is faked by ageing the stored session, never by waiting."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import urlsplit

import sqlalchemy as sa

from app.accounts.models import User, UserSession

COOKIE = "jiefen_session"
NEW_PASSWORD = "a-new-password-42"


def rows(app, *where):
    """The stored sessions matching where, as plain dicts."""
    from app.extensions import db

    with app.app_context():
        found = [{"ended": r.ended_at is not None, "reason": r.end_reason, "ua": r.user_agent}
                 for r in db.session.scalars(sa.select(UserSession).where(*where).order_by(UserSession.id))]
        db.session.remove()
    return found


def flashes(web) -> str:
    """The page the login redirect leads to, as text (the flashed message is on it)."""
    return unescape(web.get("/login").get_data(as_text=True))


def redirected_to_login(resp) -> bool:
    return resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/login"


def age_open_session(app, **ago):
    """Move the one open session back in time: last_seen (idle) or created (absolute, still active)."""
    from app.core.time import utcnow
    from app.extensions import db

    with app.app_context():
        (row,) = db.session.scalars(sa.select(UserSession).where(UserSession.ended_at.is_(None))).all()
        if "last_seen" in ago:
            row.last_seen_at = utcnow() - ago["last_seen"]
        if "created" in ago:
            row.created_at, row.last_seen_at = utcnow() - ago["created"], utcnow()
        db.session.commit()
        db.session.remove()


# --- logout --------------------------------------------------------------------------------------------------
def test_a_cookie_copied_before_logout_logs_nobody_in_afterwards(app, demo, make_web):
    victim, thief = make_web(), make_web()
    resp = victim.login("resident1")
    flags = set_cookie_flags(resp, COOKIE)  # development and tests: plain HTTP, so not Secure (production: below)
    assert {"httponly", "samesite=lax"} <= flags and "secure" not in flags
    assert any(f.startswith("expires=") for f in flags)  # the cookie expires with the absolute limit
    assert "Strict-Transport-Security" not in resp.headers
    copied = victim.client.get_cookie(COOKIE).value
    thief.client.set_cookie(COOKIE, copied)
    assert thief.client.get("/my/cases").status_code == 200  # the copy works while the session is open
    assert victim.logout().status_code == 302
    assert redirected_to_login(victim.client.get("/my/cases"))
    assert redirected_to_login(thief.client.get("/my/cases"))  # replayed after logout: not logged in
    assert "王秀英" not in thief.client.get("/").get_data(as_text=True)
    (stored,) = rows(app)
    assert stored["ended"] and stored["reason"] == "logout" and stored["ua"].startswith("Werkzeug/")


# --- password change -----------------------------------------------------------------------------------------
def test_a_password_change_ends_every_other_session_and_keeps_this_browser_logged_in(app, demo, make_web):
    here, phone, thief = make_web(), make_web(), make_web()
    here.login("resident1")
    phone.login("resident1")
    thief.client.set_cookie(COOKIE, here.client.get_cookie(COOKIE).value)  # a copy of this browser's cookie
    assert thief.client.get("/my/cases").status_code == 200
    page = here.get("/account/password")
    assert page.status_code == 200 and "修改后，您在其他设备上的登录将全部退出" in page.get_data(as_text=True)
    resp = here.post("/account/password", {"current": demo, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 302
    assert "密码已修改。其他设备上的登录均已退出。" in here.get("/dashboard", follow_redirects=True).get_data(as_text=True)
    assert here.client.get("/my/cases").status_code == 200  # this browser goes on, with a new session
    for other in (phone, thief):  # the other device and the copied cookie are both logged out
        resp = other.client.get("/my/cases")
        assert redirected_to_login(resp)
        assert "您的密码已修改，请用新密码重新登录。" in flashes(other)
    stored = rows(app)
    assert [r["reason"] for r in stored] == ["password", "password", None]  # two ended, one fresh and open
    assert not stored[-1]["ended"]
    fresh = make_web()
    assert fresh.post("/login", {"username": "resident1", "password": demo}, page="/login").status_code == 422
    assert fresh.post("/login", {"username": "resident1", "password": NEW_PASSWORD}, page="/login").status_code == 302


REFUSED = [
    ({"current": "not-my-password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "current", "当前密码不正确。"),
    ({"current": "DEMO", "password": "short", "confirm": "short"}, "password", "密码至少 10 个字符。"),
    ({"current": "DEMO", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}, "confirm", "两次输入的密码不一致。"),
    ({"current": "DEMO", "password": "DEMO", "confirm": "DEMO"}, "password", "新密码不能与当前密码相同。"),
]


def test_a_refused_password_change_says_why_next_to_the_field_and_changes_nothing(app, demo, make_web):
    resp = app.test_client().get("/account/password")
    assert redirected_to_login(resp) and "next=%2Faccount%2Fpassword" in resp.headers["Location"]
    here, phone = make_web(), make_web()
    here.login("resident1")
    phone.login("resident1")
    for data, field, message in REFUSED:
        data = {k: (demo if v == "DEMO" else v) for k, v in data.items()}
        resp = here.post("/account/password", data, page="/account/password")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422, field
        assert re.search(rf'<p class="error" id="{field}-error">{re.escape(message)}</p>', html), html[:3000]
    assert phone.client.get("/my/cases").status_code == 200 and here.client.get("/my/cases").status_code == 200
    assert [r["ended"] for r in rows(app)] == [False, False]
    assert make_web().post("/login", {"username": "resident1", "password": demo}, page="/login").status_code == 302


# --- idle and absolute limits --------------------------------------------------------------------------------
EXPIRED = [
    ({"last_seen": timedelta(minutes=31)}, "idle", "您已 30 分钟未操作，为保护您的信息已自动退出，请重新登录。"),
    ({"created": timedelta(hours=12, minutes=1)}, "absolute", "登录已超过 12 小时，为保护您的信息已自动退出，请重新登录。"),
]


def test_an_expired_session_asks_to_log_in_again_and_comes_back_to_the_page(app, demo, make_web):
    for ago, reason, message in EXPIRED:
        web = make_web()
        web.login("resident1")
        age_open_session(app, **ago)
        resp = web.client.get("/my/cases?stage=open")
        assert redirected_to_login(resp)
        login_url = resp.headers["Location"]
        assert [(r["ended"], r["reason"]) for r in rows(app)][-1] == (True, reason)
        page = unescape(web.get(login_url).get_data(as_text=True))
        assert message in page and "请先登录。" not in page
        resp = web.post(login_url, {"username": "resident1", "password": demo}, page=login_url)
        assert resp.status_code == 302 and resp.headers["Location"] == "/my/cases?stage=open"  # back where they were
        assert web.client.get("/my/cases").status_code == 200
        assert web.logout().status_code == 302


def test_activity_within_the_idle_limit_restarts_its_clock_at_most_once_a_minute(app, demo, web):
    from app.core.time import utcnow
    from app.extensions import db

    def last_seen():
        with app.app_context():
            value = db.session.scalar(sa.select(UserSession.last_seen_at))
            db.session.remove()
        return value

    web.login("resident1")
    age_open_session(app, last_seen=timedelta(seconds=30))
    before = last_seen()
    for _ in range(3):
        assert web.client.get("/my/cases").status_code == 200
    assert last_seen() == before  # no write per request
    age_open_session(app, last_seen=timedelta(minutes=29))
    assert web.client.get("/my/cases").status_code == 200  # still within 30 minutes
    assert utcnow() - last_seen() < timedelta(minutes=1)  # and the idle clock restarted


def test_the_limits_are_configuration(app, demo, web, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 5)
    monkeypatch.setitem(app.config, "SESSION_ABSOLUTE_HOURS", 1)
    web.login("resident1")
    age_open_session(app, last_seen=timedelta(minutes=6))
    assert redirected_to_login(web.client.get("/my/cases"))
    assert "您已 5 分钟未操作" in flashes(web)
    web.login("resident1")
    age_open_session(app, created=timedelta(minutes=61))
    assert redirected_to_login(web.client.get("/my/cases"))
    assert "登录已超过 1 小时" in flashes(web)


def test_a_deactivated_account_is_logged_out_at_once(app, demo, web):
    from app.extensions import db

    web.login("resident1")
    with app.app_context():
        db.session.execute(sa.update(User).where(User.username == "resident1").values(active=False))
        db.session.commit()
        db.session.remove()
    assert redirected_to_login(web.client.get("/my/cases"))


# --- cookies -------------------------------------------------------------------------------------------------
def set_cookie_flags(resp, name: str) -> set[str]:
    """The attributes of the Set-Cookie header for name, lower-cased: {"httponly", "samesite=lax", ...}."""
    (header,) = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    return {part.strip().lower() for part in header.split(";")[1:]}


def test_production_cookie_is_host_prefixed_secure_httponly_lax_and_hsts_is_sent(app, demo, make_second_app):
    prod = make_second_app("production")
    name = prod.config["SESSION_COOKIE_NAME"]
    assert name == "__Host-jiefen_session"
    client = prod.test_client()
    base = {"base_url": "https://jiefen.example"}
    page = client.get("/login", **base)
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page.get_data(as_text=True))
    resp = client.post("/login", data={"username": "resident1", "password": demo, "csrf_token": token.group(1)},
                       headers={"Referer": "https://jiefen.example/login"}, **base)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1000]
    flags = set_cookie_flags(resp, name)
    # What the __Host- prefix demands, or browsers drop the cookie: Secure, Path=/, no Domain.
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= flags
    assert not any(flag.startswith("domain") for flag in flags)
    assert not [h for h in resp.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "=")]  # not the old name
    assert resp.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert client.get("/my/cases", **base).status_code == 200
    assert prod.config["REMEMBER_COOKIE_SECURE"] and prod.config["REMEMBER_COOKIE_HTTPONLY"]
    lang = client.get("/lang/en?next=/my/cases", **base)
    assert {"secure", "httponly", "samesite=lax"} <= set_cookie_flags(lang, "lang")


# --- next ----------------------------------------------------------------------------------------------------
OFF_SITE = [
    "//evil.com", "/\\evil.com", "https:evil.com", "http://evil.com", "\\\\evil.com", "/%5Cevil.com",
    "%2F%2Fevil.com", "/%2F/evil.com", "/%2Fevil.com", "/\tevil.com", "/\t/evil.com", "/\n/evil.com", "/\r\n/evil.com",
    "javascript:alert(1)", "JavaScript:alert(1)", "https://evil.com", "HTTPS://evil.com", "///evil.com", " //evil.com",
    "evil.com", "/\\/evil.com", "/\x00//evil.com", "/%09/evil.com", "//evil.com/%2F..", "\x7f//evil.com",
]
LOCAL = ["/my/cases", "/cases/3?tab=evidence#files", "/consult?q=%E6%8A%BC%E9%87%91"]


def test_next_after_login_never_leads_off_site_and_a_local_one_is_kept(app, make_web):
    """One login per target, each in a fresh browser (a logged-in one would skip the login altogether)."""
    from tests.security.test_login_limit import PASSWORD, make_user

    username = make_user(app)
    for target in OFF_SITE + LOCAL:
        web = make_web()
        resp = web.post("/login", {"username": username, "password": PASSWORD}, page="/login",
                        query_string={"next": target})
        expected = target if target in LOCAL else "/dashboard"
        assert resp.status_code == 302 and resp.headers["Location"] == expected, repr(target)
        assert web.client.get("/my/cases").status_code == 200, repr(target)  # the login itself did happen
    data = {"username": "zhaolei", "display_name": "赵磊", "password": "correct-horse-1", "confirm": "correct-horse-1"}
    resp = make_web().post("/register", data, page="/register", query_string={"next": "/\\evil.com"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/dashboard"  # registration checks it too
