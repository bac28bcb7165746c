"""Background jobs: RQ on Redis when REDIS_URL is set, in-process otherwise.

A job is an importable top-level function marked with @job that takes plain ids (never ORM objects): it
runs in a fresh app context of its own and commits its own work, like a view. enqueue() and enqueue_at()
called inside a database transaction send the job only once that transaction commits (so the job finds the
rows it was given the ids of) and drop it on a rollback; outside a transaction they send it at once.

With Redis the jobs go to the RQ queue "jiefen" (JOBS_QUEUE); timed ones through RQ's scheduler, so the
worker must run with it (`flask jobs worker` does). In-process, enqueue() runs the job inline and
enqueue_at() starts a daemon timer: a timer dies with its process, which is why every timed job also needs
a catch-up (`flask jobs run-due`, safe to run from cron).
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from app.core.time import utcnow
from app.extensions import db

jobs_cli = AppGroup("jobs", help="Background jobs (RQ worker, due jobs).")

DEFAULT_QUEUE = "jiefen"
_PENDING = "jiefen_pending_jobs"  # key in Session.info: sends waiting for the transaction to commit


# --- running a job ---------------------------------------------------------------------------
@functools.cache
def worker_app() -> Flask:
    """The app of a worker process that has none (e.g. `rq worker`): built once per process."""
    from app import create_app

    return create_app()


def job(func: Callable) -> Callable:
    """Mark func as a job: each run gets a fresh app context (the current app's, else the worker's)."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        app = current_app._get_current_object() if has_app_context() else worker_app()
        with app.app_context():
            return func(*args, **kwargs)

    run.is_job = True
    return run


def _run_logged(app: Flask, func: Callable, args: tuple, kwargs: dict) -> None:
    """Run a job in-process: a failure is logged (as a worker would record it), never raised."""
    with app.app_context():
        try:
            func(*args, **kwargs)
        except Exception:
            app.logger.exception("job %s failed", getattr(func, "__qualname__", func))


# --- sending a job ---------------------------------------------------------------------------
def redis_url() -> str | None:
    return current_app.config.get("REDIS_URL") or None


@functools.lru_cache(maxsize=8)
def _redis(url: str):
    from redis import Redis

    return Redis.from_url(url)


def rq_queue():
    """The RQ queue jobs go to (JOBS_QUEUE, default "jiefen"), on REDIS_URL."""
    from rq import Queue

    url = redis_url()
    if not url:
        raise RuntimeError("REDIS_URL is not set")
    return Queue(current_app.config.get("JOBS_QUEUE", DEFAULT_QUEUE), connection=_redis(url))


def _check(func: Callable) -> None:
    if not getattr(func, "is_job", False):
        raise TypeError(f"{func!r} is not a job: mark it with @app.core.jobs.job")


def _after_commit(send: Callable[[], None]) -> None:
    """send() now, or once the current transaction commits (dropped if it rolls back)."""
    if has_app_context() and db.session().in_transaction():
        db.session().info.setdefault(_PENDING, []).append(send)
    else:
        send()


@sa.event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the transaction may still roll back
        return
    for send in session.info.pop(_PENDING, []):
        try:
            send()
        except Exception:
            current_app.logger.exception("job not sent")


@sa.event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended without a commit: its jobs go with it
        session.info.pop(_PENDING, None)


def enqueue(func: Callable, *args: Any, **kwargs: Any) -> None:
    """Run a job soon: on an RQ worker with Redis, else inline (in a fresh app context)."""
    _check(func)
    app = current_app._get_current_object()
    if redis_url():
        queue = rq_queue()
        _after_commit(lambda: queue.enqueue(func, args=args, kwargs=kwargs))
    else:
        _after_commit(lambda: _run_logged(app, func, args, kwargs))


def enqueue_at(when: datetime, func: Callable, *args: Any, **kwargs: Any) -> None:
    """Run a job at `when` (naive UTC): RQ's scheduler with Redis, else a daemon timer in this process."""
    _check(func)
    app = current_app._get_current_object()
    if redis_url():
        queue = rq_queue()
        # RQ reads a naive datetime as the server's local time: say that it is UTC.
        at = when.replace(tzinfo=UTC)
        _after_commit(lambda: queue.enqueue_at(at, func, args=args, kwargs=kwargs))
        return

    def start_timer() -> None:
        delay = max(0.0, (when - utcnow()).total_seconds())
        timer = threading.Timer(delay, _run_logged, args=(app, func, args, kwargs))
        timer.daemon = True
        timer.start()

    _after_commit(start_timer)


# --- CLI ---------------------------------------------------------------------------------------
@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs that are due, then stop.")
def worker_command(burst: bool) -> None:
    """Run an RQ worker, with the scheduler, on the jiefen queue (needs REDIS_URL)."""
    if not redis_url():
        raise click.ClickException(
            "REDIS_URL is not set: jobs run in-process and need no worker. Set REDIS_URL (e.g. "
            "redis://127.0.0.1:6379/0) to use RQ.\n未设置 REDIS_URL：任务在本进程内运行，无需启动 worker。"
            "如需使用 RQ，请设置 REDIS_URL（例如 redis://127.0.0.1:6379/0）。")
    from rq import Worker

    queue = rq_queue()
    # Each job runs in a forked work horse: connections opened before the fork must not be shared with it.
    db.session.remove()
    db.engine.dispose()
    click.echo(f"RQ worker on queue {queue.name!r} ({'burst' if burst else 'with the scheduler'}).")
    Worker([queue], connection=queue.connection).work(burst=burst, with_scheduler=True)
