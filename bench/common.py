"""What every benchmark shares: databases to run on, timing, and the shape of a result.

Time limits: every `timed` block (and so every run inside `best_of`) may take at most
`LIMITS.operation` seconds, and `best_of` stops repeating once its runs took
`LIMITS.repeat_budget` seconds, so large scales cost one run, not three. An operation over its
limit has its database statements cancelled (psycopg's cancel, SQLite's interrupt) and then
`TimeLimitExceeded` raised in the main thread; `python -m bench` records it as "not measured"
and goes on with the next benchmark. A benchmark that wants to go on with its *next*
operation instead wraps each one in `Section.limited(scale, label, unit)`.

CPU: `Timing.cpu` is this process; `Timing.server_cpu` is the PostgreSQL backends serving the
benchmark's database (read from /proc for the pids `pg_stat_activity` lists, sampled twice a
second so short-lived parallel workers count too), None on SQLite or when the server is not
on this machine. A `Row` made from a `Timing` (its wall and CPU seconds) gets it by itself in
`Section.add`; pass it as `Row(..., server_cpu_seconds=...)` where the row is computed otherwise.
"""

from __future__ import annotations

import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, Pool

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
class Limits:
    """How long a run may spend; `python -m bench` sets them from its options."""

    operation: float | None = 300.0
    """Seconds one `timed` block may take (None: no limit)."""
    part: float | None = 1800.0
    """Seconds one benchmark may take at one scale on one database."""
    repeat_budget: float = 20.0
    """`best_of` starts no further run once its runs took this many seconds together."""


LIMITS = Limits()


class TimeLimitExceeded(Exception):
    """An operation ran past its limit and was stopped."""

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(f"{what}: not measured (> {seconds:g} s)")
        self.what = what
        self.seconds = seconds


# DBAPI connections checked out of any pool in this process: what a time limit interrupts.
_BUSY: dict[int, Any] = {}
_GUARDS: list[_Guard] = []
_MAIN = threading.main_thread()


@event.listens_for(Pool, "checkout")
def _checked_out(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    _BUSY[id(dbapi_conn)] = dbapi_conn


@event.listens_for(Pool, "checkin")
def _checked_in(dbapi_conn: Any, _record: Any) -> None:
    _BUSY.pop(id(dbapi_conn), None)


# Statements the main thread has running: while one runs, a limit cancels it rather than
# raising inside the driver (psycopg would be left mid-command).
_MAIN_STATEMENTS = [0]


@event.listens_for(Engine, "before_cursor_execute")
def _statement_starts(*_args: Any) -> None:
    if threading.current_thread() is _MAIN:
        _MAIN_STATEMENTS[0] += 1


@event.listens_for(Engine, "after_cursor_execute")
def _statement_ends(*_args: Any) -> None:
    if threading.current_thread() is _MAIN:
        _MAIN_STATEMENTS[0] = max(0, _MAIN_STATEMENTS[0] - 1)


@event.listens_for(Engine, "handle_error")
def _statement_fails(_context: Any) -> None:
    _statement_ends()


def _interrupt_databases() -> None:
    for conn in list(_BUSY.values()):
        with suppress(Exception):  # a connection closing meanwhile has nothing to stop
            if isinstance(conn, sqlite3.Connection):
                conn.interrupt()
            else:
                conn.cancel_safe(timeout=5.0)


def _on_alarm(_signum: int, _frame: Any) -> None:
    for guard in _GUARDS:
        if guard.fired.is_set() and not guard.raised:
            guard.raised = True
            raise TimeLimitExceeded(guard.what, guard.seconds)


class _Guard:
    """A watchdog thread: at the deadline, cancel what the databases are doing; then, every
    half second while the block still runs, cancel again if the main thread is in a statement,
    else raise `TimeLimitExceeded` in it by SIGALRM."""

    def __init__(self, seconds: float, what: str) -> None:
        self.seconds, self.what = seconds, what
        self.fired, self.done = threading.Event(), threading.Event()
        self.raised = False
        self._thread = threading.Thread(target=self._watch, name="bench-time-limit", daemon=True)
        self._signals = threading.current_thread() is _MAIN

    def _watch(self) -> None:
        if self.done.wait(self.seconds):
            return
        self.fired.set()
        _interrupt_databases()
        while not self.done.wait(0.5):
            if _MAIN_STATEMENTS[0] or not self._signals or _MAIN.ident is None:
                _interrupt_databases()  # the statement ends with its own error, at once
            else:
                signal.pthread_kill(_MAIN.ident, signal.SIGALRM)

    def __enter__(self) -> _Guard:
        if self._signals:
            if not _GUARDS:
                signal.signal(signal.SIGALRM, _on_alarm)
            _GUARDS.append(self)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> None:
        self.done.set()
        self._thread.join()
        if self._signals:
            _GUARDS.remove(self)
            if not _GUARDS:
                signal.signal(signal.SIGALRM, signal.SIG_DFL)
        if self.fired.is_set() and error is not None and not isinstance(error, TimeLimitExceeded):
            # The cancelled statement's own error (QueryCanceled, "interrupted"): it is the limit.
            raise TimeLimitExceeded(self.what, self.seconds) from error


@contextmanager
def time_limit(seconds: float | None, what: str) -> Iterator[None]:
    """Stop the block after `seconds` (see the module's docstring); None: no limit."""
    if seconds is None or seconds <= 0:
        yield
        return
    with _Guard(seconds, what):
        yield


@dataclass
class Timing:
    wall: float
    cpu: float
    """CPU seconds of this Python process only (the PostgreSQL server's work is not in it)."""
    server_cpu: float | None = None
    """CPU seconds of the PostgreSQL backends of the benchmark's database (None: not known)."""


# The last timings taken, so `Section.add` can find the server CPU of a row built from one.
_RECENT: deque[Timing] = deque(maxlen=256)


@contextmanager
def timed(what: str = "operation", limit: float | bool | None = True) -> Iterator[Timing]:
    """Measure wall-clock, this process's CPU time and the database server's CPU time of the
    block, stopping it after `limit` seconds (True: `LIMITS.operation`; None or False: never)."""
    seconds = LIMITS.operation if limit is True else (limit or None)
    if what == "operation":
        what = _caller()
    timing = Timing(0.0, 0.0)
    server = server_cpu()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        with time_limit(seconds, what):
            yield timing
    finally:
        timing.wall = time.perf_counter() - wall
        timing.cpu = time.process_time() - cpu
        if server is not None:
            after = server_cpu()
            timing.server_cpu = None if after is None else after - server
        _RECENT.append(timing)


def _caller() -> str:
    """Where the `with timed()` block is: `scan.py:49 (measure)` (the frames above are this
    function, the generator and contextlib's `__enter__`)."""
    try:
        frame = sys._getframe(3)
    except ValueError:
        return "operation"
    return f"operation at {Path(frame.f_code.co_filename).name}:{frame.f_lineno} ({frame.f_code.co_name})"


def best_of(repeat: int, func: Callable[[], T]) -> tuple[Timing, T]:
    """Run `func` up to `repeat` times and keep the fastest run (less noise from other work on
    the box); no further run once the runs took `LIMITS.repeat_budget` seconds together."""
    best: Timing | None = None
    result: Any = None
    spent = 0.0
    what = _describe(func)
    for _ in range(max(1, repeat)):
        with timed(what) as t:
            result = func()
        spent += t.wall
        if best is None or t.wall < best.wall:
            best = t
        if spent >= LIMITS.repeat_budget:
            break
    assert best is not None
    return best, result


def _describe(func: Callable[..., Any]) -> str:
    """A readable name for what `best_of` runs: `aging(client)` for a partial, else its name."""
    inner = getattr(func, "func", None)
    if inner is not None:
        shown = [a for a in getattr(func, "args", ()) if isinstance(a, str | int | date)]
        shown += [f"{k}={v}" for k, v in getattr(func, "keywords", {}).items() if isinstance(v, str | int)]
        return f"{getattr(inner, '__name__', 'call')}({', '.join(str(a) for a in shown)})"
    name = str(getattr(func, "__qualname__", "operation")).replace(".<locals>.", ".")
    return f"{getattr(func, '__module__', '')}.{name}".lstrip(".")


# The PostgreSQL backends' CPU: one sampler per benchmark database (see the module's docstring).
_SAMPLERS: list[_ServerSampler] = []


def server_cpu() -> float | None:
    """CPU seconds used so far by the backends of the current PostgreSQL benchmark database."""
    return _SAMPLERS[-1].total() if _SAMPLERS else None


class _ServerSampler:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._seen: dict[int, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._tick = os.sysconf("SC_CLK_TCK")
        # A connection of its own, outside the benchmark's pool.
        self._own = make_engine(engine.url.render_as_string(hide_password=False), poolclass=NullPool)
        self._conn = self._own.connect().execution_options(isolation_level="AUTOCOMMIT")
        self.available = self._sample()
        self._thread = threading.Thread(target=self._run, name="bench-server-cpu", daemon=True)
        if self.available:
            self._thread.start()

    def _sample(self) -> bool:
        """Read every backend's CPU now; False when /proc does not have them (a remote server)."""
        with self._lock:
            try:
                pids = self._conn.exec_driver_sql(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).scalars()
            except Exception:  # cancelled by a time limit, or the database going away
                self._conn.rollback()
                return True
            found = False
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                found = True
                # utime and stime: fields 14 and 15 of stat(5), 12 and 13 after the ")".
                cpu = (int(fields[11]) + int(fields[12])) / self._tick
                self._seen[pid] = max(cpu, self._seen.get(pid, 0.0))
            return found

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def total(self) -> float | None:
        if not self.available:
            return None
        self._sample()
        return sum(self._seen.values())

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._conn.close()
        self._own.dispose()


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
    server_cpu_seconds: float | None = None
    """CPU seconds of the PostgreSQL backends (`Timing.server_cpu`), when the benchmark passes it."""
    not_measured: str = ""
    """Why there is no time (e.g. "> 300 s"): the operation was stopped at its limit."""

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 and not self.not_measured else 0.0

    @property
    def ratio(self) -> float | None:
        if not self.baseline_seconds or self.not_measured:
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
    parts: list[Part] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        """Record a row. A row whose seconds and CPU are those of a recent `timed` block (what
        `timed` and `best_of` return) gets that block's server CPU if it does not carry one."""
        if row.server_cpu_seconds is None and not row.not_measured:
            for timing in reversed(_RECENT):
                if timing.wall == row.seconds and timing.cpu == row.cpu_seconds:
                    row.server_cpu_seconds = timing.server_cpu
                    break
        self.rows.append(row)
        ratio = f", {row.ratio:.1f}x {row.baseline}" if row.ratio is not None else ""
        server = f", server cpu {row.server_cpu_seconds:.3f} s" if row.server_cpu_seconds is not None else ""
        counted = f"{row.rows:,} {row.unit} " if row.rows or row.unit else ""
        took = f"not measured ({row.not_measured})" if row.not_measured else f"in {row.seconds:.3f} s"
        print(
            f"  [{self.database}] {self.name} @ {row.scale:,}: {row.operation}: {counted}{took} "
            f"(cpu {row.cpu_seconds:.3f} s{server}){ratio}",
            flush=True,
        )
        return row

    def not_measured(self, scale: int, error: TimeLimitExceeded, unit: str = "") -> Row:
        """Record an operation stopped at its time limit."""
        return self.add(Row(scale, error.what, 0, unit, error.seconds, 0.0, not_measured=f"> {error.seconds:g} s"))

    @contextmanager
    def limited(self, scale: int, label: str, unit: str = "") -> Iterator[None]:
        """Run one operation; if it passes its time limit, record it as not measured and go on."""
        try:
            yield
        except TimeLimitExceeded as error:
            self.not_measured(scale, TimeLimitExceeded(label, error.seconds), unit)

    @contextmanager
    def part(self, scale: int, label: str) -> Iterator[Part]:
        """Account for one part of a run (a book's generation, one benchmark at one scale):
        wall, this process's and the server's CPU, and the load average before and after."""
        record = Part(scale, label, _load(), "", 0.0, 0.0)
        with timed(label, limit=False) as t:
            yield record
        record.wall, record.cpu, record.server_cpu = t.wall, t.cpu, t.server_cpu
        record.load_after = _load()
        self.parts.append(record)

    def note(self, text_: str) -> None:
        self.notes.append(text_)
        print(f"  [{self.database}] {self.name}: {text_}", flush=True)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Section:
        rows = [Row(**r) for r in data.pop("rows")]
        parts = [Part(**p) for p in data.pop("parts", [])]
        return cls(rows=rows, parts=parts, **data)


@dataclass
class Part:
    """One part of a run, with the machine's load around it."""

    scale: int
    label: str
    load_before: str
    load_after: str
    wall: float
    cpu: float
    server_cpu: float | None = None


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


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
        self._sampler: _ServerSampler | None = None
        if self.dialect == "postgresql":
            self._sampler = _ServerSampler(self.engine)
            _SAMPLERS.append(self._sampler)

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
        """Delete every row of every table (and reset PostgreSQL's id sequences).

        SQLite: a new file, migrated again (a few seconds), instead of deleting millions of rows
        one by one and vacuuming; each scale starts from a file of its own size either way."""
        if self.dialect == "sqlite":
            self.engine.dispose()
            database = self.engine.url.database
            assert database is not None
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(database + suffix).unlink(missing_ok=True)
            upgrade(self.engine)
            return
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        with self.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))

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
        if self._sampler is not None:
            _SAMPLERS.remove(self._sampler)
            self._sampler.close()
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
    memory = 0.0
    with suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) / 1024 / 1024  # kB to GiB
                break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": usable,
        "cpu": cpu,
        "memory_gib": round(memory, 1),
        "load_average": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "weasyprint": weasyprint.__version__,
        "platform": platform.platform(terse=True),
    }
