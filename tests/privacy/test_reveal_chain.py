"""The PII reveal log is tamper-evident: one hash chain over every reveal (verified by `flask audit verify`, the
admin's verification job and the restore check, naming the broken row), database triggers that refuse UPDATE and
DELETE, no fork when reveals happen at the same time, and the migration chains the rows already there."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from app.core.audit import chain_hash
from app.extensions import db
from app.privacy import reveal_chain, reveal_triggers
from app.privacy.reveal_models import PiiReveal
from tests.conftest import scratch_app
from tests.privacy.test_reveal import _reveal, demo_case

BEFORE = "d4d3b4c5e6a7"  # the revision before the reveal chain (d46adb1bfade)


def _verify(app) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def chain_verifies(app, total: int) -> None:
    """The reveal chain holds `total` rows and verifies, both in code and through `flask audit verify`."""
    with app.app_context():
        assert reveal_chain.verify() == (total, None)
        db.session.remove()
    code, out = _verify(app)
    assert code == 0 and f"OK: {total} PII reveals verified" in out


def _ids(app) -> list[int]:
    with app.app_context():
        ids = list(db.session.scalars(sa.select(PiiReveal.id).order_by(PiiReveal.id)))
        db.session.remove()
    return ids


def _as_a_dba(app, statement: str, **params) -> None:
    """Run SQL with the triggers lifted, as someone with the database's owner rights could, then put them back."""
    with app.app_context(), db.engine.begin() as conn:
        reveal_triggers.drop_triggers(conn)
        conn.execute(sa.text(statement), params)
        reveal_triggers.create_triggers(conn)


@pytest.fixture()
def three_reveals(app, demo, make_web) -> list[int]:
    """mediator1 reveals the demo applicant's phone three times, through the reveal page."""
    web = make_web()
    web.login("mediator1")
    _reveal(web, demo_case(app), 3)
    return _ids(app)


def test_a_chain_of_reveals_verifies(app, three_reveals):
    with app.app_context():
        rows = db.session.scalars(sa.select(PiiReveal).order_by(PiiReveal.id)).all()
        assert rows[0].prev_hash == "0" * 64
        assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
        assert len({r.hash for r in rows}) == 3 and all(len(r.hash) == 64 for r in rows)
        assert reveal_chain.verify() == (3, None)
        db.session.remove()
    code, out = _verify(app)
    assert code == 0 and "OK: 3 PII reveals verified" in out


def test_a_reason_altered_in_sql_is_named(app, three_reveals, make_web):
    victim = three_reveals[1]
    _as_a_dba(app, "UPDATE pii_reveals SET reason_text = '例行检查' WHERE id = :id", id=victim)
    code, out = _verify(app)
    assert code == 1
    assert f"PII reveal log BROKEN after 1 good reveals: PII reveal id {victim}: content does not match its hash " \
           "(altered)" in out
    # The admin's verification job says the same in the admin's notifications.
    admin = make_web()
    admin.login("admin")
    admin.post("/admin/overview/verify-chain", {}, page="/admin/overview")
    notices = admin.get("/notifications").get_data(as_text=True)
    assert "办理记录哈希链完整" in notices  # the case events are untouched
    assert "号码查看记录哈希链发现断裂" in notices and f"PII reveal id {victim}: content does not match" in notices


def test_a_recomputed_hash_still_breaks_the_next_link(app, three_reveals):
    first, victim, after = three_reveals
    with app.app_context():
        row = db.session.get(PiiReveal, victim)
        row.reason_text = "例行检查"
        forged = chain_hash(row.prev_hash, row.payload())
        db.session.rollback()
        db.session.remove()
    _as_a_dba(app, "UPDATE pii_reveals SET reason_text = '例行检查', hash = :h WHERE id = :id", h=forged, id=victim)
    code, out = _verify(app)
    assert code == 1 and f"PII reveal id {after}: prev_hash does not match the hash of reveal id {victim}" in out


def test_a_deleted_reveal_is_detected(app, three_reveals):
    first, victim, after = three_reveals
    _as_a_dba(app, "DELETE FROM pii_reveals WHERE id = :id", id=victim)
    code, out = _verify(app)
    assert code == 1
    assert f"PII reveal id {after}: prev_hash does not match the hash of reveal id {first} " \
           "(a reveal between them was deleted, or that one was altered)" in out
    _as_a_dba(app, "DELETE FROM pii_reveals WHERE id = :id", id=first)  # the first one: nothing before it
    assert f"PII reveal id {after}: prev_hash does not match the hash of the start of the log" in _verify(app)[1]


def test_update_and_delete_are_refused_by_the_database(app, three_reveals):
    victim = three_reveals[0]
    for statement in ("UPDATE pii_reveals SET reason_text = '例行检查' WHERE id = :id",
                      "UPDATE pii_reveals SET case_id = NULL WHERE id = :id",
                      "DELETE FROM pii_reveals WHERE id = :id"):
        with app.app_context():
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                with db.engine.begin() as conn:
                    conn.execute(sa.text(statement), {"id": victim})
            db.session.remove()
    with app.app_context():  # the ORM goes through the same triggers
        row = db.session.get(PiiReveal, victim)
        row.ip = "10.0.0.1"
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.get(PiiReveal, victim))
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.commit()
        db.session.rollback()
        db.session.remove()
    assert _ids(app) == three_reveals and _verify(app)[0] == 0


def test_truncate_is_refused_on_postgresql(app, three_reveals):
    """SQLite has no TRUNCATE (its DELETE is refused above); PostgreSQL refuses it, also when a cascade reaches it."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            assert db.engine.dialect.name == "sqlite"
            return
        for statement in ("TRUNCATE pii_reveals", "TRUNCATE users CASCADE"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                with db.engine.begin() as conn:
                    conn.execute(sa.text(statement))
        db.session.remove()
    assert _ids(app) == three_reveals and _verify(app)[0] == 0


def test_a_fork_cannot_be_stored(app, three_reveals):
    """Two rows chained to the same predecessor (what two unserialised writers would make) are refused."""
    with app.app_context():
        last = db.session.get(PiiReveal, three_reveals[-1])
        twin = {c: getattr(last, c) for c in ("user_id", "role", "case_id", "party_id", "organisation_id", "field",
                                              "reason_code", "ip")}
        db.session.add(PiiReveal(**twin, reason_text="分叉", prev_hash=last.prev_hash, hash="f" * 64))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.remove()


def test_concurrent_reveals_keep_one_chain(app, demo):
    """Eight staff sessions reveal at the same moment, three times each: one unbroken chain of 24 rows."""
    from app.accounts.models import User
    from app.cases.models import Case
    from app.privacy.reveal import reveal

    case = demo_case(app)
    threads, rounds = 8, 3
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def staff(n: int) -> None:
        try:
            with app.app_context():
                user = db.session.scalar(sa.select(User).where(User.username == "mediator1"))
                target = db.session.get(Case, case["id"])
                start.wait(timeout=30)
                for i in range(rounds):
                    reveal(target, f"{case['party_id']}:phone", user, "contact", f"并发 {n}-{i}", "127.0.0.1")
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001  reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=staff, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert errors == []
    with app.app_context():
        rows = db.session.execute(sa.select(PiiReveal.prev_hash, PiiReveal.hash).order_by(PiiReveal.id)).all()
        assert len(rows) == threads * rounds
        assert len({r.prev_hash for r in rows}) == len(rows)  # no two rows share a predecessor
        assert reveal_chain.verify() == (threads * rounds, None)
        db.session.remove()


def test_restore_checks_the_reveal_chain_and_its_head(app, three_reveals, tmp_path):
    from app.core.backup import create_backup, verify_restored

    with app.app_context():
        manifest = create_backup(tmp_path / "jiefen.tar.gz")
        last = db.session.get(PiiReveal, three_reveals[-1]).hash
        db.session.remove()
    assert manifest["reveals"] == {"reveals": 3, "head": last}
    with scratch_app(tmp_path, "revealrestore") as target:
        restored = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "jiefen.tar.gz")])
        assert restored.exit_code == 0 and "3 PII reveals (chain intact)" in restored.output, restored.output
        _as_a_dba(target, "UPDATE pii_reveals SET reason_text = '例行检查' WHERE id = :id", id=three_reveals[0])
        with target.app_context():
            problems = verify_restored(manifest).problems
        assert problems == [f"PII reveal log chain broken: PII reveal id {three_reveals[0]}: content does not "
                            "match its hash (altered)"]
        _as_a_dba(target, "DELETE FROM pii_reveals WHERE id = :id", id=three_reveals[-1])  # the newest one
        with target.app_context():
            problems = verify_restored(manifest).problems
        assert any(p.startswith("PII reveal log head {'reveals': 2") for p in problems), problems


def test_the_migration_chains_existing_reveals_and_its_downgrade_removes_the_chain(app, tmp_path):
    from flask_migrate import downgrade, upgrade

    from app.demo import seed_demo

    with scratch_app(tmp_path, "revealmigration") as other, other.app_context():
        # The demo is seeded by today's models, so at the head; then the schema goes back to before the chain.
        upgrade()
        seed_demo("jiefen-demo")
        db.session.commit()
        db.session.remove()
        downgrade(revision=BEFORE)
        user_id = db.session.scalar(sa.text("SELECT id FROM users WHERE username = 'mediator1'"))
        case_id, party_id, org_id = db.session.execute(sa.text(
            "SELECT c.id, p.id, c.organisation_id FROM cases c JOIN case_parties p ON p.case_id = c.id "
            "ORDER BY c.id, p.id LIMIT 1")).one()
        for i in range(3):
            db.session.execute(sa.text(
                "INSERT INTO pii_reveals (user_id, role, case_id, party_id, organisation_id, field, reason_code, "
                "reason_text, ip, created_at) VALUES (:u, 'mediator', :c, :p, :o, 'phone', 'contact', :t, NULL, "
                ":at)"), {"u": user_id, "c": case_id, "p": party_id, "o": org_id, "t": f"迁移前 {i}",
                          "at": f"2026-11-30 08:00:0{i}.123456"})
        db.session.commit()
        db.session.remove()

        upgrade()
        assert reveal_chain.verify() == (3, None)
        db.session.remove()
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM pii_reveals"))
        code, out = _verify(other)
        assert code == 0 and "OK: 3 PII reveals verified" in out
        db.session.remove()  # the command ran in this app context: its read transaction would block the downgrade

        downgrade(revision=BEFORE)
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("pii_reveals")}
        assert "hash" not in columns and "prev_hash" not in columns
        with db.engine.begin() as conn:  # no triggers any more
            conn.execute(sa.text("UPDATE pii_reveals SET ip = '10.0.0.1'"))
        db.session.remove()
        upgrade()
        assert reveal_chain.verify() == (3, None)
        db.session.remove()
