"""No phone digits in logs from verifying and changing an account's phone (as tests/privacy/test_no_pii_in_logs.py
does for the rest): registration with a number, wrong and right codes, resends up to the limit, a change with a
wrong password and then to a new number, its cancellation and a second change confirmed, the SMS sent by the outbox's
console backend. No log line of any logger at DEBUG holds either number, nor its digits with separators; the
security log's lines are there, with ids and scopes only."""
from __future__ import annotations

import re
from urllib.parse import unquote

import sqlalchemy as sa

from tests.accounts.test_phone_verification import (
    change,
    codes_to,
    fresh_send_limits,  # noqa: F401  (autouse: limits start empty)
    register,
    resend,
    verify,
)
from tests.privacy.test_no_pii_in_logs import all_logs  # noqa: F401  (a fixture)

PHONE, NEW = "13977661234", "13977665678"


def leaks(text: str) -> list[str]:
    squeezed = re.sub(r"[\s\-.:/_+%]", "", unquote(unquote(text)))
    return [v for v in (PHONE, NEW) if v in squeezed]


def test_verifying_and_changing_a_phone_logs_no_number(app, make_web, all_logs):  # noqa: F811
    handler, caplog = all_logs
    web, _ = register(make_web, "quiet_resident", phone=PHONE)
    code = codes_to(app, PHONE)[0]
    assert verify(web, f"{(int(code) + 1) % 10**6:06d}").status_code == 422
    for _ in range(5):
        resend(web)  # the fifth is refused: rate_limited
    assert verify(web, codes_to(app, PHONE)[-1]).status_code == 302
    from app.extensions import limiter

    limiter.reset()  # the account's five codes an hour are spent
    assert change(web, NEW, "wrong-password").status_code == 422
    assert change(web, NEW).status_code == 302
    assert web.post("/account/phone/cancel", page="/account/phone").status_code == 302
    assert change(web, NEW).status_code == 302
    assert verify(web, codes_to(app, NEW)[-1]).status_code == 302
    sent = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert sent.exit_code == 0 and "139****1234" in sent.output and "139****5678" in sent.output

    security = [line for line in handler.lines if line.startswith("security ")]
    for event in ("phone_code_sent", "phone_code_failed", "rate_limited", "reauth_failed", "phone_verified",
                  "phone_changed"):
        assert any(f"event={event} " in line for line in security), event
    assert len(handler.lines) > 50 and caplog.records
    with app.app_context():
        from app.accounts.models import User
        from app.extensions import db

        assert db.session.scalar(sa.select(User.phone).where(User.username == "quiet_resident")) == NEW
    found = [line for line in handler.lines + [caplog.text, sent.output] if leaks(line)]
    assert found == []
