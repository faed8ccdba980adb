"""INSERT … ON CONFLICT DO NOTHING for the two supported databases: the one insert-or-skip.

Unique keys make scans, billing runs, scheduled jobs and deliveries idempotent: a second writer's
row is skipped by the database, never checked for first and inserted after.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, text
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


def insert_one_ignoring_conflicts(session: Session, table: Table | Any, values: dict[str, Any]) -> int | None:
    """Insert one row with `insert_ignoring_conflicts`; return its id, or None when a row with the
    same unique key already existed (RETURNING, not rowcount, which drivers report differently
    for this statement)."""
    stmt = insert_ignoring_conflicts(session, table).values(**values)
    inserted: int | None = session.execute(stmt.returning(table.c.id)).scalar_one_or_none()
    return inserted


def plan_each_statement(session: Session) -> None:
    """Have PostgreSQL plan every statement of this transaction for its own parameters.

    The driver prepares a statement it sees often, and PostgreSQL may then switch to one generic
    plan for all parameters; for set-based work over id ranges and dates (the daily scan) a plan
    that ignores the range is orders of magnitude slower. Planning anew costs milliseconds.
    No-op on SQLite.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
