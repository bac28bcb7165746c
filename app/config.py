"""Configuration from environment variables: Config (development), TestConfig, ProdConfig."""
from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("JIEFEN_INSTANCE_DIR", PROJECT_ROOT / "instance"))


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for every PostgreSQL URL form."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_or_create_secret_key(instance_dir: Path) -> str:
    """Read instance/secret_key, creating it once (mode 0600) when it does not exist."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        key = path.read_text().strip()
        if len(key) < 32:
            raise RuntimeError(f"{path} is empty or too short: delete it to have a new key generated.") from None
        return key
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def env_int(name: str, default: int) -> int:
    """A non-negative integer from the environment (default when unset or empty)."""
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RuntimeError(f"{name} must be a whole number, not {raw!r}.") from None
    if value < 0:
        raise RuntimeError(f"{name} must not be negative, not {raw!r}.")
    return value


# The staff roles (app/accounts/models.py Role): they see other people's disputes and personal data, so production
# makes them use a second factor unless MFA_REQUIRED_ROLES says otherwise. Residents and grid workers (who see only
# the disputes they filed or are party to) are not listed.
STAFF_MFA_ROLES = "mediator,org_admin,admin,court_clerk,arbitrator"


class Config:
    """Development defaults: embedded SQLite under instance/, everything in-process."""

    ENV_NAME = "development"
    DEBUG = False
    TESTING = False
    INSTANCE_DIR = INSTANCE_DIR
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'jiefen.db'}")
    )
    # Connections kept per worker process. A gthread worker runs many threads (each open mediation room holds one):
    # too small a pool makes them queue, and overflow connections are closed and reopened under load. No
    # pool_pre_ping: app/core/db_pool.py pings only connections that sat idle, not one per request.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": int(os.environ.get("DB_POOL_SIZE", "10")),
                                 "max_overflow": int(os.environ.get("DB_MAX_OVERFLOW", "20"))}
    SECRET_KEY = os.environ.get("SECRET_KEY")
    REDIS_URL = os.environ.get("REDIS_URL") or None
    # Links in SMS and e-mail must be absolute: the address residents reach the platform at.
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    # How many reverse proxies stand in front of the app, each setting X-Forwarded-For and X-Forwarded-Proto
    # (create_app wraps the app in werkzeug's ProxyFix with it). 0: the headers are ignored and request.remote_addr
    # is the peer's address, which is right when nothing proxies (development, tests) and can never be spoofed.
    TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
    # WebRTC: STUN/TURN servers for the room's audio and video, as JSON, e.g.
    # [{"urls": "turn:turn.example.org:3478", "username": "u", "credential": "p"}]. Empty: host candidates only (LAN).
    # The Redis pub/sub channel through which the gunicorn workers share the room's broadcasts.
    SOCKETIO_CHANNEL = os.environ.get("SOCKETIO_CHANNEL", "jiefen-socketio")
    ICE_SERVERS = json.loads(os.environ.get("ICE_SERVERS") or "[]")
    FILES_DIR = Path(os.environ.get("JIEFEN_FILES_DIR", INSTANCE_DIR / "files"))
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024
    MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
    # Login sessions live on the server (accounts.UserSession); the cookie carries only a random token. Idle and
    # absolute limits are checked there on every request; the cookie itself expires with the absolute limit.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "jiefen_session"
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
    SESSION_ABSOLUTE_HOURS = int(os.environ.get("SESSION_ABSOLUTE_HOURS", "12"))
    PERMANENT_SESSION_LIFETIME = timedelta(hours=SESSION_ABSOLUTE_HOURS)
    # The cookie is set when the session changes (login, a flash message, a new CSRF token), not re-signed and re-sent
    # on every response: its expiry stays at login + the absolute limit, and the idle limit is the server's job.
    SESSION_REFRESH_EACH_REQUEST = False
    HSTS = None  # Strict-Transport-Security: production only (ProdConfig), where every request comes over HTTPS
    # No "remember me": login_user() is never asked to remember. Should it ever be, Flask-Login's cookie would hold
    # the same server-side session token and die with the session; these keep it as strict as the session cookie.
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(hours=SESSION_ABSOLUTE_HOURS)
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_TRANSLATION_DIRECTORIES = str(PROJECT_ROOT / "app" / "translations")
    LANGUAGES = ("zh", "en")
    RULES_DIR = PROJECT_ROOT / "mediation_rules"
    DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "jiefen-demo")
    # Rate limits (Flask-Limiter). Storage: RATELIMIT_STORAGE_URI, else REDIS_URL, else memory (create_app).
    CONSULT_RATE_LIMIT = os.environ.get("CONSULT_RATE_LIMIT", "30/minute")   # questions per IP on /consult
    # Days a question asked at /consult keeps its text (the consult page says so); `flask privacy purge` then clears
    # it and keeps what the statistics need (category, answers shown, resolved or not).
    CONSULT_RETENTION_DAYS = int(os.environ.get("CONSULT_RETENTION_DAYS", "180"))
    # Failed password checks per account (login and password change), whatever the IP: the next is refused (429).
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "5/minute")
    # Roles that must use a second factor (app/accounts/mfa.py), comma-separated: empty here (the demo logs in with
    # a password alone); ProdConfig defaults to the staff roles (STAFF_MFA_ROLES).
    MFA_REQUIRED_ROLES = os.environ.get("MFA_REQUIRED_ROLES", "")
    # Password reset codes by SMS (app/accounts/recovery.py): per account asked for, and per IP, whatever the answer.
    RESET_ACCOUNT_RATE_LIMIT = os.environ.get("RESET_ACCOUNT_RATE_LIMIT", "3/hour")
    RESET_IP_RATE_LIMIT = os.environ.get("RESET_IP_RATE_LIMIT", "10/hour")
    # Hours a temporary password given at the counter (/org/assisted-reset) works; after that, a login with it is
    # refused and the resident must come back.
    TEMP_PASSWORD_HOURS = int(os.environ.get("TEMP_PASSWORD_HOURS", "24"))
    # New accounts per IP (each costs a password hash and zxcvbn, and an SMS code to the phone typed).
    REGISTER_RATE_LIMIT = os.environ.get("REGISTER_RATE_LIMIT", "20/hour")
    # Codes that verify an account's phone or a new number (app/accounts/phone.py): per account, per number sent to
    # (whichever accounts ask: nobody's phone is an SMS pump) and per IP; the registration's first code counts too.
    PHONE_CODE_ACCOUNT_RATE_LIMIT = os.environ.get("PHONE_CODE_ACCOUNT_RATE_LIMIT", "5/hour")
    PHONE_CODE_NUMBER_RATE_LIMIT = os.environ.get("PHONE_CODE_NUMBER_RATE_LIMIT", "5/hour")
    PHONE_CODE_IP_RATE_LIMIT = os.environ.get("PHONE_CODE_IP_RATE_LIMIT", "20/hour")
    # The court API (app/api/), per bearer token: generous for a filing system's batch, a stop for a runaway loop
    # or a leaked token.
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600/minute")
    # Days a court API token works after `flask api-tokens issue` or `rotate` (each takes --days for another span).
    API_TOKEN_DAYS = int(os.environ.get("API_TOKEN_DAYS", "90"))
    RATELIMIT_HEADERS_ENABLED = True
    # A moving window: "5 in any 60 seconds", not "5 per clock minute" (which lets 10 through across a boundary).
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_KEY_PREFIX = "jiefen"
    RATELIMIT_SWALLOW_ERRORS = True          # Redis down: answer the question rather than fail the page
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # Signed agreements (PAdES). Development: `flask pki init` makes a CA and one PKCS#12 per organisation under
    # instance/pki/ (AGREEMENT_PKI_DIR). Production: AGREEMENT_SIGNING_P12 (one PKCS#12 for every organisation) and
    # AGREEMENT_TRUST_ROOTS (PEM file of the CA certificates /verify trusts) replace them.
    AGREEMENT_PKI_DIR = os.environ.get("AGREEMENT_PKI_DIR") or None          # None: <instance>/pki
    AGREEMENT_SIGNING_P12 = os.environ.get("AGREEMENT_SIGNING_P12") or None
    AGREEMENT_P12_PASSWORD = os.environ.get("AGREEMENT_P12_PASSWORD", "jiefen-dev-p12")  # development default
    AGREEMENT_TRUST_ROOTS = os.environ.get("AGREEMENT_TRUST_ROOTS") or None
    AGREEMENT_TSA_URL = os.environ.get("AGREEMENT_TSA_URL") or None           # RFC 3161 server: PAdES B-T
    AGREEMENT_PDF_TIMEOUT = float(os.environ.get("AGREEMENT_PDF_TIMEOUT", "60"))  # seconds per render+sign attempt
    AGREEMENT_PDF_ATTEMPTS = 3
    VERIFY_RATE_LIMIT = os.environ.get("VERIFY_RATE_LIMIT", "20/minute")       # /verify uploads per IP
    VERIFY_MAX_BYTES = 10 * 1024 * 1024
    # Personal data of a case is purged this many days after the dispute ended (`flask privacy purge`, daily). Three
    # years: the general limitation period for civil claims (Civil Code art. 188), which also covers judicial
    # confirmation (30 days) and applying for enforcement of an agreement or award (2 years, Civil Procedure Law).
    PERSONAL_DATA_RETENTION_DAYS = int(os.environ.get("PERSONAL_DATA_RETENTION_DAYS", "1095"))
    # The personal-information rules residents agree to before filing (registry.yaml + texts); None: app/privacy/texts.
    CONSENT_TEXTS_DIR = os.environ.get("CONSENT_TEXTS_DIR") or None
    # Personal data at rest (app/core/crypto.py): AES-256-GCM data keys, `kid:base64-32-bytes[,kid:...]`, the first
    # encrypts and all decrypt (rotation); else the key file (default <instance>/data.key, created in development).
    # The blind-index key is separate so that rotating data keys never changes a look-up value. Never in the database.
    DATA_KEYS = os.environ.get("JIEFEN_DATA_KEYS") or None
    DATA_KEY_FILE = os.environ.get("JIEFEN_DATA_KEY_FILE") or None            # None: <instance>/data.key
    BLIND_INDEX_KEY = os.environ.get("JIEFEN_BLIND_INDEX_KEY") or None        # `kid:base64-32-bytes`
    BLIND_INDEX_KEY_ID = os.environ.get("JIEFEN_BLIND_INDEX_KEY_ID") or None  # None: derived from the oldest data key


class TestConfig(Config):
    """Tests: CSRF stays on (tests fetch the token like a browser does)."""

    ENV_NAME = "testing"
    TESTING = True
    # In memory and out of reach: only tests/consult/test_rate_limit.py lowers the limit (for its own IP).
    RATELIMIT_STORAGE_URI = "memory://"
    CONSULT_RATE_LIMIT = "100000/minute"
    RESET_IP_RATE_LIMIT = "100000/hour"  # every test comes from 127.0.0.1; the per-account limit stays
    REGISTER_RATE_LIMIT = "100000/hour"  # tests/accounts/test_register_limit.py lowers it for its own address
    PHONE_CODE_IP_RATE_LIMIT = "100000/hour"  # the per-account and per-number limits stay
    API_RATE_LIMIT = "100000/minute"     # tests/api/test_api_rate_limit.py lowers it for its own tokens
    TRUSTED_PROXIES = 0                  # whatever the environment says: tests that need a proxy make their own app


class ProdConfig(Config):
    """Production: refuses to start with DEBUG on or without a real SECRET_KEY."""

    ENV_NAME = "production"
    # gunicorn binds 127.0.0.1 by default (gunicorn.conf.py): whatever reaches it came through the one reverse proxy
    # on the same machine (nginx, README), so its X-Forwarded-For and X-Forwarded-Proto are trusted by default.
    TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 1)
    # Staff use a second factor unless the environment lists the roles itself ("" is a deliberate opt-out: check()
    # logs a warning about it).
    MFA_REQUIRED_ROLES = os.environ.get("MFA_REQUIRED_ROLES", STAFF_MFA_ROLES)
    # The __Host- prefix: browsers accept the cookie only if Secure, with Path=/ and no Domain, so neither a sibling
    # subdomain nor a plain-HTTP page can plant or overwrite it (session fixation).
    SESSION_COOKIE_NAME = "__Host-jiefen_session"
    SESSION_COOKIE_PATH = "/"
    SESSION_COOKIE_DOMAIN = None
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    # Production is served over HTTPS only (behind a TLS proxy): browsers must never try plain HTTP again.
    HSTS = "max-age=31536000; includeSubDomains"
    PREFERRED_URL_SCHEME = "https"

    @staticmethod
    def check(app_config: dict) -> None:
        """Raise RuntimeError when the production configuration is unsafe."""
        if app_config.get("DEBUG") or os.environ.get("FLASK_DEBUG") in ("1", "true", "True"):
            raise RuntimeError("Refusing to start: DEBUG is on in the production configuration.")
        key = app_config.get("SECRET_KEY") or ""
        if len(key) < 32 or key in {"dev", "change-me", "secret"}:
            raise RuntimeError(
                "Refusing to start: set SECRET_KEY to a random value of at least 32 characters "
                "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')."
            )
        check_data_keys(app_config)
        check_host_cookie(app_config)
        warn_about_weak_choices(app_config)


def check_host_cookie(app_config: dict) -> None:
    """A __Host- cookie that breaks its prefix's rules is silently dropped by browsers: nobody could log in."""
    name = app_config.get("SESSION_COOKIE_NAME") or ""
    if name.startswith("__Host-") and not (app_config.get("SESSION_COOKIE_SECURE")
                                           and (app_config.get("SESSION_COOKIE_PATH")
                                                or app_config.get("APPLICATION_ROOT") or "/") == "/"
                                           and not app_config.get("SESSION_COOKIE_DOMAIN")):
        raise RuntimeError(f"Refusing to start: the session cookie {name} needs SESSION_COOKIE_SECURE, "
                           "SESSION_COOKIE_PATH '/' and no SESSION_COOKIE_DOMAIN (the __Host- prefix).")


def warn_about_weak_choices(app_config: dict) -> None:
    """Log what production allows but a reviewer should know about: no second factor for staff."""
    import logging

    roles = app_config.get("MFA_REQUIRED_ROLES")
    if isinstance(roles, str):
        roles = [r.strip() for r in roles.split(",") if r.strip()]
    missing = [r for r in STAFF_MFA_ROLES.split(",") if r not in (roles or ())]
    if missing:
        logging.getLogger("app.config").warning(
            "MFA_REQUIRED_ROLES leaves out staff roles %s: they can log in with a password alone. "
            "Unset MFA_REQUIRED_ROLES to require a second factor for every staff role (%s).",
            ",".join(missing), STAFF_MFA_ROLES)


def check_data_keys(app_config: dict) -> None:
    """Production: the personal-data key must be given explicitly (env or an existing key file), never made up."""
    from app.core.crypto import KeyConfigError, build_keyring

    key_file = app_config.get("DATA_KEY_FILE")
    if not (app_config.get("DATA_KEYS") or (key_file and Path(key_file).is_file())):
        raise RuntimeError(
            "Refusing to start: no personal-data key. Set JIEFEN_DATA_KEYS=k1:<base64 of 32 random bytes> or "
            "JIEFEN_DATA_KEY_FILE to a file holding such a line (e.g. python -c \"import base64, secrets; "
            "print('k1:' + base64.b64encode(secrets.token_bytes(32)).decode())\"). Keep it outside the database "
            "and its backups."
        )
    try:
        build_keyring(app_config)
    except KeyConfigError as exc:
        raise RuntimeError(f"Refusing to start: {exc}") from None


CONFIGS = {"development": Config, "testing": TestConfig, "production": ProdConfig}
