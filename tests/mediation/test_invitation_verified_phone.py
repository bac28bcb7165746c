"""Only a VERIFIED account phone that matches the invited party's number answers an invitation without the
invitation's own SMS code. Anyone can type the respondent's number at registration: such an account is offered the
invitation code (sent to the respondent's phone, which the impostor does not hold) like any other number, and sees
nothing of the claim. The respondent who registers with their number and verifies it answers in one step."""
from __future__ import annotations

import re

from tests.accounts.test_phone_verification import (
    codes_to,
    fresh_send_limits,  # noqa: F401  (autouse: limits start empty)
    register,
    verify,
)
from tests.mediation.test_invitation_answerers import _invitation
from tests.mediation.test_invitation_code import _code_messages
from tests.mediation.test_invitations import (
    INVITED_PHONE,
    _case_in_mediation,
    _token,
    _user_id,
    invited_phone_on_account,
)


def test_an_account_registered_with_the_respondents_number_but_unverified_cannot_answer_without_the_code(
        app, demo, make_web):
    _, case_id = _case_in_mediation(app, make_web)  # resident2 holds the invited number, verified
    token = _token(app, case_id)
    impostor, _ = register(make_web, "impostor", phone=INVITED_PHONE)  # typed, never proven: skips the code page
    page = impostor.get(f"/invitations/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "向 139****9876 发送验证码" in html
    assert "绑定的正是这个号码，但还没有用短信验证码验证过" in html
    assert "楼上卫生间漏水" not in html and INVITED_PHONE not in html  # nothing of the claim, nor the number
    for answer in ("accept", "decline"):
        resp = impostor.post(f"/invitations/{token}/{answer}", {"reason": "不同意"})
        assert resp.status_code == 422 and "请输入短信中的 6 位验证码" in resp.get_data(as_text=True)
    assert _invitation(app, case_id) == (None, None)
    assert impostor.get(f"/cases/{case_id}").status_code == 404
    # Guessing the registration code sent to the respondent's phone gets nowhere either (five tries, then gone).
    code = codes_to(app, INVITED_PHONE)[0]
    for guess in (f"{(int(code) + n) % 10**6:06d}" for n in range(1, 6)):
        assert verify(impostor, guess).status_code == 422
    assert verify(impostor, code).status_code == 422
    assert impostor.post(f"/invitations/{token}/accept").status_code == 422
    assert _invitation(app, case_id) == (None, None)

    # The respondent's own verified account answers at once, no code sent.
    respondent = make_web()
    respondent.login("resident2")
    assert respondent.post(f"/invitations/{token}/accept", page=f"/invitations/{token}").status_code == 302
    assert _invitation(app, case_id) == ("accepted", _user_id(app, "resident2"))
    assert _code_messages(app, case_id) == []


def test_the_same_account_unverified_is_offered_the_code_and_answers_with_it(app, demo, make_web):
    _, case_id = _case_in_mediation(app, make_web)
    token = _token(app, case_id)
    invited_phone_on_account(app, verified=False)  # resident2 has the number, not proven
    respondent = make_web()
    respondent.login("resident2")
    html = respondent.get(f"/invitations/{token}").get_data(as_text=True)
    assert "还没有用短信验证码验证过" in html and "楼上卫生间漏水" not in html
    assert respondent.post(f"/invitations/{token}/accept").status_code == 422
    assert respondent.post(f"/invitations/{token}/code", page=f"/invitations/{token}").status_code == 302
    code = re.search(r"验证码 (\d{6})", _code_messages(app, case_id)[-1].body).group(1)
    assert respondent.post(f"/invitations/{token}/accept", {"code": code}).status_code == 302
    assert _invitation(app, case_id) == ("accepted", _user_id(app, "resident2"))


def test_the_respondent_who_registers_and_verifies_the_invited_number_answers_in_one_step(app, demo, make_web):
    _, case_id = _case_in_mediation(app, make_web)
    invited_phone_on_account(app, phone="13800001111")  # nobody else holds the invited number
    token = _token(app, case_id)
    landing = make_web().get(f"/invitations/{token}").get_data(as_text=True)
    assert f"/register?next=/invitations/{token}" in landing.replace("%2F", "/")

    web, resp = register(make_web, "lijianguo", phone=INVITED_PHONE, next_url=f"/invitations/{token}")
    assert resp.headers["Location"] == f"/account/phone/verify?next=/invitations/{token}"
    done = verify(web, codes_to(app, INVITED_PHONE)[0], next_url=f"/invitations/{token}")
    assert done.status_code == 302 and done.headers["Location"] == f"/invitations/{token}"
    html = web.get(f"/invitations/{token}").get_data(as_text=True)
    assert "楼上卫生间漏水" in html and "发送验证码" not in html  # the invitation itself
    assert web.post(f"/invitations/{token}/accept").status_code == 302
    assert _invitation(app, case_id) == ("accepted", _user_id(app, "lijianguo"))
    assert _code_messages(app, case_id) == []  # no invitation code was needed
