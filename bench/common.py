"""What every benchmark shares: databases to run on, timing, and the shape of a result."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from renewals.db.engine import make_engine, make_sessionmaker
from renewals.db.migrate import upgrade
from renewals.db.models import Base
from renewals.db.uow import unit_of_work

# The day the generated book is "today": every benchmark replays it, so runs are comparable.
AS_OF = date(2026, 6, 15)
T = TypeVar("T")


def stop_process(proc: subprocess.Popen[Any], timeout: float) -> None:
    """Stop a child process: SIGTERM, then SIGKILL if it is still there after `timeout` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Timing:
    wall: float
    cpu: float
    """CPU seconds of this Python process only (the PostgreSQL server's work is not in it)."""


@contextmanager
def timed() -> Iterator[Timing]:
    """Measure wall-clock and this process's CPU time of the block."""
    timing = Timing(0.0, 0.0)
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield timing
    finally:
        timing.wall = time.perf_counter() - wall
        timing.cpu = time.process_time() - cpu


def best_of(repeat: int, func: Callable[[], T]) -> tuple[Timing, T]:
    """Run `func` `repeat` times and keep the fastest run (less noise from other work on the box)."""
    best: Timing | None = None
    result: Any = None
    for _ in range(max(1, repeat)):
        with timed() as t:
            result = func()
        if best is None or t.wall < best.wall:
            best = t
    assert best is not None
    return best, result


@dataclass
class Row:
    """One measured operation at one scale, with the baseline it is compared with."""

    scale: int
    operation: str
    rows: int
    """What the operation processed or produced (its unit is in `unit`)."""
    unit: str
    seconds: float
    cpu_seconds: float
    baseline: str = ""
    baseline_seconds: float | None = None

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def ratio(self) -> float | None:
        if not self.baseline_seconds:
            return None
        return self.seconds / self.baseline_seconds


@dataclass
class Section:
    """The result of one benchmark on one database."""

    name: str
    title: str
    database: str
    what: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        ratio = f", {row.ratio:.1f}x {row.baseline}" if row.ratio is not None else ""
        print(
            f"  [{self.database}] {self.name} @ {row.scale:,}: {row.operation}: {row.rows:,} {row.unit} "
            f"in {row.seconds:.3f} s (cpu {row.cpu_seconds:.3f} s){ratio}",
            flush=True,
        )
        return row

    def note(self, text_: str) -> None:
        self.notes.append(text_)
        print(f"  [{self.database}] {self.name}: {text_}", flush=True)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Section:
        rows = [Row(**r) for r in data.pop("rows")]
        return cls(rows=rows, **data)


class Database:
    """A throw-away, migrated database: a SQLite file in a temporary folder, or a fresh
    PostgreSQL database created next to the one a URL names (dropped again by `close`)."""

    def __init__(self, kind: str, admin_url: str | None = None) -> None:
        self.kind = kind
        self._admin_url = admin_url
        self._pg_name: str | None = None
        if kind == "sqlite":
            self._tmp = tempfile.TemporaryDirectory(prefix="renewals-bench-")
            self.url = f"sqlite:///{Path(self._tmp.name) / 'bench.db'}"
        else:
            if admin_url is None:
                raise ValueError("PostgreSQL needs --database-url or BENCH_DATABASE_URL")
            self._pg_name = f"renewals_bench_{uuid.uuid4().hex[:10]}"
            admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self._pg_name}"'))
            admin.dispose()
            self.url = make_url(admin_url).set(database=self._pg_name).render_as_string(hide_password=False)
        self.engine: Engine = make_engine(self.url)
        upgrade(self.engine)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def version(self) -> str:
        if self.dialect == "sqlite":
            return f"SQLite {sqlite3.sqlite_version}"
        with self.engine.connect() as conn:
            full = str(conn.scalar(text("SHOW server_version")))
        return f"PostgreSQL {full.split()[0]}"

    def empty(self) -> None:
        """Delete every row of every table (and reset PostgreSQL's id sequences)."""
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    conn.execute(text(f"DELETE FROM {name}"))
        if self.dialect == "sqlite":
            # Give the freed pages back, so each scale starts from a file of its own size.
            raw = self.engine.raw_connection()
            try:
                raw.driver_connection.execute("VACUUM")  # type: ignore[union-attr]
            finally:
                raw.close()

    def analyze(self) -> None:
        """Refresh the planner's statistics after a bulk load, as an operator would."""
        if self.dialect == "sqlite":
            raw = self.engine.raw_connection()
            try:
                raw.driver_connection.execute("ANALYZE")  # type: ignore[union-attr]
            finally:
                raw.close()
            return
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")

    @contextmanager
    def unit(self) -> Iterator[Session]:
        with unit_of_work(self.sessions) as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()
        if self._pg_name is not None and self._admin_url is not None:
            admin = make_engine(self._admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)'))
            admin.dispose()
        else:
            self._tmp.cleanup()


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import weasyprint

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover — not Linux
        usable = os.cpu_count() or 0
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": usable,
        "cpu": cpu,
        "load_average": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "weasyprint": weasyprint.__version__,
        "platform": platform.platform(terse=True),
    }
