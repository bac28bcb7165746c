"""`flask seed-demo`: idempotent, a whole county, every role, cases at every stage."""
from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import Organisation, OrgType, Role, Tier, User
from app.cases.models import Case, Stage


def test_seed_demo_is_idempotent_and_complete(app):
    from app.extensions import db

    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    for login in ("resident1", "resident2", "grid1", "mediator1", "orgadmin1", "arbitrator1", "court1", "admin"):
        assert login in first.output
    assert "jiefen-demo" in first.output
    with app.app_context():
        counts = (db.session.scalar(sa.select(sa.func.count()).select_from(Case)),
                  db.session.scalar(sa.select(sa.func.count()).select_from(User)))
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and "already present" in second.output
    with app.app_context():
        assert (db.session.scalar(sa.select(sa.func.count()).select_from(Case)),
                db.session.scalar(sa.select(sa.func.count()).select_from(User))) == counts
        orgs = db.session.scalars(sa.select(Organisation)).all()
        assert {o.tier for o in orgs if o.type == OrgType.people_mediation} == set(Tier)
        assert {OrgType.court, OrgType.arbitration_commission, OrgType.labour_arbitration} <= {o.type for o in orgs}
        mediators = db.session.scalars(sa.select(User).where(User.role == Role.mediator)).all()
        assert len(mediators) >= 12
        assert len({tuple(sorted(m.mediator_profile.specialties)) for m in mediators}) >= 10
        assert {s for (s,) in db.session.execute(sa.select(Case.stage).distinct())} == set(Stage)


def test_demo_password_comes_from_the_environment(app, monkeypatch):
    app.config["DEMO_PASSWORD"] = "another-demo-pw"
    try:
        result = app.test_cli_runner().invoke(args=["seed-demo"])
    finally:
        app.config["DEMO_PASSWORD"] = "jiefen-demo"
    assert "another-demo-pw" in result.output
    from tests.conftest import Web

    web = Web(app)
    assert web.post("/login", {"username": "court1", "password": "another-demo-pw"}, page="/login").status_code == 302
