"""app/wsgi.py, the entry point gunicorn.conf.py preloads: the app in the production configuration, warmed before
the fork (templates compiled, jieba and the routing engine loaded), and no database connection left open."""
from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.conftest import PG_URL
from tests.services import TEST_REDIS

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json
from app.wsgi import application
from app.extensions import db
from app.routing import engine
templates = [t for t in application.jinja_env.list_templates() if t.endswith(".html")]
with application.app_context():
    open_connections = db.engine.pool.checkedout()
print(json.dumps({"env": application.config["ENV_NAME"], "templates": len(templates),
                  "compiled": len(application.jinja_env.cache), "engines": len(engine._engines),
                  "open_connections": open_connections, "reload": application.jinja_env.auto_reload}))
"""


def test_wsgi_entry_point_is_production_and_warm(app, tmp_path):
    """`app` only places the test on the PostgreSQL leg, next to the load smoke test that serves this module."""
    env = dict(os.environ, JIEFEN_CONFIG="development", DATABASE_URL=PG_URL, REDIS_URL=TEST_REDIS,
               SECRET_KEY=secrets.token_hex(32), JIEFEN_INSTANCE_DIR=str(tmp_path),
               JIEFEN_DATA_KEYS="k1:" + base64.b64encode(secrets.token_bytes(32)).decode(), PYTHONPATH=str(ROOT))
    env.pop("FLASK_DEBUG", None)
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["env"] == "production"  # whatever JIEFEN_CONFIG says
    assert report["compiled"] >= report["templates"] > 50
    assert report["engines"] == 1 and report["open_connections"] == 0 and report["reload"] is False


def test_production_refuses_to_start_without_a_secret_key(app, tmp_path):
    env = dict(os.environ, DATABASE_URL=PG_URL, JIEFEN_INSTANCE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    env.pop("SECRET_KEY", None)
    done = subprocess.run([sys.executable, "-c", "import app.wsgi"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode != 0 and "SECRET_KEY" in done.stderr
