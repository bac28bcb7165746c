"""The outbox sender: leased claims, retries with backoff, concurrent senders, and a sender killed mid-batch
(SIGKILL of a real process): nothing is lost, and at most the one message in flight is delivered twice."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.core.time import utcnow
from app.extensions import db
from app.mediation.models import OutboxMessage
from app.mediation.operations import queue
from app.notifications import outbox

ROOT = Path(__file__).resolve().parents[2]


def _queue(app, n: int, channel: str = "sms") -> list[int]:
    with app.app_context():
        rows = [queue(channel, f"1390000{i:04d}", f"【解纷】通知 {i}", f"第 {i} 条消息") for i in range(n)]
        queue("in_app", "1", "站内消息", "不经发送程序")
        db.session.commit()
        ids = [m.id for m in rows]
        db.session.remove()
    return ids


def _rows(app) -> dict[int, OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel != "in_app")).all()
        db.session.expunge_all()
    return {m.id: m for m in rows}


def _delivered(path: Path) -> Counter:
    if not path.exists():
        return Counter()
    return Counter(json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines() if line)


@pytest.fixture()
def file_channel(app, tmp_path, monkeypatch):
    """SMS and e-mail go through the file backend into a file of this test; returns its path."""
    path = tmp_path / "outbox.jsonl"
    monkeypatch.setitem(app.config, "OUTBOX_SMS_BACKEND", "file")
    monkeypatch.setitem(app.config, "OUTBOX_EMAIL_BACKEND", "file")
    monkeypatch.setitem(app.config, "OUTBOX_FILE", str(path))
    return path


def test_a_message_exists_only_if_its_change_committed(app):
    with app.app_context():
        queue("sms", "13900000000", "回滚", "不应发送")
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
        db.session.remove()


def test_killed_sender_loses_nothing_and_repeats_at_most_the_message_in_flight(app, database_url,
                                                                                 file_channel):
    ids = _queue(app, 30)
    command = [sys.executable, "-m", "tests.notifications.outbox_sender_process", database_url,
               str(file_channel)]
    sender = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "JIEFEN_INSTANCE_DIR": str(file_channel.parent),
                                   # another process of the same installation: the same personal-data key
                                   "JIEFEN_DATA_KEYS": (Path(app.instance_path) / "data.key").read_text()})
    try:
        deadline = time.monotonic() + 60
        while sum(_delivered(file_channel).values()) < 8:  # mid-way through its second batch of 5
            assert sender.poll() is None, sender.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the sender process delivered nothing"
            time.sleep(0.02)
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=10)
    finally:
        if sender.poll() is None:
            sender.kill()
        sender.stdout.close()
        sender.stderr.close()
    assert sender.returncode == -signal.SIGKILL
    rows = _rows(app)
    orphaned = [i for i in ids if rows[i].sent_at is None and rows[i].claimed_until is not None]
    assert 0 < len(orphaned) <= 5, "the kill leaves one claimed batch (OUTBOX_BATCH_SIZE=5) behind"

    with app.app_context():  # another sender now: the dead one's claims are still leased, so they wait
        outbox.send_due()
    rows = _rows(app)
    assert [i for i in ids if rows[i].sent_at is None] == orphaned

    with app.app_context():  # once the lease has run out they are taken over
        later = utcnow() + timedelta(seconds=outbox.setting("OUTBOX_LEASE_SECONDS") + 1)
        assert outbox.send_due(now=later).sent == len(orphaned)
    rows, delivered = _rows(app), _delivered(file_channel)
    assert all(rows[i].sent_at is not None for i in ids)
    assert set(delivered) == set(ids)                                   # nothing lost
    twice = [i for i, n in delivered.items() if n > 1]
    assert twice in ([], [orphaned[0]])  # at most the one that was in flight when the sender died
    assert all(n <= 2 for n in delivered.values())


def test_failed_delivery_is_retried_with_backoff_then_given_up(app, file_channel, monkeypatch):
    (message_id,) = _queue(app, 1)
    monkeypatch.setitem(app.config, "OUTBOX_FILE", str(file_channel.parent))  # a folder: every write fails
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    now = utcnow()
    with app.app_context():
        assert outbox.send_due(now=now).failed == 1
        assert outbox.send_due(now=now + timedelta(seconds=29)).batches == 0   # backing off: 30 s after try 1
        assert outbox.send_due(now=now + timedelta(seconds=31)).failed == 1    # try 2, then 60 s
        assert outbox.send_due(now=now + timedelta(seconds=80)).batches == 0
    row = _rows(app)[message_id]
    assert row.attempts == 2 and row.sent_at is None and row.gave_up_at is None
    assert row.last_error.startswith("IsADirectoryError") and row.claimed_by is None
    with app.app_context():
        assert outbox.send_due(now=now + timedelta(seconds=95)).failed == 1    # try 3 of 3: given up
        assert outbox.send_due(now=now + timedelta(days=1)).batches == 0
    assert _rows(app)[message_id].gave_up_at is not None

    monkeypatch.setitem(app.config, "OUTBOX_FILE", str(file_channel))  # the channel works again
    with app.app_context():
        # An operator sends it again.
        db.session.execute(sa.update(OutboxMessage).values(gave_up_at=None, next_attempt_at=None))
        db.session.commit()
        assert outbox.send_due().sent == 1
    assert _delivered(file_channel) == {message_id: 1}


def test_concurrent_senders_deliver_each_message_once(app, file_channel):
    ids = _queue(app, 24)
    results, barrier = [], threading.Barrier(3)

    def run() -> None:
        with app.app_context():
            barrier.wait()
            results.append(outbox.send_due(max_batches=None))
            db.session.remove()

    with app.app_context():
        app.config["OUTBOX_BATCH_SIZE"] = 4
        try:
            threads = [threading.Thread(target=run) for _ in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            app.config.pop("OUTBOX_BATCH_SIZE")
    assert sum(r.sent for r in results) == 24 and all(r.failed == 0 for r in results)
    assert _delivered(file_channel) == {i: 1 for i in ids}


def test_a_claim_takes_at_most_one_batch_and_leaves_claimed_rows_alone(app):
    ids = _queue(app, 7)
    with app.app_context():
        first = outbox.claim_batch("sender-a", limit=3)
        second = outbox.claim_batch("sender-b", limit=3)
        third = outbox.claim_batch("sender-c", limit=3)
        db.session.remove()
    assert (first, second, third) == (ids[:3], ids[3:6], ids[6:])


def test_in_app_messages_are_left_to_the_reader(app, file_channel):
    _queue(app, 1)
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0 and result.output.startswith("1 message(s) sent.")
    with app.app_context():
        in_app = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.channel == "in_app"))
        assert in_app.sent_at is None and in_app.attempts == 0
        db.session.remove()
