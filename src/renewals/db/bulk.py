"""Bulk inserts for batch work: COPY on PostgreSQL, one executemany of tuples on SQLite.

The ORM and Core inserts process every value of every row in Python (type processors, defaults,
parameter dictionaries); a billing run writes hundreds of thousands of rows, so it hands plain
driver values to the driver instead: ints, strings and None, with dates as ISO strings
(`YYYY-MM-DD`), which both databases read into a DATE column (SQLite stores that very text), so
the caller need not know which database it talks to and the driver need not convert a date
object per row. Columns left out get their Python-side default (e.g. `created_at`) evaluated
once per call, or the database's own (an id's sequence).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.orm import Session


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """Reserve `count` fresh ids of `table`'s `id` column for rows inserted with them.

    PostgreSQL draws them from the column's sequence (safe beside any concurrent writer); SQLite
    counts on from the largest id, which is safe because a SQLite writer holds the database's
    only write lock for its whole transaction (the ids SQLite itself would have picked).
    """
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        drawn = session.execute(
            text("SELECT array_agg(nextval(pg_get_serial_sequence(:table, 'id'))) FROM generate_series(1, :n)"),
            {"table": table.name, "n": count},
        ).scalar_one()
        return list(drawn)
    top = session.execute(text(f'SELECT coalesce(max(id), 0) FROM "{table.name}"')).scalar_one()  # noqa: S608
    return list(range(int(top) + 1, int(top) + 1 + count))


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert `rows` (tuples of plain driver values in the order of `columns`) into `table` in the
    session's transaction. Raise what the driver raises (e.g. on a unique key already taken)."""
    bind = session.get_bind()
    dialect = bind.dialect
    defaults: list[tuple[str, Any]] = []
    for column in table.columns:
        if column.name in columns or column.default is None:
            continue
        default: Any = column.default
        value = default.arg(None) if default.is_callable else default.arg
        processor = column.type.dialect_impl(dialect).bind_processor(dialect)
        value = processor(value) if processor is not None else value
        if dialect.name == "postgresql" and value is not None:
            # As COPY's text, once: cheaper than the driver converting a datetime on every row.
            value = value.isoformat() if isinstance(value, date) else str(value)
        defaults.append((column.name, value))
    names = [*columns, *(name for name, _ in defaults)]
    extra = tuple(value for _, value in defaults)
    quoted = ", ".join(f'"{name}"' for name in names)
    raw = session.connection().connection.driver_connection
    if dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:  # type: ignore[union-attr]
            write = copy.write_row
            for row in rows:
                write(row + extra if extra else row)
        return
    marks = ", ".join("?" for _ in names)
    statement = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})'  # noqa: S608
    raw.executemany(statement, (row + extra for row in rows) if extra else rows)  # type: ignore[union-attr]
