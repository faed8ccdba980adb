"""A fast, reproducible book of clients, contracts, invoices and payments for the benchmarks.

    python -m bench.generate --contracts 100000 [--book full|billing] [--database-url URL]

Rows are made in plain Python from one seeded `random.Random` (the same seed gives the same
book on either database) and written in batches straight through the driver: `COPY … FROM
STDIN` on PostgreSQL, `executemany` on SQLite. The services are not used: they would dominate
the time and the point here is a big, plausible book quickly. Two books:

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
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Date, DateTime, Engine, text

from bench.common import AS_OF, Database
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


class _Ids:
    def __init__(self) -> None:
        self.line = self.invoice = self.payment = self.allocation = self.renewal = self.activity = 0


def generate(engine: Engine, contracts: int, *, book: str = "full", seed: int = 1) -> dict[str, int]:
    """Write a book of `contracts` contracts into an empty database; return rows per table."""
    if book not in ("full", "billing"):
        raise ValueError(f"unknown book {book!r}: full or billing")
    rng = random.Random(seed)  # reproducible data, not security
    n_clients = max(1, contracts // 8)
    n_managers = account_managers(contracts)
    with engine.begin() as conn:
        out = Writer(conn)
        users = [
            (1, "admin@bench.test", "Admin", "admin"),
            (2, "manager@bench.test", "Manager", "manager"),
            (3, "finance@bench.test", "Finance", "finance"),
        ]
        users += [
            (FIRST_ACCOUNT_MANAGER + i, f"am{i}@bench.test", f"Account Manager {i}", "account_manager")
            for i in range(n_managers)
        ]
        out.write("users", USER_COLUMNS, [(*u, "x", True, STAMP, STAMP) for u in users])
        clients: list[tuple[str, int]] = []  # (currency, owner) by client id - 1
        rows: list[tuple[Any, ...]] = []
        for cid in range(1, n_clients + 1):
            currency, language, _ = _CURRENCY_TABLE[rng.randrange(100)]
            owner = FIRST_ACCOUNT_MANAGER + rng.randrange(n_managers)
            # One client in five has a credit limit; a few of them owe more than it.
            limit = rng.choice((500_000, 2_000_000, 10_000_000)) if rng.random() < 0.2 else 0
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
                    STAMP,
                    STAMP,
                )
            )
            if len(rows) >= BATCH:
                out.write("clients", CLIENT_COLUMNS, rows)
                rows = []
        out.write("clients", CLIENT_COLUMNS, rows)
        ids = _Ids()
        for low in range(1, contracts + 1, BATCH):
            _batch(out, rng, range(low, min(low + BATCH, contracts + 1)), clients, book, ids)
        out.fix_sequences()
        return dict(out.counts)


def _batch(
    out: Writer,
    rng: random.Random,
    contract_ids: Iterable[int],
    clients: list[tuple[str, int]],
    book: str,
    ids: _Ids,
) -> None:
    contracts: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    invoices: list[tuple[Any, ...]] = []
    payments: list[tuple[Any, ...]] = []
    allocations: list[tuple[Any, ...]] = []
    renewals: list[tuple[Any, ...]] = []
    activities: list[tuple[Any, ...]] = []
    one_day = timedelta(days=1)
    for cid in contract_ids:
        client_id = 1 + rng.randrange(len(clients))
        currency, owner = clients[client_id - 1]
        cycle, step, _ = _CYCLE_TABLE[rng.randrange(100)]
        term = rng.choice((12, 24, 36, 60))
        status = "active"
        if book == "billing":
            start = AS_OF - timedelta(days=rng.randrange(150))
            end = add_months(start, term) - one_day
        else:
            if rng.random() < 0.08:
                status, end = "expired", AS_OF - timedelta(days=rng.randint(31, 400))
            else:
                end = AS_OF + timedelta(days=rng.randrange(-1, 1100))
            start = add_months(end + one_day, -term)
        terms_days = rng.choice((15, 30, 30, 45))
        auto_renew = rng.random() < 0.3
        monthly = 0
        for pos in range(rng.randint(1, 3)):
            ids.line += 1
            quantity = rng.randint(1, 4)
            price = rng.randrange(1_000, 500_000)
            monthly += quantity * price
            # quantity is stored scaled by 10^4 (Scaled(4)).
            lines.append((ids.line, cid, pos, f"Rack unit {pos + 1}", quantity * 10_000, price))
        contracts.append(
            (
                cid,
                client_id,
                f"B-{cid:08d}",
                f"Capacity {cid}",
                "rental",
                start,
                end,
                cycle,
                currency,
                60_000,
                terms_days,
                rng.choice((30, 60, 90)),
                auto_renew,
                12,
                30_000,
                status,
                monthly,
                1,
                STAMP,
                STAMP,
            )
        )
        if book == "billing":
            continue
        if status == "active" and end <= AS_OF + timedelta(days=HORIZON_DAYS):
            ids.renewal += 1
            state = "upcoming" if end < AS_OF else _STATE_TABLE[rng.randrange(100)][0]
            renewals.append((ids.renewal, cid, owner, state, end, None, False, 1, STAMP, STAMP))
            if rng.random() < 0.3:
                ids.activity += 1
                at = datetime.combine(AS_OF - timedelta(days=rng.randint(1, 20)), datetime.min.time(), UTC)
                follow_up = AS_OF + timedelta(days=rng.randint(-8, 10))
                activities.append((ids.activity, ids.renewal, "call", owner, at, "Called the client", follow_up))
        _invoices(
            rng, cid, client_id, currency, start, end, step, terms_days, monthly, ids, invoices, payments, allocations
        )
    out.write("contracts", CONTRACT_COLUMNS, contracts)
    out.write("contract_lines", LINE_COLUMNS, lines)
    out.write("invoices", INVOICE_COLUMNS, invoices)
    out.write("payments", PAYMENT_COLUMNS, payments)
    out.write("allocations", ALLOCATION_COLUMNS, allocations)
    out.write("renewals", RENEWAL_COLUMNS, renewals)
    out.write("renewal_activities", ACTIVITY_COLUMNS, activities)


def _invoices(
    rng: random.Random,
    cid: int,
    client_id: int,
    currency: str,
    start: date,
    end: date,
    step: int,
    terms_days: int,
    monthly: int,
    ids: _Ids,
    invoices: list[tuple[Any, ...]],
    payments: list[tuple[Any, ...]],
    allocations: list[tuple[Any, ...]],
) -> None:
    """The contract's invoices for billing periods starting in the window before AS_OF."""
    window_start = AS_OF - timedelta(days=INVOICE_WINDOW_DAYS)
    k = max(0, _months_between(start, window_start) // step - 1)
    net = monthly * step
    tax = (net * 6 + 50) // 100
    total = net + tax
    last = min(AS_OF, end)
    while True:
        period_start = add_months(start, k * step)
        if period_start > last:
            return
        k += 1
        if period_start <= window_start:
            continue
        period_end = min(add_months(start, k * step) - timedelta(days=1), end)
        due = period_start + timedelta(days=terms_days)
        ids.invoice += 1
        roll = rng.random()
        if due < AS_OF - timedelta(days=45):
            paid = total if roll < 0.95 else 0
        elif due < AS_OF:
            paid = total if roll < 0.80 else (total // 2 if roll < 0.85 else 0)
        else:
            paid = total if roll < 0.20 else 0
        balance = total - paid
        status = "paid" if balance == 0 else ("partially_paid" if paid else "open")
        hold: tuple[Any, ...] = (None, None, None, None)
        if balance and due < AS_OF:
            hold_roll = rng.random()
            if hold_roll < 0.02:
                hold = (
                    "promise",
                    AS_OF - timedelta(days=rng.randint(-3, 3)),
                    "Promised on a call",
                    AS_OF - timedelta(days=10),
                )
            elif hold_roll < 0.03:
                hold = ("dispute", None, "Disputed quantity", AS_OF - timedelta(days=20))
        invoices.append(
            (
                ids.invoice,
                f"INV-{period_start.year}-{ids.invoice:08d}",
                client_id,
                cid,
                period_start,
                period_end,
                period_start,
                due,
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
                STAMP,
                STAMP,
            )
        )
        if paid:
            received = min(AS_OF - timedelta(days=1), max(period_start, due - timedelta(days=rng.randint(-10, 25))))
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
                    STAMP,
                    STAMP,
                )
            )
            allocations.append((ids.allocation, ids.payment, ids.invoice, paid, received))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=10_000)
    parser.add_argument("--book", choices=("full", "billing"), default="full")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="PostgreSQL server to create a throw-away database on")
    args = parser.parse_args()
    db = Database("postgresql" if args.database_url else "sqlite", args.database_url)
    try:
        started = time.perf_counter()
        counts = generate(db.engine, args.contracts, book=args.book, seed=args.seed)
        elapsed = time.perf_counter() - started
        total = sum(counts.values())
        print(f"{db.dialect}: {total:,} rows in {elapsed:.1f} s ({total / elapsed:,.0f} rows/s)")
        for table, n in counts.items():
            print(f"  {table}: {n:,}")
    finally:
        db.close()


if __name__ == "__main__":
    main()
