"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

# Execution option naming how a SQLite transaction begins: "IMMEDIATE" (the default: the write
# lock up front) or "DEFERRED" (a reader: WAL lets it read while a writer holds the lock).
SQLITE_BEGIN = "renewals_sqlite_begin"


def make_engine(url: str, *, lock_timeout: float = 30.0, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and immediate write locks.

    `lock_timeout` is how long a SQLite writer waits for the write lock before "database is
    locked"; the API keeps it short and answers 503, batch work can afford to queue.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": lock_timeout, "check_same_thread": False}, **kwargs)
        _tune_sqlite(engine, int(lock_timeout * 1000))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def reader(engine: Engine) -> Engine:
    """The same engine (and pool) for transactions that only read: on SQLite they begin
    DEFERRED, so they never wait for a writer; elsewhere nothing changes."""
    return engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})


def _tune_sqlite(engine: Engine, busy_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: two writers queue on busy_timeout
        # instead of deadlocking when both try to upgrade a read lock.
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        conn.exec_driver_sql("BEGIN DEFERRED" if mode == "DEFERRED" else "BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
