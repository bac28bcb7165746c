"""Guard triggers on both backends, created and dropped as one set (signed agreements, the PII reveal log).

A set is PostgreSQL functions (CREATE OR REPLACE FUNCTION ... text), PostgreSQL triggers by name with their table,
and SQLite triggers by name. drop() removes them for maintenance that must rewrite rows wholesale (test clean-up,
retention, a downgrade); create() puts them back.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa


@dataclass(frozen=True)
class TriggerSet:
    pg_functions: str                          # the functions' DDL, one or more statements
    pg_function_names: tuple[str, ...]         # for DROP FUNCTION, e.g. "jiefen_pii_reveal_frozen()"
    pg_triggers: dict[str, tuple[str, str]]    # trigger name -> (table, CREATE TRIGGER ...)
    sqlite: dict[str, str]                     # trigger name -> CREATE TRIGGER ...

    def create(self, conn) -> None:
        if conn.dialect.name == "postgresql":
            # nosemgrep: sql-built-from-strings -- fixed DDL from module constants
            conn.execute(sa.text(self.pg_functions))
            for _table, ddl in self.pg_triggers.values():
                conn.execute(sa.text(ddl))
        else:
            for ddl in self.sqlite.values():
                conn.execute(sa.text(ddl))

    def drop(self, conn) -> None:
        if conn.dialect.name == "postgresql":
            for name, (table, _ddl) in self.pg_triggers.items():
                # nosemgrep: sql-built-from-strings -- trigger and table names from module constants
                conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
            for function in self.pg_function_names:
                # nosemgrep: sql-built-from-strings -- function names from module constants
                conn.execute(sa.text(f"DROP FUNCTION IF EXISTS {function}"))
        else:
            for name in self.sqlite:
                # nosemgrep: sql-built-from-strings -- trigger names from module constants
                conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
