"""INSERT … ON CONFLICT DO NOTHING for the two supported databases.

Unique keys make scans, billing runs and scheduled jobs idempotent: a second writer's row is
skipped by the database, never checked for first and inserted after.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring_conflicts(
    session: Session, table: Table | Any, index_elements: list[str] | None = None
) -> postgresql.Insert | sqlite.Insert:
    """An INSERT for `table` that skips rows clashing with a unique key (all keys when unnamed).

    Raise RuntimeError on a database other than PostgreSQL or SQLite.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    raise RuntimeError(f"renewals supports PostgreSQL and SQLite, not {dialect}")
