"""The administrator's overview: no audit-chain scan on each view (millions of events take minutes); the admin
starts a verification, which runs as a job and reports in the admin's notifications, broken links named."""
from __future__ import annotations

import sqlalchemy as sa

from app.cases.models import CaseEvent
from app.extensions import db
from tests.conftest import sql_statements


def test_the_overview_does_not_scan_the_chain(app, demo, make_web):
    admin = make_web()
    admin.login("admin")
    with sql_statements(app) as statements:
        page = admin.get("/admin/overview").get_data(as_text=True)
    assert "系统概览" in page and "校验哈希链" in page
    assert not [s for s in statements if "FROM case_events" in s]


def test_a_verification_reports_intact_then_the_altered_event(app, demo, make_web):
    admin = make_web()
    admin.login("admin")
    done = admin.post("/admin/overview/verify-chain", {}, page="/admin/overview", follow_redirects=True)
    assert "已开始校验办理记录哈希链" in done.get_data(as_text=True)
    with app.app_context():
        total = db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent))
    notices = admin.get("/notifications").get_data(as_text=True)
    assert "办理记录哈希链完整" in notices and f"已校验 {total} 条办理记录" in notices
    with app.app_context():
        event = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.action == "record_settlement")).one()
        where = f"case {event.case_id} event seq {event.seq} (id {event.id})"
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE case_events SET reason = '篡改后的内容' WHERE id = :id"), {"id": event.id})
    admin.post("/admin/overview/verify-chain", {}, page="/admin/overview")
    notices = admin.get("/notifications").get_data(as_text=True)
    assert "办理记录哈希链发现断裂" in notices and where in notices and "altered" in notices


def test_only_the_admin_may_start_one(app, demo, make_web):
    org_admin = make_web()
    org_admin.login("orgadmin1")
    assert org_admin.post("/admin/overview/verify-chain", {}, page="/dashboard").status_code == 403
    assert org_admin.get("/admin/overview").status_code == 403
