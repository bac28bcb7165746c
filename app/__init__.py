"""Jiefen (解纷): online dispute resolution. create_app() wires config, extensions, blueprints and CLI."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from babel import Locale
from flask import Flask, has_request_context, request

from app.config import CONFIGS, PROJECT_ROOT, ProdConfig, load_or_create_secret_key
from app.extensions import babel, csrf, db, limiter, login_manager, migrate, socketio

_LOCALES = {code: Locale.parse(code) for code in ("zh", "en")}  # Flask-Babel parsed the code again on each request


def _select_locale() -> Locale:
    if not has_request_context():  # CLI, tests and jobs under an app context only: the default (zh)
        return _LOCALES["zh"]
    lang = request.args.get("lang") or request.cookies.get("lang")
    if lang in _LOCALES:
        return _LOCALES[lang]
    return _LOCALES[request.accept_languages.best_match(["zh", "en"], default="zh") or "zh"]


def create_app(config: Any = None) -> Flask:
    """Build the app. config: None (from JIEFEN_CONFIG), a name, a Config class, or a dict of overrides."""
    from app.privacy.logging_filter import install as redact_personal_data_in_logs

    redact_personal_data_in_logs()  # every log record of the process, werkzeug's and gunicorn's included
    from app.core.fields import install_fast_html_params

    install_fast_html_params()  # WTForms' attribute rendering, same markup, a fraction of the CPU
    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "templates"),
                instance_path=str(Path(os.environ.get("JIEFEN_INSTANCE_DIR", PROJECT_ROOT / "instance"))),
                instance_relative_config=False)
    overrides: dict = {}
    if config is None or isinstance(config, str):
        config_cls = CONFIGS[config or os.environ.get("JIEFEN_CONFIG", "development")]
    elif isinstance(config, dict):
        config_cls = CONFIGS[config.get("ENV_NAME", os.environ.get("JIEFEN_CONFIG", "development"))]
        overrides = config
    else:
        config_cls = config
    app.config.from_object(config_cls)
    app.config.update(overrides)
    if not app.config.get("SECRET_KEY"):
        if config_cls is ProdConfig or issubclass(config_cls, ProdConfig):
            ProdConfig.check(app.config)  # raises: production needs a real SECRET_KEY
        app.config["SECRET_KEY"] = load_or_create_secret_key(Path(app.instance_path))
    if issubclass(config_cls, ProdConfig):
        ProdConfig.check(app.config)

    _init_extensions(app)
    _trust_reverse_proxies(app)
    _register_blueprints(app)
    _register_cli(app)
    from app.core.errors import register_error_handlers
    from app.core.web import register_request_hooks

    register_error_handlers(app)
    register_request_hooks(app)
    from app.core.urls import install_url_memo

    install_url_memo(app)
    from app.cases.rules import current_rules
    from app.consult.operations import knowledge_base

    with app.app_context():
        current_rules()  # validate mediation_rules/ at start-up: a broken rule file stops the app here
        knowledge_base()  # likewise mediation_rules/knowledge/*.yaml (KnowledgeError lists every problem)
    return app


def _init_extensions(app: Flask) -> None:
    from app.core.i18n import N_, gettext

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # Server-side prepared statements for look-ups by key, other statements planned for their own values on
        # every run (app/core/db_plans.py): planning was most of PostgreSQL's CPU per request, and a generic plan made
        # a search for one word in one stage of one organisation 5x slower from its 6th run on (bdd7a25).
        options = app.config["SQLALCHEMY_ENGINE_OPTIONS"] = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        connect_args = dict(options.get("connect_args", {}))
        connect_args.setdefault("prepare_threshold", 1)
        # Column descriptions built only when read: SQLAlchemy mostly only checks there are some (app/core/pg_cursor.py)
        from app.core.pg_cursor import Cursor

        connect_args.setdefault("cursor_factory", Cursor)
        connect_args["options"] = " ".join(filter(None, [connect_args.get("options"), "-c plan_cache_mode=auto"]))
        options["connect_args"] = connect_args
        # Autocommit, with BEGIN sent before the first statement that needs a transaction (app/core/db_transactions.py):
        # a page that only reads saves psycopg's BEGIN and the pool's ROLLBACK, two round trips.
        options.setdefault("isolation_level", "AUTOCOMMIT")
    db.init_app(app)
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        from app.core.db_pool import ping_when_idle
        from app.core.db_transactions import begin_on_first_write

        with app.app_context():
            ping_when_idle(db.engine)
            begin_on_first_write(db.engine)
            if db.engine.dialect.name == "postgresql":
                from app.core.db_plans import plan_per_statement

                plan_per_statement(db.engine)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    from app.core.i18n import install_template_gettext

    install_template_gettext(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = N_("请先登录。")
    login_manager.localize_callback = gettext  # flashed in the visitor's language
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # sessions are checked on the server instead

    from app.accounts.operations import load_user_from_session_token
    from app.core import rules_store  # noqa: F401  (registers the RuleVersion model)

    login_manager.user_loader(load_user_from_session_token)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    limiter.init_app(app)
    # The Socket.IO handlers must be declared before the first init_app: Flask-SocketIO keeps a handler for later
    # apps only when no server exists yet when it is declared.
    from app.mediation import room_events  # noqa: F401

    socketio.init_app(app, async_mode="threading", message_queue=app.config.get("REDIS_URL") or None,
                      channel=app.config.get("SOCKETIO_CHANNEL", "jiefen-socketio"),
                      cors_allowed_origins=app.config.get("SOCKETIO_ORIGINS") or None,
                      ping_interval=app.config.get("SOCKETIO_PING_INTERVAL", 25),
                      logger=False, engineio_logger=False)
    app.extensions["socketio_server"] = socketio.server  # this app's own (the next create_app() replaces the global)
    if app.config.get("REDIS_URL"):
        _fresh_host_id_after_fork()


def _trust_reverse_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client's address and scheme from X-Forwarded-For and
    X-Forwarded-Proto (the last N entries only: what a client wrote before the first proxy is never believed).

    Wraps the outermost WSGI layer (after Flask-SocketIO's middleware), so every entry point built by create_app
    (app/wsgi.py under gunicorn, `flask run`, the tests) and every consumer of request.remote_addr (Flask-Limiter's
    per-IP keys, the IPs stored with sessions, consents, signatures and reveals) sees the real client."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies < 0:
        raise RuntimeError("TRUSTED_PROXIES must not be negative.")
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]


def _fresh_host_id_after_fork() -> None:
    """The Redis manager names its process with a host_id and ignores queue messages carrying its own. Under
    `gunicorn --preload` the manager is made before the fork, so every worker would share one id and drop each
    other's broadcasts: give each forked worker its own."""
    import uuid

    def renew() -> None:
        manager = getattr(socketio.server, "manager", None)
        if manager is not None and hasattr(manager, "host_id"):
            manager.host_id = uuid.uuid4().hex

    os.register_at_fork(after_in_child=renew)


def _register_blueprints(app: Flask) -> None:
    from app.accounts.admin_views import bp as org_staff_bp
    from app.accounts.mfa_views import bp as mfa_bp
    from app.accounts.phone_views import bp as phone_bp
    from app.accounts.recovery_views import bp as recovery_bp
    from app.accounts.views import bp as accounts_bp
    from app.agreements.confirmation_views import bp as confirmation_bp
    from app.agreements.pdf_views import bp as agreement_pdf_bp
    from app.agreements.views import bp as agreements_bp
    from app.analytics.dashboard_views import bp as dashboard_bp
    from app.analytics.views import bp as analytics_bp
    from app.api.views import bp as api_bp
    from app.cases.assessment_views import bp as assessment_bp
    from app.cases.search_views import bp as case_search_bp
    from app.cases.views import bp as cases_bp
    from app.consult.views import bp as consult_bp
    from app.core.views import bp as core_bp
    from app.escalation.arbitration_views import bp as arbitration_bp
    from app.escalation.award_views import bp as awards_bp
    from app.escalation.litigation_views import bp as litigation_bp
    from app.escalation.views import bp as escalation_bp
    from app.mediation.deadline_views import bp as deadlines_bp
    from app.mediation.record_views import bp as record_bp
    from app.mediation.room_views import bp as room_bp
    from app.mediation.schedule_views import bp as scheduling_bp
    from app.mediation.views import bp as mediation_bp
    from app.notifications.views import bp as notifications_bp
    from app.privacy.consent_views import bp as privacy_consent_bp
    from app.privacy.retention_views import bp as retention_bp
    from app.privacy.reveal_views import bp as privacy_reveal_bp
    from app.privacy.rights_views import bp as rights_bp
    from app.rules_admin.views import bp as rules_admin_bp

    for bp in (core_bp, accounts_bp, consult_bp, cases_bp, mediation_bp, escalation_bp, analytics_bp,
               rules_admin_bp, assessment_bp, room_bp, scheduling_bp, deadlines_bp, record_bp, notifications_bp,
               agreements_bp, agreement_pdf_bp, confirmation_bp, api_bp, arbitration_bp, awards_bp, litigation_bp,
               dashboard_bp, case_search_bp, privacy_consent_bp, privacy_reveal_bp, retention_bp, rights_bp, recovery_bp, mfa_bp,
               org_staff_bp, phone_bp):
        app.register_blueprint(bp)


def _register_cli(app: Flask) -> None:
    from app.accounts.cli import users_cli
    from app.agreements.cli import agreements_cli, pki_cli
    from app.analytics.cli import register as register_analytics_cli
    from app.api.cli import api_tokens_cli
    from app.cases.bundle_cli import cases_cli
    from app.cli import RELIABILITY_COMMANDS, audit_cli, seed_demo_command
    from app.consult.cli import consult_cli
    from app.core.jobs import jobs_cli
    from app.mediation.cli import invitations_cli, outbox_cli
    from app.privacy.retention_cli import privacy_cli
    from app.routing.cli import routing

    app.cli.add_command(audit_cli)
    app.cli.add_command(routing)
    app.cli.add_command(seed_demo_command)
    for command in RELIABILITY_COMMANDS:  # flask backup, flask restore, flask idempotency purge
        app.cli.add_command(command)
    app.cli.add_command(consult_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(invitations_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(agreements_cli)
    app.cli.add_command(pki_cli)
    app.cli.add_command(cases_cli)
    app.cli.add_command(api_tokens_cli)
    register_analytics_cli(app)  # flask dashboard refresh, flask seed-bulk
    app.cli.add_command(privacy_cli)  # flask privacy purge
    app.cli.add_command(users_cli)  # flask users end-sessions / deactivate / activate
