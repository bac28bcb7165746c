"""bench/page_cost.py's diagnostic modes (chosen by environment variables, see its docstring): what they print is
for finding where a page's CPU goes, not a figure to quote."""
from __future__ import annotations

import collections
import functools
import os
import random
import statistics
import time


def cache_stats(app, todo: dict, rounds: int) -> None:
    """CACHE_STATS=1: how often SQLAlchemy's compiled-statement cache answered over `rounds` of every page, and the
    statements it did not (a cache too small for the app would recompile on every request)."""
    import sqlalchemy as sa

    from app.extensions import db

    hits: collections.Counter = collections.Counter()
    misses: collections.Counter = collections.Counter()

    def count(conn, cursor, statement, parameters, context, executemany):
        kind = getattr(context.cache_hit, "name", str(context.cache_hit))
        (hits if kind == "CACHE_HIT" else misses)[(kind, " ".join(statement.split())[:90])] += 1
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
    # the requests outside any app context: an outer one would keep g (and its first user) for every request
    for setup, call in todo.values():
        for _ in range(rounds):
            call(*_args(setup()))
    with app.app_context():
        cache = db.engine._compiled_cache
        print(f"hits {sum(hits.values())}, not hits {sum(misses.values())}; cache size {len(cache)} of {cache.capacity}")
        for (kind, statement), n in misses.most_common(25):
            print(f"{n:6d} {kind:18s} {statement}")


def for_py_spy(todo: dict, times: dict[str, int]) -> None:
    """PYSPY=1: the pages run with no profiler in the process, interleaved so that any window an outside sampler
    (`py-spy record -p <pid>`) looks at has the journey's mix."""
    print(f"pid {os.getpid()}: running for py-spy", flush=True)
    order = [name for name, n in times.items() for _ in range(n)]
    random.Random(1).shuffle(order)
    for name in order:
        setup, call = todo[name]
        call(*_args(setup()))


def _args(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


class _Clock:
    """Exclusive CPU time per segment: time goes to the innermost wrapped call running."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self.stack = ["other"]
        self.mark = time.process_time()

    def _switch(self, to: str | None) -> None:
        now = time.process_time()
        self.spent[self.stack[-1]] = self.spent.get(self.stack[-1], 0.0) + now - self.mark
        self.mark = now
        if to is None:
            self.stack.pop()
        else:
            self.stack.append(to)

    def wrap(self, owner, attr: str, name: str) -> None:
        inner = getattr(owner, attr)

        @functools.wraps(inner)
        def timed(*args, **kwargs):
            self._switch(name)
            try:
                return inner(*args, **kwargs)
            finally:
                self._switch(None)
        setattr(owner, attr, timed)


def _wrap_segments(clock: _Clock, app, mode: str) -> list[str]:
    """Wrap what SEGMENTS=`mode` times separately; the segment names, in column order."""
    import flask
    import jinja2
    import sqlalchemy.orm as orm
    import wtforms

    for attr in ("execute", "flush", "commit", "scalar", "scalars", "get"):
        clock.wrap(orm.Session, attr, "sql")
    clock.wrap(jinja2.Template, "render", "render")
    clock.wrap(wtforms.form.FormMeta, "__call__", "forms")
    names = ["sql", "render", "forms"]
    if mode == "flask":  # the fixed costs around the view, each on its own
        for owner, attr, name in ((app.login_manager, "_load_user", "login"),
                                  (flask.Flask, "update_template_context", "ctxproc"),
                                  (flask.Flask, "preprocess_request", "before"),
                                  (flask.Flask, "process_response", "after"),
                                  (flask.Flask, "dispatch_request", "view"),
                                  (flask.ctx.RequestContext, "push", "ctxpush"),
                                  (flask.ctx.RequestContext, "pop", "ctxpop")):
            clock.wrap(owner, attr, name)
            names.append(name)
    if mode == "hooks":  # every request hook, context processor and the cookie session, each alone
        for funcs, prefix in ((app.before_request_funcs[None], "b:"), (app.after_request_funcs[None], "a:"),
                              (app.teardown_request_funcs[None], "t:"), (app.teardown_appcontext_funcs, "ta:"),
                              (app.template_context_processors[None], "c:")):
            for i, func in enumerate(funcs):
                label = prefix + getattr(func, "__name__", getattr(getattr(func, "func", None), "__name__", "?"))
                holder = type("Holder", (), {"f": staticmethod(func)})
                clock.wrap(holder, "f", label)
                funcs[i] = holder.f
                names.append(label)
        for owner, attr, label in ((type(app.session_interface), "open_session", "session_open"),
                                   (type(app.session_interface), "save_session", "session_save"),
                                   (flask.ctx.RequestContext, "match_request", "route"),
                                   (app.login_manager, "_user_callback", "load_user")):
            clock.wrap(owner, attr, label)
            names.append(label)
    return [*names, "other"]


def segments(app, todo: dict, rounds: int) -> None:
    """SEGMENTS=1|flask|hooks: for each page, the median CPU ms per request in SQL (ORM, driver, flush and commit),
    Jinja rendering, WTForms form building and the rest; `flask` splits out Flask's and Flask-Login's fixed costs,
    `hooks` every request hook. Each wrapped call adds ~2 µs of its own."""
    clock = _Clock()
    names = _wrap_segments(clock, app, os.environ["SEGMENTS"])
    if len(names) <= 12:
        print(f"{'page':28s}" + "".join(f"{k:>8s}" for k in (*names, "total")))
    for name, (setup, call) in todo.items():
        samples: dict[str, list[float]] = {k: [] for k in names}
        for _ in range(rounds):
            args = _args(setup())
            clock._switch("other")
            clock.spent = {}
            call(*args)
            clock._switch(None)
            for k, values in samples.items():
                values.append(clock.spent.get(k, 0.0))
        # medians, each segment on its own: the least disturbed by other processes and the collector
        row = {k: 1000 * statistics.median(values) for k, values in samples.items()}
        if len(names) > 12:  # too many columns: one line per page, the segments by cost
            costly = sorted(((v, k) for k, v in row.items() if v >= 0.005), reverse=True)
            print(f"{name} ({sum(row.values()):.2f}): " + " ".join(f"{k}={v:.2f}" for v, k in costly))
        else:
            print(f"{name:28s}" + "".join(f"{v:8.2f}" for v in row.values()) + f"{sum(row.values()):8.2f}")
