"""A reader (every GET, a long CSV export) sees one snapshot and holds no SQLite write lock."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from renewals.db.engine import make_engine, reader


@pytest.fixture
def sqlite(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)"))
        conn.execute(text("INSERT INTO t (v) VALUES (1)"))
    return engine


def impatient_write(engine: Engine) -> None:
    """A write from another connection that fails at once instead of waiting for a lock."""
    conn = sqlite3.connect(str(engine.url.database), timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE t SET v = v + 1")
        conn.execute("COMMIT")
    finally:
        conn.close()


def test_a_reader_lets_a_writer_through_and_keeps_its_snapshot(sqlite: Engine) -> None:
    with Session(reader(sqlite)) as export:
        assert export.execute(text("SELECT v FROM t")).scalar_one() == 1
        impatient_write(sqlite)
        assert export.execute(text("SELECT v FROM t")).scalar_one() == 1
    with sqlite.connect() as conn:
        assert conn.execute(text("SELECT v FROM t")).scalar_one() == 2


def test_an_ordinary_transaction_takes_the_write_lock_up_front(sqlite: Engine) -> None:
    with Session(sqlite) as holder:
        holder.execute(text("SELECT v FROM t"))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            impatient_write(sqlite)
