"""A long export reads a snapshot without holding SQLite's write lock; writers go on meanwhile."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from renewals.db.engine import READ_ONLY, make_engine


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


def test_a_read_only_transaction_lets_a_writer_through_and_keeps_its_snapshot(sqlite: Engine) -> None:
    with Session(sqlite) as reader:
        reader.connection(execution_options={READ_ONLY: True})
        assert reader.execute(text("SELECT v FROM t")).scalar_one() == 1
        impatient_write(sqlite)
        assert reader.execute(text("SELECT v FROM t")).scalar_one() == 1
    with sqlite.connect() as conn:
        assert conn.execute(text("SELECT v FROM t")).scalar_one() == 2


def test_an_ordinary_transaction_takes_the_write_lock_up_front(sqlite: Engine) -> None:
    with Session(sqlite) as holder:
        holder.execute(text("SELECT v FROM t"))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            impatient_write(sqlite)
