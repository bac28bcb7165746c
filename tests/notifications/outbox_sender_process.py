"""A real sender process for tests/notifications/test_outbox.py, killed with SIGKILL mid-batch.

python -m tests.notifications.outbox_sender_process DATABASE_URL OUTBOX_FILE: delivers through the file
backend, slowed down like a real SMS gateway (one message every 50 ms), in batches of 5,
until nothing is due."""
from __future__ import annotations

import sys
import time

from app.notifications import outbox


class SlowGateway(outbox.FileBackend):
    """The file backend behind a slow network: the message is out before the sender records it as sent."""

    def send(self, message) -> None:
        super().send(message)
        time.sleep(0.05)


def main(database_url: str, outbox_file: str) -> None:
    from app import create_app
    from app.config import TestConfig, normalise_database_url

    class SenderConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = normalise_database_url(database_url)
        SECRET_KEY = "sender-process-" + "x" * 32
        OUTBOX_SMS_BACKEND = OUTBOX_EMAIL_BACKEND = "slow"
        OUTBOX_FILE = outbox_file
        OUTBOX_BATCH_SIZE = 5

    outbox.BACKENDS["slow"] = SlowGateway
    app = create_app(SenderConfig)
    with app.app_context():
        print("sender ready", flush=True)
        outbox.send_due()


if __name__ == "__main__":
    main(*sys.argv[1:3])
