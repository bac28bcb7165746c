"""Configuration: the generated SECRET_KEY, production's refusals, database URL forms, .gitignore."""
from __future__ import annotations

import base64
import os
import secrets
import stat
import subprocess
import sys

import pytest

from app import create_app
from app.config import PROJECT_ROOT, load_or_create_secret_key, normalise_database_url

GOOD_KEY = secrets.token_hex(32)


@pytest.fixture()
def instance(tmp_path, monkeypatch):
    """An empty instance dir and a throwaway SQLite database for create_app."""
    path = tmp_path / "instance"
    monkeypatch.setenv("JIEFEN_INSTANCE_DIR", str(path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'config.db'}")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    return path


def config(instance, env_name, **extra):
    """create_app overrides: the tmp database always, SECRET_KEY unset unless given."""
    return {"ENV_NAME": env_name, "SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"],
            "FILES_DIR": instance / "files", "SECRET_KEY": None, **extra}


# --- the generated secret key --------------------------------------------------------------
def test_secret_key_is_generated_once_with_mode_0600(tmp_path):
    instance = tmp_path / "instance"
    key = load_or_create_secret_key(instance)
    path = instance / "secret_key"
    assert len(key) >= 64 and path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret_key(instance) == key  # reused, not replaced
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret_key(tmp_path / "elsewhere") != key  # random per installation


def test_create_app_without_secret_key_uses_the_instance_file(instance):
    first = create_app(config(instance, "development"))
    key = (instance / "secret_key").read_text().strip()
    assert first.config["SECRET_KEY"] == key and len(key) >= 64
    assert stat.S_IMODE((instance / "secret_key").stat().st_mode) == 0o600
    second = create_app(config(instance, "development"))
    assert second.config["SECRET_KEY"] == key  # sessions survive a restart


def test_a_given_secret_key_wins_and_no_file_is_written(instance):
    application = create_app(config(instance, "development", SECRET_KEY=GOOD_KEY))
    assert application.config["SECRET_KEY"] == GOOD_KEY
    assert not (instance / "secret_key").exists()


# --- production refuses unsafe settings ----------------------------------------------------
@pytest.mark.parametrize("key", [None, "", "short", "dev", "change-me", "x" * 31])
def test_production_refuses_a_missing_or_short_secret_key(instance, key):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config(instance, "production", SECRET_KEY=key))
    assert not (instance / "secret_key").exists()  # production never invents its own key


def test_production_refuses_debug(instance):
    with pytest.raises(RuntimeError, match="DEBUG"):
        create_app(config(instance, "production", SECRET_KEY=GOOD_KEY, DEBUG=True))


def test_production_refuses_flask_debug_from_the_environment(instance, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(RuntimeError, match="DEBUG"):
        create_app(config(instance, "production", SECRET_KEY=GOOD_KEY))


def test_production_starts_with_a_good_secret_key(instance):
    application = create_app(config(instance, "production", SECRET_KEY=GOOD_KEY,
                                    DATA_KEYS="k1:" + base64.b64encode(secrets.token_bytes(32)).decode()))
    assert application.config["SECRET_KEY"] == GOOD_KEY and not application.debug
    assert application.config["SESSION_COOKIE_SECURE"] is True
    assert application.config["SESSION_COOKIE_HTTPONLY"] is True
    resp = application.test_client().get("/healthz")
    assert resp.status_code == 200 and "Strict-Transport-Security" in resp.headers


# --- database URLs -------------------------------------------------------------------------
@pytest.mark.parametrize("url, expected", [
    ("postgres://u:p@db:5432/jiefen", "postgresql+psycopg://u:p@db:5432/jiefen"),
    ("postgresql://u:p@db:5432/jiefen", "postgresql+psycopg://u:p@db:5432/jiefen"),
    ("postgresql+psycopg://u@db/jiefen", "postgresql+psycopg://u@db/jiefen"),
    ("sqlite:////var/lib/jiefen/jiefen.db", "sqlite:////var/lib/jiefen/jiefen.db"),
])
def test_database_url_is_normalised_to_psycopg3(url, expected):
    assert normalise_database_url(url) == expected


def test_config_reads_database_url_and_instance_dir_from_the_environment(tmp_path):
    """Config reads the environment at import time, so look at it from a fresh interpreter."""
    env = {**os.environ, "DATABASE_URL": "postgres://jiefen@db.internal/jiefen",
           "JIEFEN_INSTANCE_DIR": str(tmp_path)}
    code = "from app.config import Config; print(Config.SQLALCHEMY_DATABASE_URI); print(Config.INSTANCE_DIR)"
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[0] == "postgresql+psycopg://jiefen@db.internal/jiefen"
    assert out[1] == str(tmp_path)


def test_gitignore_keeps_the_instance_dir_out_of_git():
    lines = {line.strip() for line in (PROJECT_ROOT / ".gitignore").read_text().splitlines()}
    assert lines & {"instance/", "/instance/", "instance"}


# --- production defaults: proxies, second factor, the session cookie ---------------------------------------
def _config_class_attrs(env: dict, names: str) -> dict:
    """ProdConfig and Config attributes as a fresh interpreter reads them from this environment (they are class
    attributes, read from the environment once, at import)."""
    probe = ("import json; from app.config import Config, ProdConfig; print(json.dumps({n: [getattr(Config, n), "
             f"getattr(ProdConfig, n)] for n in {names.split()!r}}}))")
    base = {k: v for k, v in os.environ.items() if k not in ("MFA_REQUIRED_ROLES", "TRUSTED_PROXIES")}
    done = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, env={**base, **env}, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    return json.loads(done.stdout)


def test_production_trusts_one_proxy_and_requires_staff_second_factor_unless_told_otherwise():
    unset = _config_class_attrs({}, "TRUSTED_PROXIES MFA_REQUIRED_ROLES")
    assert unset["TRUSTED_PROXIES"] == [0, 1]  # development: none; production: the nginx in front of 127.0.0.1
    assert unset["MFA_REQUIRED_ROLES"] == ["", "mediator,org_admin,admin,court_clerk,arbitrator"]
    told = _config_class_attrs({"TRUSTED_PROXIES": "2", "MFA_REQUIRED_ROLES": ""}, "TRUSTED_PROXIES MFA_REQUIRED_ROLES")
    assert told["TRUSTED_PROXIES"] == [2, 2] and told["MFA_REQUIRED_ROLES"] == ["", ""]  # an explicit empty value wins


@pytest.mark.parametrize("value", ["-1", "one"])
def test_a_malformed_trusted_proxies_stops_the_import(value):
    done = subprocess.run([sys.executable, "-c", "import app.config"], cwd=PROJECT_ROOT,
                          env={**os.environ, "TRUSTED_PROXIES": value}, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode != 0 and "TRUSTED_PROXIES" in done.stderr


def _prod(instance, **extra):
    return config(instance, "production", SECRET_KEY=GOOD_KEY,
                  DATA_KEYS="k1:" + base64.b64encode(secrets.token_bytes(32)).decode(), **extra)


def test_production_warns_when_staff_may_log_in_without_a_second_factor(instance, caplog):
    from app.config import STAFF_MFA_ROLES

    create_app(_prod(instance, MFA_REQUIRED_ROLES=STAFF_MFA_ROLES))
    assert "MFA_REQUIRED_ROLES" not in caplog.text
    create_app(_prod(instance, MFA_REQUIRED_ROLES=""))
    assert "MFA_REQUIRED_ROLES leaves out staff roles mediator,org_admin,admin,court_clerk,arbitrator" in caplog.text
    caplog.clear()
    create_app(_prod(instance, MFA_REQUIRED_ROLES="admin,mediator"))
    assert "leaves out staff roles org_admin,court_clerk,arbitrator" in caplog.text


def test_production_session_cookie_keeps_the_host_prefix_rules(instance):
    application = create_app(_prod(instance))
    cfg = application.config
    assert cfg["SESSION_COOKIE_NAME"] == "__Host-jiefen_session" and cfg["SESSION_COOKIE_SECURE"] is True
    assert cfg["SESSION_COOKIE_PATH"] == "/" and not cfg["SESSION_COOKIE_DOMAIN"]
    from werkzeug.middleware.proxy_fix import ProxyFix

    assert isinstance(application.wsgi_app, ProxyFix) and application.wsgi_app.x_for == 1
    for broken in ({"SESSION_COOKIE_DOMAIN": "jiefen.example"}, {"SESSION_COOKIE_PATH": "/app"},
                   {"SESSION_COOKIE_SECURE": False}):
        with pytest.raises(RuntimeError, match="__Host-"):
            create_app(_prod(instance, **broken))
