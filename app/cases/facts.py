"""Which of a case's panel tables hold rows for it, answered with the case's own row.

A staff member's case page is built from panels of several packages (routing, invitations, deadlines, session slots,
the mediation record, the agreement, the arbitration clause), and each panel asked its own table: seven statements
on every staff case page, most of them finding nothing (a new case has no slots, no record, no agreement). Each
package registers an EXISTS over its table here; the case page loads the case with all of them folded into one
integer (`Case.panel_facts`, a bit per table), and a panel's lookup skips its query when its bit says there is
nothing to find.

The answer is only as fresh as the case row it came with, so only a page that writes nothing asks for it
(`with_panel_facts()` in the view's loader options). Everywhere else the attribute is not loaded and `may_have()`
answers True: every lookup queries as before.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import with_expression

# name -> a function building EXISTS(a row of that table for Case.id), correlated to the cases table
_FACTS: dict[str, Callable[[], sa.Exists]] = {}
_BITS: dict[str, int] = {}


def register_case_fact(name: str, exists: Callable[[], sa.Exists]) -> None:
    """Let `may_have(case, name)` be answered from `exists()`, folded into the case page's case query."""
    if name not in _FACTS:
        _BITS[name] = 1 << len(_BITS)
    _FACTS[name] = exists
    with_panel_facts.cache_clear()


@functools.cache
def with_panel_facts():
    """A loader option for Case: its panel_facts loaded with the row (read-only pages only, see the module). Options
    are immutable, so the one built first serves every request (building it costs ~1.3 ms)."""
    from app.cases.models import Case

    terms = [sa.case((exists(), _BITS[name]), else_=0) for name, exists in _FACTS.items()]
    bits = sa.func.coalesce(sum(terms[1:], terms[0]) if terms else sa.literal(0), 0)
    return with_expression(Case.panel_facts, bits)


def may_have(case, name: str) -> bool:
    """False only when the case was loaded with its panel facts and the table `name` had no row for it."""
    bits = case.__dict__.get("panel_facts")
    if bits is None or name not in _BITS:
        return True
    return bool(bits & _BITS[name])
