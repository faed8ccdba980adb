"""A fast, reproducible book of clients, contracts, invoices and payments for the benchmarks.

    python -m bench.generate --contracts 100000 [--book full|billing] [--database-url URL]

Rows are made in plain Python from one seeded `random.Random` (the same seed gives the same
book on either database) and written in batches straight through the driver: `COPY … FROM
STDIN` on PostgreSQL (two connections at once), `executemany` on SQLite (one transaction with
the journal in memory), by writer threads while the next batch is made. The services are not used:
they would dominate the time and the point here is a big, plausible book quickly. What makes
it fast (a million contracts, ≈ 7.3 M rows, in minutes): rows are tuples of the text the
database stores (days are integers, their ISO text looked up in a table made once, never
formatted per row), random numbers are drawn without `randrange`'s argument checks, and the
secondary indexes and foreign keys are dropped for the load and made again from the
database's own definitions afterwards, so the schema ends exactly as migrated. Two books:

* ``billing``: active contracts with one to three lines that started in the 150 days before
  AS_OF, and nothing billed yet, for the billing run to invoice (about 2.5 invoices a contract).
* ``full``: the book as it stands on the morning of AS_OF. Contracts end evenly over the next
  three years (8 % expired already, a few end yesterday for the scan to decide); contracts
  ending within 180 days have their renewal record in every open state, 30 % with an activity
  whose follow-up date is around AS_OF; invoices of the last 120 days of billing periods,
  most paid by a payment with its allocation, some partly paid, 15 % of those due unpaid, a few
  on promise-to-pay or dispute holds. Invoices carry no lines (nothing benchmarked reads them)
  and dunning levels start at 0 with no alerts, as before a first scan.
"""

from __future__ import annotations

import argparse
import calendar
import random
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext, suppress
from datetime import UTC, date, datetime
from queue import Queue
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Date, DateTime, Engine, text

from bench.common import AS_OF, Database, timed
from renewals.db.migrate import alembic_config
from renewals.db.models import Base
from renewals.db.types import UTCDateTime

STAMP = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
BATCH = 20_000  # contracts per written batch: bounds memory at any scale
INVOICE_WINDOW_DAYS = 120
HORIZON_DAYS = 180
# (cycle, months, weight in %)
CYCLES = (("monthly", 1, 50), ("quarterly", 3, 25), ("semiannual", 6, 5), ("annual", 12, 20))
CURRENCIES = (("USD", "en", 80), ("CNY", "zh-Hans", 10), ("KRW", "ko", 5), ("EUR", "en", 5))
SEGMENTS = ("enterprise", "channel", "government", "finance")
OPEN_STATES = (("upcoming", 60), ("contacted", 20), ("proposal_sent", 10), ("awaiting_signature", 10))
FIRST_ACCOUNT_MANAGER = 4  # users 1..3 are the admin, the manager and finance


def _weighted(pairs: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """A 100-slot table, so a weighted choice is one randrange."""
    return [p for p in pairs for _ in range(p[-1])]


_CYCLE_TABLE = _weighted(CYCLES)
_CURRENCY_TABLE = _weighted(CURRENCIES)
_STATE_TABLE = _weighted(OPEN_STATES)


def add_months(day: date, months: int) -> date:
    """Month arithmetic with end-of-month clamping (what the billing schedule does), fast."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


class Writer:
    """Write tuples into a table through the driver, in the connection's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self.counts: dict[str, int] = {}

    def write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        self.counts[table] = self.counts.get(table, 0) + len(rows)
        names = ", ".join(columns)
        if self.postgres:
            raw: Any = self.conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        # SQLite stores dates and datetimes as text in SQLAlchemy's format; convert up front.
        types = Base.metadata.tables[table].c
        convert = [_sqlite_converter(types[c].type) for c in columns]
        if any(convert):
            rows = [
                tuple(v if f is None or v is None else f(v) for f, v in zip(convert, row, strict=True)) for row in rows
            ]
        marks = ", ".join("?" for _ in columns)
        self.conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def fix_sequences(self) -> None:
        """After explicit ids, move PostgreSQL's id sequences past them (SQLite needs nothing)."""
        if not self.postgres:
            return
        for table in self.counts:
            self.conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )


def _sqlite_converter(type_: Any) -> Any:
    if isinstance(type_, UTCDateTime | DateTime):
        return _sqlite_datetime
    if isinstance(type_, Date):
        return _sqlite_date
    return None


def _sqlite_date(value: date) -> str:
    return value.isoformat()


def _sqlite_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


USER_COLUMNS = ("id", "email", "name", "role", "password_hash", "active", "created_at", "updated_at")
CLIENT_COLUMNS = (
    "id",
    "name",
    "legal_name",
    "legal_name_key",
    "segment",
    "size",
    "language",
    "currency",
    "credit_limit_minor",
    "owner_id",
    "status",
    "tier",
    "version",
    "created_at",
    "updated_at",
)
CONTRACT_COLUMNS = (
    "id",
    "client_id",
    "number",
    "title",
    "kind",
    "start_date",
    "end_date",
    "billing_cycle",
    "currency",
    "tax_rate",
    "payment_terms_days",
    "notice_period_days",
    "auto_renew",
    "renewal_term_months",
    "renewal_uplift_pct",
    "status",
    "monthly_value_minor",
    "version",
    "created_at",
    "updated_at",
)
LINE_COLUMNS = ("id", "contract_id", "position", "description", "quantity", "monthly_unit_price_minor")
INVOICE_COLUMNS = (
    "id",
    "number",
    "client_id",
    "contract_id",
    "period_start",
    "period_end",
    "issue_date",
    "due_date",
    "currency",
    "net_minor",
    "tax_minor",
    "total_minor",
    "paid_minor",
    "credited_minor",
    "written_off_minor",
    "balance_minor",
    "status",
    "dunning_level",
    "hold_kind",
    "hold_until",
    "hold_reason",
    "held_on",
    "version",
    "created_at",
    "updated_at",
)
PAYMENT_COLUMNS = (
    "id",
    "client_id",
    "amount_minor",
    "currency",
    "received_on",
    "method",
    "reference",
    "unapplied_minor",
    "reversed",
    "version",
    "created_at",
    "updated_at",
)
ALLOCATION_COLUMNS = ("id", "payment_id", "invoice_id", "amount_minor", "applied_on")
RENEWAL_COLUMNS = (
    "id",
    "contract_id",
    "owner_id",
    "status",
    "end_date",
    "next_action_date",
    "seal_received",
    "version",
    "created_at",
    "updated_at",
)
ACTIVITY_COLUMNS = ("id", "renewal_id", "kind", "author_id", "at", "text", "next_follow_up_on")


def account_managers(contracts: int) -> int:
    """How many account managers a book of this size has (about 2,500 contracts each)."""
    return max(3, contracts // 2500)


BOOK_TABLES = (
    "users",
    "clients",
    "contracts",
    "contract_lines",
    "invoices",
    "payments",
    "allocations",
    "renewals",
    "renewal_activities",
)

# Days as integers (offsets from _EPOCH), so date arithmetic is integer arithmetic and every
# date's text is looked up, not formatted.
_EPOCH = date(2000, 1, 1)
_YM0 = _EPOCH.year * 12 + _EPOCH.month - 1


def _calendar(years: int) -> tuple[list[str], list[int], list[int], list[int], list[int]]:
    """(ISO text, month index, day of month) per day and (first day, length) per month."""
    iso: list[str] = []
    month_index: list[int] = []
    day_of_month: list[int] = []
    firsts: list[int] = []
    lengths: list[int] = []
    for m in range(years * 12):
        year, month = divmod(_YM0 + m, 12)
        month += 1
        length = calendar.monthrange(year, month)[1]
        firsts.append(len(iso))
        lengths.append(length)
        for day in range(1, length + 1):
            iso.append(f"{year:04d}-{month:02d}-{day:02d}")
            month_index.append(m)
            day_of_month.append(day)
    return iso, month_index, day_of_month, firsts, lengths


_ISO, _MONTH, _DAY, _MONTH_FIRST, _MONTH_LENGTH = _calendar(60)
_AS_OF = AS_OF.toordinal() - _EPOCH.toordinal()


def _add_months(day: int, months: int) -> int:
    """`add_months` on day numbers."""
    m = _MONTH[day] + months
    return _MONTH_FIRST[m] + min(_DAY[day], _MONTH_LENGTH[m]) - 1


def _below(rng: random.Random) -> Callable[[int], int]:
    """`rng.randrange(n)` without its argument checks: the same numbers from the same stream
    (what CPython's `Random._randbelow` does with `getrandbits`), so the book is unchanged."""
    getrandbits = rng.getrandbits

    def below(n: int) -> int:
        k = n.bit_length()
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        return r

    return below


class _Ids:
    def __init__(self) -> None:
        self.line = self.invoice = self.payment = self.allocation = self.renewal = self.activity = 0


class _Rows:
    """One batch of rows per table, as tuples in the form the database takes as text."""

    def __init__(self) -> None:
        self.tables: dict[str, list[tuple[Any, ...]]] = {t: [] for t in BOOK_TABLES}


def generate(engine: Engine, contracts: int, *, book: str = "full", seed: int = 1) -> dict[str, int]:
    """Write a book of `contracts` contracts into an empty, migrated database; return rows per table.

    The rows are made in this thread and written by others while the next batch is made (see
    `_load_postgresql` and `_load_sqlite`). The secondary indexes and foreign keys of the book's
    tables are dropped for the load and made again from their own definitions afterwards, so the
    schema ends as the migrations made it (`schema` reads it for a comparison).
    """
    if book not in ("full", "billing"):
        raise ValueError(f"unknown book {book!r}: full or billing")
    if engine.dialect.name == "postgresql":
        counts = _load_postgresql(engine, _book(contracts, book, seed, _pg_datetime(STAMP)))
    else:
        counts = _load_sqlite(engine, _book(contracts, book, seed, _sqlite_datetime(STAMP)))
    for step in AFTER_LOAD:
        step(engine)
    return counts


AFTER_LOAD: list[Callable[[Engine], None]] = []
"""What derived data the product keeps (totals, stored scores) is not written by the generator:
a step appended here (by the module that needs it) makes it from the loaded rows, as part of
the book's generation, e.g. ``AFTER_LOAD.append(rebuild_totals)``."""


def _book(contracts: int, book: str, seed: int, stamp: str) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """The book's rows, table by table and batch by batch: (table, rows)."""
    rng = random.Random(seed)  # reproducible data, not security
    below = _below(rng)
    n_clients = max(1, contracts // 8)
    n_managers = account_managers(contracts)
    users = [
        (1, "admin@bench.test", "Admin", "admin"),
        (2, "manager@bench.test", "Manager", "manager"),
        (3, "finance@bench.test", "Finance", "finance"),
    ]
    users += [
        (FIRST_ACCOUNT_MANAGER + i, f"am{i}@bench.test", f"Account Manager {i}", "account_manager")
        for i in range(n_managers)
    ]
    yield "users", [(*u, "x", True, stamp, stamp) for u in users]
    clients: list[tuple[str, int]] = []  # (currency, owner) by client id - 1
    rows: list[tuple[Any, ...]] = []
    for cid in range(1, n_clients + 1):
        currency, language, _ = _CURRENCY_TABLE[below(100)]
        owner = FIRST_ACCOUNT_MANAGER + below(n_managers)
        # One client in five has a credit limit; a few of them owe more than it.
        limit = (500_000, 2_000_000, 10_000_000)[below(3)] if rng.random() < 0.2 else 0
        clients.append((currency, owner))
        rows.append(
            (
                cid,
                f"Client {cid}",
                f"Client {cid} Ltd.",
                f"client{cid}ltd.",
                SEGMENTS[cid % 4],
                "medium",
                language,
                currency,
                limit,
                owner,
                "active",
                "B",
                1,
                stamp,
                stamp,
            )
        )
        if len(rows) >= BATCH:
            yield "clients", rows
            rows = []
    yield "clients", rows
    ids = _Ids()
    for low in range(1, contracts + 1, BATCH):
        batch = _batch(rng, below, range(low, min(low + BATCH, contracts + 1)), clients, book, ids, stamp)
        yield from batch.tables.items()


def _batch(
    rng: random.Random,
    below: Callable[[int], int],
    contract_ids: range,
    clients: list[tuple[str, int]],
    book: str,
    ids: _Ids,
    stamp: str,
) -> _Rows:
    """Rows for a range of contracts. The random numbers are drawn in the same order as the
    original date-object version of this function drew them, so a seed gives the same book."""
    out = _Rows()
    contracts = out.tables["contracts"]
    lines = out.tables["contract_lines"]
    renewals = out.tables["renewals"]
    activities = out.tables["renewal_activities"]
    iso, add_months_ = _ISO, _add_months
    today = _AS_OF
    horizon = today + HORIZON_DAYS
    n_clients = len(clients)
    random_ = rng.random
    cycles = [(c[0], c[1]) for c in _CYCLE_TABLE]
    states = [s[0] for s in _STATE_TABLE]
    midnight = " 00:00:00.000000" + stamp[26:]  # the zone suffix PostgreSQL gets, if any
    for cid in contract_ids:
        client_id = 1 + below(n_clients)
        currency, owner = clients[client_id - 1]
        cycle, step = cycles[below(100)]
        term = (12, 24, 36, 60)[below(4)]
        status = "active"
        if book == "billing":
            start = today - below(150)
            end = add_months_(start, term) - 1
        else:
            if random_() < 0.08:
                status, end = "expired", today - 31 - below(370)
            else:
                end = today - 1 + below(1101)
            start = add_months_(end + 1, -term)
        terms_days = (15, 30, 30, 45)[below(4)]
        auto_renew = random_() < 0.3
        monthly = 0
        for pos in range(1 + below(3)):
            ids.line += 1
            quantity = 1 + below(4)
            price = 1_000 + below(499_000)
            monthly += quantity * price
            # quantity is stored scaled by 10^4 (Scaled(4)).
            lines.append((ids.line, cid, pos, _LINE_TEXT[pos], quantity * 10_000, price))
        contracts.append(
            (
                cid,
                client_id,
                f"B-{cid:08d}",
                f"Capacity {cid}",
                "rental",
                iso[start],
                iso[end],
                cycle,
                currency,
                60_000,
                terms_days,
                (30, 60, 90)[below(3)],
                auto_renew,
                12,
                30_000,
                status,
                monthly,
                1,
                stamp,
                stamp,
            )
        )
        if book == "billing":
            continue
        if status == "active" and end <= horizon:
            ids.renewal += 1
            state = "upcoming" if end < today else states[below(100)]
            renewals.append((ids.renewal, cid, owner, state, iso[end], None, False, 1, stamp, stamp))
            if random_() < 0.3:
                ids.activity += 1
                at = iso[today - 1 - below(20)] + midnight
                follow_up = iso[today - 8 + below(19)]
                activities.append((ids.activity, ids.renewal, "call", owner, at, "Called the client", follow_up))
        _invoices(below, random_, cid, client_id, currency, start, end, step, terms_days, monthly, ids, out, stamp)
    return out


_LINE_TEXT = ("Rack unit 1", "Rack unit 2", "Rack unit 3")


def _invoices(
    below: Callable[[int], int],
    random_: Callable[[], float],
    cid: int,
    client_id: int,
    currency: str,
    start: int,
    end: int,
    step: int,
    terms_days: int,
    monthly: int,
    ids: _Ids,
    out: _Rows,
    stamp: str,
) -> None:
    """The contract's invoices for billing periods starting in the window before AS_OF."""
    invoices = out.tables["invoices"]
    payments = out.tables["payments"]
    allocations = out.tables["allocations"]
    iso, add_months_ = _ISO, _add_months
    today = _AS_OF
    window_start = today - INVOICE_WINDOW_DAYS
    k = max(0, (_MONTH[window_start] - _MONTH[start]) // step - 1)
    net = monthly * step
    tax = (net * 6 + 50) // 100
    total = net + tax
    last = min(today, end)
    while True:
        period_start = add_months_(start, k * step)
        if period_start > last:
            return
        k += 1
        if period_start <= window_start:
            continue
        period_end = min(add_months_(start, k * step) - 1, end)
        due = period_start + terms_days
        ids.invoice += 1
        roll = random_()
        if due < today - 45:
            paid = total if roll < 0.95 else 0
        elif due < today:
            paid = total if roll < 0.80 else (total // 2 if roll < 0.85 else 0)
        else:
            paid = total if roll < 0.20 else 0
        balance = total - paid
        status = "paid" if balance == 0 else ("partially_paid" if paid else "open")
        hold: tuple[Any, ...] = (None, None, None, None)
        if balance and due < today:
            hold_roll = random_()
            if hold_roll < 0.02:
                hold = ("promise", iso[today + 3 - below(7)], "Promised on a call", iso[today - 10])
            elif hold_roll < 0.03:
                hold = ("dispute", None, "Disputed quantity", iso[today - 20])
        opened = iso[period_start]
        invoices.append(
            (
                ids.invoice,
                f"INV-{opened[:4]}-{ids.invoice:08d}",
                client_id,
                cid,
                opened,
                iso[period_end],
                opened,
                iso[due],
                currency,
                net,
                tax,
                total,
                paid,
                0,
                0,
                balance,
                status,
                0,
                *hold,
                1,
                stamp,
                stamp,
            )
        )
        if paid:
            received = iso[min(today - 1, max(period_start, due + 10 - below(36)))]
            ids.payment += 1
            ids.allocation += 1
            payments.append(
                (
                    ids.payment,
                    client_id,
                    paid,
                    currency,
                    received,
                    "bank_transfer",
                    f"TT-{ids.payment}",
                    0,
                    False,
                    1,
                    stamp,
                    stamp,
                )
            )
            allocations.append((ids.allocation, ids.payment, ids.invoice, paid, received))


_COLUMNS = {
    "users": USER_COLUMNS,
    "clients": CLIENT_COLUMNS,
    "contracts": CONTRACT_COLUMNS,
    "contract_lines": LINE_COLUMNS,
    "invoices": INVOICE_COLUMNS,
    "payments": PAYMENT_COLUMNS,
    "allocations": ALLOCATION_COLUMNS,
    "renewals": RENEWAL_COLUMNS,
    "renewal_activities": ACTIVITY_COLUMNS,
}


Batches = Iterator[tuple[str, list[tuple[Any, ...]]]]
_DONE = ("", [])  # the end of the batches, on every writer's queue


class _Writers:
    """Threads that write batches while the caller's thread makes the next ones.

    `write(index, table, rows)` runs in writer `index`'s thread (one database connection each);
    each writer has a short queue, so memory stays at a few batches. The first error of any
    thread stops all of them and is raised by `run`."""

    def __init__(self, count: int, write: Callable[[int, str, list[tuple[Any, ...]]], None]) -> None:
        self._queues: list[Queue[tuple[str, list[tuple[Any, ...]]]]] = [Queue(maxsize=2) for _ in range(count)]
        self._write = write
        self._errors: list[BaseException] = []
        self.counts: dict[str, int] = {}

    def _drain(self, index: int) -> None:
        queue = self._queues[index]
        while True:
            table, rows = queue.get()
            if not table:
                return
            if self._errors:
                continue  # keep taking batches, so the producer is never stuck on a full queue
            try:
                self._write(index, table, rows)
            except BaseException as error:
                self._errors.append(error)

    def run(self, batches: Batches, writer_of: Callable[[str], int]) -> dict[str, int]:
        threads = [
            threading.Thread(target=self._drain, args=(i,), name=f"bench-writer-{i}", daemon=True)
            for i in range(len(self._queues))
        ]
        for thread in threads:
            thread.start()
        try:
            for table, rows in batches:
                if self._errors:
                    break
                if rows:
                    self.counts[table] = self.counts.get(table, 0) + len(rows)
                    self._queues[writer_of(table)].put((table, rows))
        finally:
            for queue in self._queues:
                queue.put(_DONE)
            for thread in threads:
                thread.join()
        if self._errors:
            raise self._errors[0]
        return self.counts


def _insert(table: str) -> str:
    columns = _COLUMNS[table]
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


def _load_sqlite(engine: Engine, batches: Batches) -> dict[str, int]:
    """One transaction on a connection with `foreign_keys` and `synchronous` off, the rollback
    journal in memory (as fast as none on a fresh file, and ROLLBACK still works) and a large
    page cache, `executemany` in a writer thread (sqlite3 lets go of the GIL while
    SQLite works, so the rows of the next batch are made meanwhile); the indexes that
    `CREATE INDEX` made (those whose `sql` is in `sqlite_master`) are dropped first and made
    again from that same text before the commit."""
    engine.dispose()  # idle pooled connections keep a WAL database from leaving WAL mode
    raw = engine.raw_connection()
    con: Any = raw.driver_connection
    try:
        for pragma in _SQLITE_LOAD:
            try:
                con.execute(pragma)
            except sqlite3.OperationalError:
                # Another connection (a caller's open session) has the file open in WAL mode,
                # where the journal cannot change: load in WAL, slower but the same book.
                if "journal_mode" not in pragma:
                    raise
        con.execute("BEGIN IMMEDIATE")
        rebuild = _sqlite_deferred(con, BOOK_TABLES)
        triggers = _sqlite_triggers(con, TRIGGER_TABLES)
        writers = _Writers(1, lambda _i, table, rows: con.executemany(_insert(table), rows))
        try:
            counts = writers.run(batches, lambda _table: 0)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        for statement in rebuild:
            con.execute(statement)
        for statement in _ledger_postings():
            con.execute(statement)
        for statement in triggers:
            con.execute(statement)
        con.execute("COMMIT")
        return counts
    finally:
        for pragma in _SQLITE_RESTORE:
            con.execute(pragma)
        raw.close()


# Which of the two PostgreSQL writers takes a table: about half the text each.
_PG_WRITER = {"invoices": 0, "allocations": 0, "renewals": 0}


def _load_postgresql(engine: Engine, batches: Batches) -> dict[str, int]:
    """`COPY … FROM STDIN` on two connections at once (one backend per core; each its own
    transaction, with `synchronous_commit` off), fed by this thread. Before, the tables' foreign
    keys and the indexes that back no constraint are dropped (and committed, so both writers see
    it); after, they are made again from `pg_get_indexdef` / `pg_get_constraintdef`, two at a
    time: an index built from sorted rows is far cheaper than one kept up to date row by row,
    and a foreign key is checked by one join instead of a trigger per row."""
    with engine.begin() as conn:
        cur: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        rebuild, constraints = _pg_deferred(cur, BOOK_TABLES)
        for table in TRIGGER_TABLES:
            cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    loaded = False
    try:
        raws = [engine.raw_connection() for _ in range(2)]
        try:
            for raw in raws:
                raw.driver_connection.execute("SET LOCAL synchronous_commit = off")  # type: ignore[union-attr]

            def copy(index: int, table: str, rows: list[tuple[Any, ...]]) -> None:
                con: Any = raws[index].driver_connection
                with con.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(_COLUMNS[table])}) FROM STDIN") as out:
                    for row in rows:
                        out.write_row(row)

            counts = _Writers(2, copy).run(batches, lambda table: _PG_WRITER.get(table, 1))
            for raw in raws:
                raw.commit()
        finally:
            for raw in raws:
                raw.close()  # rolls back what was not committed
        with engine.begin() as conn:
            for table in counts:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
        loaded = True
    finally:
        # Also after a failed load (as far as the rows allow): the schema must not stay without
        # its indexes and keys, and the load's own error is the one to see.
        with nullcontext() if loaded else suppress(Exception):
            _pg_run_parallel(engine, rebuild)
            _pg_run_parallel(engine, constraints)
            with engine.begin() as conn:
                for statement in _ledger_postings() if loaded else ():
                    conn.exec_driver_sql(statement)
                for table in TRIGGER_TABLES:
                    conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    return counts


# The migration that made the receivables ledger, whose triggers post every invoice, allocation,
# credit note and write-off as it is written: the load goes without them and the book is posted
# once afterwards by the migration's own statements (as it posted an existing book).
LEDGER_REVISION = "0011_receivables_ledger"
# Tables whose triggers wait for the end of the load: the book's, and the ledger's own (its
# changes fold into the totals by trigger, which the migration's statements do at once).
TRIGGER_TABLES = (*BOOK_TABLES, "receivable_changes")


def _ledger_postings() -> list[str]:
    """The statements that post a loaded book to the receivables ledger (changes, totals, sales)."""
    revision = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(LEDGER_REVISION)
    if revision is None:
        raise LookupError(f"migration {LEDGER_REVISION} not found")
    module = revision.module
    return [module.BACKFILL, module.BACKFILL_TOTALS, module.BACKFILL_SALES]


def _sqlite_triggers(con: Any, tables: Sequence[str]) -> list[str]:
    """Drop the triggers on the tables; return the statements that make them again."""
    marks = ", ".join("?" for _ in tables)
    found = con.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks}) ORDER BY name",
        tuple(tables),
    ).fetchall()
    for name, _ in found:
        con.execute(f'DROP TRIGGER "{name}"')
    return [sql for _, sql in found]


_SQLITE_LOAD = (
    "PRAGMA foreign_keys = OFF",
    "PRAGMA journal_mode = MEMORY",
    "PRAGMA synchronous = OFF",
    "PRAGMA cache_size = -400000",  # KiB: 400 MB of pages
    "PRAGMA temp_store = MEMORY",
)
# What `renewals.db.engine` sets on every connection, back before the connection returns to the pool.
_SQLITE_RESTORE = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA cache_size = -2000",
    "PRAGMA temp_store = DEFAULT",
)


def _sqlite_deferred(con: Any, tables: Sequence[str]) -> list[str]:
    """Drop the tables' `CREATE INDEX` indexes; return the statements that make them again."""
    marks = ", ".join("?" for _ in tables)
    found = con.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks}) "
        "ORDER BY name",
        tuple(tables),
    ).fetchall()
    for name, _ in found:
        con.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in found]


def _pg_deferred(cur: Any, tables: Sequence[str]) -> tuple[list[str], list[str]]:
    """Drop the tables' foreign keys and the indexes that back no constraint; return the
    statements that make them again (indexes, then foreign keys)."""
    cur.execute(
        "SELECT c.conrelid::regclass::text, quote_ident(c.conname), pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = ANY(%s::regclass[]) ORDER BY 1, 2",
        (list(tables),),
    )
    foreign = cur.fetchall()
    cur.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
        (list(tables),),
    )
    indexes = cur.fetchall()
    for table, name, _ in foreign:
        cur.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for name, _ in indexes:
        cur.execute(f"DROP INDEX {name}")
    return [sql for _, sql in indexes], [f"ALTER TABLE {t} ADD CONSTRAINT {n} {d}" for t, n, d in foreign]


def _pg_run_parallel(engine: Engine, statements: list[str], workers: int = 2) -> None:
    """Run independent DDL statements on `workers` connections at once (each its own transaction)."""
    pending = list(statements)
    lock = threading.Lock()

    def work() -> None:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("SET maintenance_work_mem = '256MB'")
            conn.exec_driver_sql("SET max_parallel_maintenance_workers = 0")
            while True:
                with lock:
                    if not pending:
                        return
                    statement = pending.pop(0)
                conn.exec_driver_sql(statement)

    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(work) for _ in range(workers)]:
            future.result()


def _pg_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")


def schema(engine: Engine) -> list[tuple[str, ...]]:
    """The schema's indexes, constraints and triggers as text, sorted (to compare two databases' schemas)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.exec_driver_sql(
                "SELECT 'index', tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "UNION ALL SELECT 'constraint', c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
                "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                "WHERE n.nspname = current_schema() "
                "UNION ALL SELECT 'trigger', t.tgrelid::regclass::text, t.tgname, t.tgenabled::text FROM pg_trigger t "
                "JOIN pg_class r ON r.oid = t.tgrelid JOIN pg_namespace n ON n.oid = r.relnamespace "
                "WHERE NOT t.tgisinternal AND n.nspname = current_schema()"
            ).all()
        else:
            rows = conn.exec_driver_sql("SELECT type, tbl_name, name, coalesce(sql, '') FROM sqlite_master").all()
    return sorted(tuple(str(v) for v in row) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=10_000)
    parser.add_argument("--book", choices=("full", "billing"), default="full")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="PostgreSQL server to create a throw-away database on")
    args = parser.parse_args()
    db = Database("postgresql" if args.database_url else "sqlite", args.database_url)
    try:
        with timed("generate", limit=False) as t:
            counts = generate(db.engine, args.contracts, book=args.book, seed=args.seed)
        total = sum(counts.values())
        server = f", PostgreSQL backends {t.server_cpu:.1f} s CPU" if t.server_cpu is not None else ""
        print(
            f"{db.dialect}: {total:,} rows in {t.wall:.1f} s ({total / t.wall:,.0f} rows/s; "
            f"this process {t.cpu:.1f} s CPU{server})"
        )
        for table, n in counts.items():
            print(f"  {table}: {n:,}")
    finally:
        db.close()


if __name__ == "__main__":
    main()
