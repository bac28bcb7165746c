"""The server side of bench/load.py: the scratch PostgreSQL database, gunicorn serving app/wsgi.py (sync workers,
--preload), and where the workers' time went (from gunicorn's access log)."""
from __future__ import annotations

import base64
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "jiefen-demo"  # the demo users' (flask seed-demo) and the bench residents'


def prepare(residents: int) -> None:
    """Migrate (flask db upgrade), seed the demo county (flask seed-demo) and add the bench residents."""
    from flask_migrate import upgrade

    from app import create_app
    from app.accounts.models import Role, User
    from app.accounts.operations import hash_password
    from app.demo import seed_demo
    from app.extensions import db
    from app.privacy.consent import record_consent

    application = create_app()
    with application.app_context():
        upgrade()
        seed_demo(PASSWORD)
        db.session.commit()
        password_hash = hash_password(PASSWORD)  # one scrypt for all of them
        people = [User(username=f"bench{i:03d}", password_hash=password_hash, display_name=f"压测居民{i}",
                       role=Role.resident) for i in range(residents)]
        db.session.add_all(people)
        db.session.flush()
        for person in people:  # a resident files only under a recorded consent to the current rules
            record_consent(person)
        db.session.commit()


def pg_admin():
    """An AUTOCOMMIT engine on the server's maintenance database."""
    import sqlalchemy as sa

    from app.config import normalise_database_url

    return sa.create_engine(normalise_database_url(PG_URL), isolation_level="AUTOCOMMIT")


def recreate_database(name: str) -> str:
    """Drop and create the scratch database; its URL."""
    import sqlalchemy as sa

    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise SystemExit(f"--database must be a plain lower-case identifier, not {name!r}")
    engine = pg_admin()
    with engine.connect() as conn:
        # nosemgrep: sql-built-from-strings -- a database name checked above to be a plain identifier
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))  # nosemgrep: sql-built-from-strings -- likewise
    engine.dispose()
    return PG_URL.rsplit("/", 1)[0] + "/" + name


def drop_database(name: str) -> None:
    """Remove the scratch database."""
    import sqlalchemy as sa

    engine = pg_admin()
    with engine.connect() as conn:
        # nosemgrep: sql-built-from-strings -- recreate_database() checked the name to be a plain identifier
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(db_url: str, redis_url: str, workdir: Path) -> dict:
    """Environment of the served app: production configuration, scratch files, consult limit raised, staff on
    passwords alone."""
    env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=redis_url, JIEFEN_CONFIG="production",
               SECRET_KEY=secrets.token_hex(32), JIEFEN_INSTANCE_DIR=str(workdir / "instance"),
               JIEFEN_FILES_DIR=str(workdir / "files"), CONSULT_RATE_LIMIT="1000000/minute",
               DB_POOL_SIZE="2", PYTHONPATH=str(ROOT),
               # The bench logs staff in with passwords: an explicit opt-out of production's second factor for staff
               # (the app logs a warning about it at start-up).
               MFA_REQUIRED_ROLES="",
               # Production refuses to start without the personal-data key: a throwaway one per run.
               JIEFEN_DATA_KEYS="k1:" + base64.b64encode(secrets.token_bytes(32)).decode())
    env.pop("FLASK_DEBUG", None)
    return env


def start_gunicorn(env: dict, port: int, workers: int, log: Path) -> subprocess.Popen:
    """gunicorn with sync workers and --preload on the production entry point (app/wsgi.py, as gunicorn.conf.py
    serves it), its output in log. The gunicorn of the venv running the bench: the same interpreter serves."""
    cmd = [str(Path(sys.executable).parent / "gunicorn"), "--preload", "-k", "sync", "-w", str(workers),
           "-b", f"127.0.0.1:{port}", "--timeout", "30", "--graceful-timeout", "5", "--backlog", "2048",
           *(["--worker-tmp-dir", "/dev/shm"] if os.path.isdir("/dev/shm") else []),  # as gunicorn.conf.py
           "--access-logfile", str(log.with_suffix(".access")),
           "--access-logformat", '%(m)s %(U)s %(s)s %(D)s',
           "--logger-class", "app.privacy.logging_filter.GunicornLogger",
           "-c", str(ROOT / "bench" / "gunicorn_cpu.py"), "app.wsgi:application"]
    env = dict(env, JIEFEN_BENCH_CPU_LOG=str(log.with_suffix(".cpu")))
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def worker_pids(master: int) -> list[int]:
    """The gunicorn master's children (its workers)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry))
    return pids


def wait_ready(proc: subprocess.Popen, port: int, workers: int, timeout: float = 120) -> None:
    """Until /healthz answers and every worker is up."""
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200 and len(worker_pids(proc.pid)) >= workers:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not become ready")



def server_time_by_page(access_log: Path, top: int = 12) -> list[str]:
    """Where the workers spent their time, from gunicorn's access log (method, path pattern, status, µs): wall
    time, or CPU time when given the log of bench/gunicorn_cpu.py (same format)."""
    totals: dict[str, list[float]] = {}
    if not access_log.exists():
        return []
    for line in access_log.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) != 4 or not parts[3].isdigit():
            continue
        page = parts[0] + " " + re.sub(r"\d+", "N", parts[1].split("?")[0])
        totals.setdefault(page, []).append(int(parts[3]) / 1000)
    grand = sum(sum(v) for v in totals.values()) or 1
    lines = []
    for page, times in sorted(totals.items(), key=lambda kv: -sum(kv[1]))[:top]:
        times.sort()
        lines.append(f"  {page:32s} {len(times):6d} requests  mean {sum(times) / len(times):6.1f} ms  "
                     f"p99 {times[int(0.99 * (len(times) - 1))]:6.1f} ms  {100 * sum(times) / grand:4.1f} % of server time")
    return lines


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (those that have gone count nothing)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def postgres_pids() -> list[int]:
    """Every process named postgres on the machine (the server's backends and its background workers)."""
    return _pids_named("postgres")


def redis_pids() -> list[int]:
    """Every redis-server process on the machine."""
    return _pids_named("redis-server")


def _pids_named(name: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm", encoding="ascii") as f:
                    if f.read().strip() == name:
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine since boot, summed over its cores (/proc/stat)."""
    with open("/proc/stat", encoding="ascii") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / TICK, sum(values[:8]) / TICK


def cpu_snapshot(master: int) -> dict[str, float]:
    """CPU seconds so far of the gunicorn workers and master, PostgreSQL, Redis, this process and the machine."""
    busy, total = machine_busy_seconds()
    return {"workers": cpu_seconds(worker_pids(master)), "master": cpu_seconds([master]),
            "postgres": cpu_seconds(postgres_pids()), "redis": cpu_seconds(redis_pids()),
            "client": time.process_time(), "machine_busy": busy, "machine_all": total}


def cpu_per_request(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
    """CPU ms per request of each part between two snapshots ("other": the rest of the machine's busy time;
    "idle_share": the share of the machine's CPU time nobody used). Workers that died in between count nothing."""
    spent = {k: after[k] - before[k] for k in before}
    n = max(requests, 1)
    parts = {k: round(1000 * spent[k] / n, 2) for k in ("workers", "master", "postgres", "redis", "client")}
    parts["other"] = round(1000 * spent["machine_busy"] / n - sum(parts.values()), 2)
    parts["idle_share"] = round(1 - spent["machine_busy"] / max(spent["machine_all"], 1e-9), 3)
    return parts
