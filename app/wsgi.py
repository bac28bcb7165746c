"""The production entry point: `gunicorn -c gunicorn.conf.py` (sync workers, --preload) serves `application`.

The app is created here in the production configuration and warmed up before gunicorn forks its workers, so every
worker shares, copy-on-write, what would otherwise be built in each worker's first requests: jieba's dictionary and
the routing engine (~0.6 s, ~90 MB), the consult retriever, and every template compiled (a case page with its panels
took ~1 s to compile, paid again by each worker gunicorn restarts)."""
from __future__ import annotations

import gc

from flask import Flask

from app import create_app


def warm_up(application: Flask) -> Flask:
    """Load what every worker needs before the fork; close the database connections it opened."""
    from app.consult.operations import retriever
    from app.extensions import db
    from app.routing import load_engine

    with application.app_context():
        load_engine(application.config["RULES_DIR"]).classify("邻居装修漏水，楼上拖欠工资")
        retriever()
        env = application.jinja_env
        for name in env.list_templates(filter_func=lambda n: n.endswith((".html", ".txt", ".xml"))):
            env.get_template(name)
        db.engine.dispose()  # no connection may cross the fork: each worker opens its own
    # The ~230k objects built so far live as long as the process: move them out of the collector's generations, so
    # a full collection no longer walks them (one took 0.4-0.9 s under load: a p99 spike on whatever page it hit),
    # and so the workers' pages of them stay shared after the fork (Python's gc docs recommend this before fork).
    gc.collect()
    gc.freeze()
    return application


application = warm_up(create_app("production"))
