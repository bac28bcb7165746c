"""psycopg's cursor, with the result's column descriptions built only when something reads them.

psycopg builds `cursor.description` anew on every access: one Column object per column (its name decoded, its type
looked up), ~1.5 µs each. SQLAlchemy asks for it after every statement, but once a statement's compiled form has its
result metadata cached (from its first run on), it only checks that the description is not None. A case page reads
~110 columns over its statements, so that was ~0.2 ms of the page for objects nobody looked at: bench/page_cost.py,
alternating rounds in one process, journey mean 9.10 ms with psycopg's description, 8.88 with this one.

The connections get it through psycopg's public `cursor_factory` (app/__init__.py). What it returns is a sequence of
the same Column objects, built all at once on the first read of an item; its length and truth come from the result
without building anything. Reading the items after the cursor has run another statement raises (the columns of the
earlier result are gone), rather than describe the wrong result; SQLAlchemy and psycopg's row factories read them
at once.
"""
from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg.pq import ExecStatus

# Results that have columns even when they have none (psycopg's rule: "SELECT ;" is described as []).
_ROWS = frozenset((ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE, ExecStatus.TUPLES_CHUNK))


class Description(Sequence):
    """cursor.description of one result, its Column objects built on the first read of an item."""

    __slots__ = ("_columns", "_cursor", "_result")

    def __init__(self, cursor: psycopg.Cursor, result) -> None:
        self._cursor, self._result, self._columns = cursor, result, None

    def __len__(self) -> int:
        return self._result.nfields

    def __getitem__(self, index):
        if self._columns is None:
            if self._cursor.pgresult is not self._result:
                raise RuntimeError("cursor.description read after the cursor ran another statement")
            self._columns = psycopg.Cursor.description.fget(self._cursor)
        return self._columns[index]

    def __repr__(self) -> str:
        return repr(list(self))


class Cursor(psycopg.Cursor):
    """psycopg.Cursor whose description is a Description: nothing is built until an item is read."""

    @property
    def description(self) -> Description | None:
        result = self.pgresult
        if result and (result.nfields or result.status in _ROWS):
            return Description(self, result)
        return None
