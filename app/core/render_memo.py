"""Lookups made once per page render instead of once per panel.

The case page is built from panels of several packages (agreements, scheduling, deadlines, escalation), and some of
them ask the same question: three panels each looked up the case's current agreement (two queries each), two the
session slots. Inside `rendering()`, which a read-only page wraps around its render, a function decorated with
`@per_render(key)` answers each key once; outside it (every write, every job) it queries as always, so nothing a
request changes can be answered stale."""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from flask import g, has_app_context

T = TypeVar("T")
_MEMO = "_render_memo"


@contextmanager
def rendering() -> Iterator[None]:
    """The block renders a page and writes nothing: memoised lookups answer once within it."""
    outer = g.get(_MEMO)
    if outer is None:
        setattr(g, _MEMO, {})
    try:
        yield
    finally:
        if outer is None:
            g.pop(_MEMO, None)


def per_render(key: Callable[..., object]) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Memoise the decorated lookup by key(*args) inside rendering()."""
    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs) -> T:
            memo = g.get(_MEMO) if has_app_context() else None
            if memo is None or kwargs:
                return fn(*args, **kwargs)
            slot = (fn.__module__, fn.__qualname__, key(*args))
            if slot not in memo:
                memo[slot] = fn(*args)
            return memo[slot]  # type: ignore[return-value]
        return wrapper
    return decorate
