"""Load the session room: ROOMS cases in mediation, each with its mediator and two parties connected (3 clients per
room), every client sending a chat message every INTERVAL seconds for DURATION seconds, against gunicorn with
4 gthread workers sharing rooms through Redis (the README's production recipe; clients land on any worker).

Fan-out latency: from the moment a client emits a message until each member of the room receives it (the sender
included: its own copy is the broadcast, not the ack). All clients live in this process (one asyncio loop), so
one monotonic clock times both ends. Lost: deliveries expected (messages x room members) minus received.

Prints human lines, then one JSON line: rooms, clients, sent, expected, received, lost, p50_ms, p99_ms, max_ms,
ack_p50_ms / ack_p99_ms (emit -> stored and acknowledged), refused.
Usage: python bench/session_room.py [--rooms 100] [--duration 20] [--interval 2] [--workers 4]
DATABASE_URL picks the database (default: a fresh database on the local PostgreSQL, as in production); REDIS_URL the queue (default 127.0.0.1:6379)."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ACKS: list[float] = []    # emit -> the server's acknowledgement (stored and committed), ms
FAILED: list[dict] = []   # acknowledgements that refused the message
import socketio  # noqa: E402  (python-socketio's asyncio client, requirements-dev.txt)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(database_url: str, secret: str, rooms: int) -> list[tuple[int, list[str]]]:
    """Migrate, then make `rooms` cases in mediation, each with 3 logged-in participants: (case_id, [cookie x3])."""
    from flask_migrate import upgrade

    from app import create_app
    from app.accounts.models import Organisation, OrgType, Role, Tier, User
    from app.accounts.operations import hash_password, start_session
    from app.cases.models import Case, CaseParty, CaseStatus, PartyKind, PartyRole, Stage
    from app.extensions import db

    app = create_app({"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secret})
    with app.app_context():
        upgrade()
        tag = secrets.token_hex(3)
        org = Organisation(name=f"压测调解委员会-{tag}", type=OrgType.people_mediation, tier=Tier.village,
                           region_code="340202001001")
        db.session.add(org)
        pw = hash_password(secrets.token_hex(8))

        def user(name, role):
            u = User(username=f"{name}-{tag}", display_name=name, role=role, password_hash=pw,
                     organisation=org if role == Role.mediator else None)
            db.session.add(u)
            return u

        made = []
        for i in range(rooms):
            mediator, applicant, respondent = (user(f"调解员{i}", Role.mediator), user(f"申请人{i}", Role.resident),
                                               user(f"被申请人{i}", Role.resident))
            db.session.flush()
            case = Case(title=f"压测案件{i}", stage=Stage.mediate, status=CaseStatus.in_progress, category="neighbour",
                        description="压测", filed_by_id=applicant.id, organisation_id=org.id, mediator_id=mediator.id)
            case.parties = [CaseParty(role=PartyRole.applicant, kind=PartyKind.person, name=applicant.display_name,
                                      user_id=applicant.id),
                            CaseParty(role=PartyRole.respondent, kind=PartyKind.person, name=respondent.display_name,
                                      user_id=respondent.id)]
            db.session.add(case)
            made.append((case, (mediator, applicant, respondent)))
        db.session.commit()
        serializer = app.session_interface.get_signing_serializer(app)
        result = []
        for case, people in made:
            cookies = []
            for person in people:
                with app.test_request_context("/"):
                    from flask import session

                    start_session(person, "127.0.0.1")
                    cookies.append(serializer.dumps(dict(session)))
            result.append((case.id, cookies))
        db.session.commit()
    return result


def fresh_postgres(tmp: str):
    """A new database on the local PostgreSQL (TEST_DATABASE_URL, as the tests use), dropped afterwards; SQLite
    in tmp when PostgreSQL does not answer."""
    import psycopg

    base = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"jiefen_bench_room_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(base, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # nosemgrep: sql-built-from-strings -- name made above from hex digits
    except psycopg.OperationalError:
        print("PostgreSQL not reachable: SQLite (one writer at a time: expect far worse figures)", flush=True)
        return f"sqlite:///{tmp}/bench.db", None

    def drop() -> None:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # nosemgrep: sql-built-from-strings -- name made above

    return base.rsplit("/", 1)[0] + f"/{name}", drop


def start_server(database_url: str, secret: str, redis_url: str, workers: int, threads: int, port: int, log):
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secret, "REDIS_URL": redis_url,
           "SOCKETIO_CHANNEL": f"jiefen-bench-{secrets.token_hex(4)}", "JIEFEN_CONFIG": "development",
           "JIEFEN_INSTANCE_DIR": tempfile.mkdtemp(prefix="jiefen-bench-")}
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "--preload", "-k", "gthread", "--threads", str(threads),
                             "-w", str(workers), "-b", f"127.0.0.1:{port}", "app:create_app()"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


async def wait_up(base: str, timeout: float = 60) -> None:  # noqa: ASYNC109 (a polling deadline)
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(base + "/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the server did not start")


class Member:
    def __init__(self, room: int, index: int, cookie: str, latencies: list[float], received: dict):

        self.room, self.index, self.cookie = room, index, cookie
        self.sio = socketio.AsyncClient(reconnection=False)
        self.pid = None
        self.latencies, self.received = latencies, received
        self.sio.on("state", self.on_state, namespace="/room")
        self.sio.on("chat", self.on_chat, namespace="/room")

    async def on_state(self, state):
        self.pid = state["pid"]

    async def on_chat(self, message):
        tag, _, stamp = message["body"].partition("@")
        if not stamp:
            return
        self.latencies.append((time.monotonic() - float(stamp)) * 1000)
        self.received[(self.room, self.index)] = self.received.get((self.room, self.index), 0) + 1

    async def connect(self, base: str, case_id: int) -> None:
        await self.sio.connect(base, namespaces=["/room"], transports=["websocket"], auth={"case_id": case_id},
                               headers={"Cookie": f"jiefen_session={self.cookie}"}, wait_timeout=30)

    async def talk(self, duration: float, interval: float, sent: list) -> None:
        await asyncio.sleep(interval * (self.index / 3 + (self.room % 10) / 10))  # spread the senders out
        end = time.monotonic() + duration
        n = 0
        while time.monotonic() < end:
            n += 1
            body = f"r{self.room}c{self.index}m{n}@{time.monotonic():.6f}"
            t = time.monotonic()
            sent.append(self.room)
            try:
                ack = await self.sio.call("send", {"room": "joint", "body": body,
                                                   "client_id": f"b{self.room}-{self.index}-{n}"},
                                          namespace="/room", timeout=30)
            except socketio.exceptions.TimeoutError:  # overloaded: the message may still arrive late
                ack = {"ok": False, "error": "no acknowledgement within 30 s"}
            ACKS.append((time.monotonic() - t) * 1000)
            if not ack.get("ok"):
                FAILED.append(ack)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - t)))


async def run(base: str, rooms: list[tuple[int, list[str]]], duration: float, interval: float) -> dict:
    latencies: list[float] = []
    received: dict = {}
    members = [[Member(r, i, cookie, latencies, received) for i, cookie in enumerate(cookies)]
               for r, (_, cookies) in enumerate(rooms)]
    t0 = time.monotonic()
    for chunk in range(0, len(members), 20):  # connect 20 rooms at a time
        await asyncio.gather(*(m.connect(base, rooms[r][0]) for r in range(chunk, min(chunk + 20, len(members)))
                               for m in members[r]))
    connect_s = time.monotonic() - t0
    await asyncio.sleep(1)
    sent: list[int] = []
    await asyncio.gather(*(m.talk(duration, interval, sent) for room in members for m in room))
    await asyncio.sleep(3)  # drain
    pids = {m.pid for room in members for m in room}
    for room in members:
        for m in room:
            await m.sio.disconnect()
    expected = len(sent) * 3
    got = sum(received.values())
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 100 else [max(latencies or [0])] * 99
    return {"rooms": len(rooms), "clients": len(rooms) * 3, "workers_seen": len(pids), "connect_s": round(connect_s, 2),
            "sent": len(sent), "expected": expected, "received": got, "lost": expected - got,
            "p50_ms": round(statistics.median(latencies), 1) if latencies else None, "p99_ms": round(q[98], 1),
            "max_ms": round(latencies[-1], 1) if latencies else None,
            "msgs_per_s": round(len(sent) / duration, 1), "refused": len(FAILED),
            "ack_p50_ms": round(statistics.median(ACKS), 1) if ACKS else None,
            "ack_p99_ms": round(statistics.quantiles(ACKS, n=100)[98], 1) if len(ACKS) >= 100 else None}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=4)  # as the README's production command
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="jiefen-room-bench-")
    from app.config import normalise_database_url

    database_url, drop = os.environ.get("DATABASE_URL"), None
    if not database_url:
        database_url, drop = fresh_postgres(tmp)
    database_url = normalise_database_url(database_url)
    try:
        redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        secret = secrets.token_hex(32)
        print(f"preparing {args.rooms} rooms on {database_url.split('@')[-1]} ...", flush=True)
        rooms = prepare(database_url, secret, args.rooms)
        port = _free_port()
        threads = args.rooms * 3 // args.workers + 50  # one thread per websocket in gthread mode, with room to spare
        log_path = Path(tmp) / "gunicorn.log"
        with open(log_path, "w") as log:
            server = start_server(database_url, secret, redis_url, args.workers, threads, port, log)
            try:
                asyncio.run(wait_up(f"http://127.0.0.1:{port}"))
                print(f"gunicorn: {args.workers} gthread workers x {threads} threads, Redis {redis_url}", flush=True)
                result = asyncio.run(run(f"http://127.0.0.1:{port}", rooms, args.duration, args.interval))
            finally:
                server.terminate()
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
    finally:
        if drop:
            drop()
    result.update({"workers": args.workers, "duration_s": args.duration, "interval_s": args.interval,
                   "database": database_url.split(":")[0]})
    print(f"{result['sent']} messages in {args.duration:.0f} s ({result['msgs_per_s']}/s), "
          f"{result['received']}/{result['expected']} deliveries, fan-out p50 {result['p50_ms']} ms, "
          f"p99 {result['p99_ms']} ms, max {result['max_ms']} ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
