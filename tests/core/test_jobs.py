"""The job layer: in-process (inline, timers) without Redis; RQ with its scheduler when REDIS_URL is set."""
from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from app.accounts.models import User
from app.core import jobs
from app.core.time import utcnow
from app.extensions import db
from tests.services import TEST_REDIS

RAN: list = []


@jobs.job
def record(value: str) -> None:
    """A job that notes what it saw: its argument, and whether it had an app context of its own."""
    RAN.append((value, current_app.name, db.session.scalar(sa.select(sa.func.count()).select_from(User))))


def not_a_job(value: str) -> None:
    RAN.append(value)


@pytest.fixture(autouse=True)
def _reset():
    RAN.clear()
    yield
    RAN.clear()


def test_inprocess_enqueue_runs_the_job_inline(app):
    with app.app_context():
        jobs.enqueue(record, "now")
    assert [r[0] for r in RAN] == ["now"]


def test_inside_a_transaction_the_job_waits_for_the_commit_and_sees_its_rows(app):
    with app.app_context():
        db.session.add(User(username="job-user", display_name="任务", password_hash="x"))
        db.session.flush()
        jobs.enqueue(record, "after-commit")
        assert RAN == []  # not before the commit: it would not see the new row
        db.session.commit()
        assert RAN == [("after-commit", app.name, 1)]  # ran in its own session, and saw the committed user


def test_a_rolled_back_transaction_drops_its_jobs(app):
    with app.app_context():
        db.session.add(User(username="job-user", display_name="任务", password_hash="x"))
        db.session.flush()
        jobs.enqueue(record, "dropped")
        db.session.rollback()
        db.session.commit()
    assert RAN == []


def test_a_released_savepoint_does_not_send_the_job(app):
    with app.app_context():
        db.session.add(User(username="job-user", display_name="任务", password_hash="x"))
        db.session.flush()
        with db.session.begin_nested():
            jobs.enqueue(record, "outer")
        assert RAN == []
        db.session.commit()
    assert [r[0] for r in RAN] == ["outer"]


def test_inprocess_enqueue_at_runs_on_a_timer(app):
    with app.app_context():
        jobs.enqueue_at(utcnow() + timedelta(milliseconds=200), record, "timer")
        assert RAN == []
    waited = threading.Event()
    deadline = datetime.now() + timedelta(seconds=5)
    while not RAN and datetime.now() < deadline:
        waited.wait(0.05)
    assert [r[0] for r in RAN] == ["timer"]


def test_only_marked_jobs_can_be_sent(app):
    with app.app_context(), pytest.raises(TypeError):
        jobs.enqueue(not_a_job, "x")


def test_worker_command_needs_redis(app):
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output and "未设置 REDIS_URL" in result.output


# --- with Redis ------------------------------------------------------------------------------------
@pytest.fixture()
def rq_app(app, monkeypatch):
    """The app with REDIS_URL on Redis db 15 and a queue of its own; the keys it made are deleted after."""
    redis = pytest.importorskip("redis")
    conn = redis.Redis.from_url(TEST_REDIS)
    try:
        conn.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running at 127.0.0.1:6379")
    name = f"jiefen-test-{secrets.token_hex(4)}"
    monkeypatch.setitem(app.config, "REDIS_URL", TEST_REDIS)
    monkeypatch.setitem(app.config, "JOBS_QUEUE", name)
    before = set(conn.keys("*"))
    yield app
    made = set(conn.keys("*")) - before
    if made:
        conn.delete(*made)
    conn.srem("rq:queues", f"rq:queue:{name}")
    conn.close()


def test_rq_enqueue_at_puts_the_job_in_the_scheduled_registry(rq_app):
    from rq.registry import ScheduledJobRegistry

    when = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    with rq_app.app_context():
        jobs.enqueue_at(when, record, "later")
        queue = jobs.rq_queue()
        registry = ScheduledJobRegistry(queue=queue)
        ids = registry.get_job_ids()
        assert len(ids) == 1 and len(queue) == 0
        # RQ answers in UTC: the naive UTC time we gave is kept, not read as local time.
        assert registry.get_scheduled_time(ids[0]) == when.replace(tzinfo=UTC)
        assert queue.fetch_job(ids[0]).func_name == "tests.core.test_jobs.record"
    assert RAN == []


def test_rq_worker_with_the_scheduler_runs_a_due_job(rq_app):
    from rq import SimpleWorker

    with rq_app.app_context():
        jobs.enqueue_at(utcnow() - timedelta(seconds=1), record, "due")
        jobs.enqueue(record, "now")
        queue = jobs.rq_queue()
        assert RAN == []  # nothing runs until a worker takes it
        worker = SimpleWorker([queue], connection=queue.connection)
        worker.work(burst=True, with_scheduler=True)
    assert sorted(r[0] for r in RAN) == ["due", "now"]
