"""Residents count days in Beijing time (UTC+8), whatever the server's clock: between 16:00 and 24:00 UTC it is
already tomorrow in China, and a date the resident calls "today" must be accepted and offered by the picker."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import time_machine

# 23:30 UTC on 1 December is 07:30 on 2 December in Beijing.
LATE_UTC = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)


def test_the_date_picker_and_the_check_use_todays_date_in_beijing(app, demo, make_web):
    with time_machine.travel(LATE_UTC, tick=True):
        web = make_web()
        web.login("resident1")
        page = web.get("/cases/new").get_data(as_text=True)
        for name in ("began_on", "learned_on"):
            tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
            assert 'max="2026-12-02"' in tag, tag
        data = {"title": "今早邻居装修漏水", "description": "今天早上楼上装修把水管弄破，水漏到我家客厅。"}
        tomorrow = web.post("/cases/new", {**data, "began_on": "2026-12-03"}, page="/cases/new")
        body = tomorrow.get_data(as_text=True)
        assert tomorrow.status_code == 422 and "日期不能晚于今天。" in body and "今早邻居装修漏水" in body
        today = web.post("/cases/new", {**data, "began_on": "2026-12-02", "learned_on": "2026-12-02"},
                         page="/cases/new")
        assert today.status_code == 302 and re.search(r"/cases/\d+/intake/2$", today.headers["Location"])


def test_the_form_made_later_offers_the_later_day(app, demo, make_web):
    """The picker's latest day follows the clock (23:50 then 00:05 in Beijing, within one login: a worker started yesterday must not offer yesterday's date)."""
    web = make_web()
    with time_machine.travel(datetime(2026, 12, 1, 15, 50, tzinfo=UTC), tick=True):
        web.login("resident1")
        assert 'max="2026-12-01"' in web.get("/cases/new").get_data(as_text=True)
    with time_machine.travel(datetime(2026, 12, 1, 16, 5, tzinfo=UTC), tick=True):
        assert 'max="2026-12-02"' in web.get("/cases/new").get_data(as_text=True)


def test_an_id_number_of_someone_born_today_in_beijing_is_valid(app):
    from app.core.validators import id_number_error

    number = "110105202612020015"  # born 2026-12-02 (check digit computed below)
    weights, chars = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), "10X98765432"
    number = number[:17] + chars[sum(int(d) * w for d, w in zip(number[:17], weights)) % 11]
    with app.test_request_context(), time_machine.travel(LATE_UTC):
        assert id_number_error(number) is None
    with app.test_request_context(), time_machine.travel(datetime(2026, 12, 1, 12, 0, tzinfo=UTC)):
        assert id_number_error(number) == "身份证号码中的出生日期无效。"
