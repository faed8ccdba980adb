"""Backtest of the cash-in forecast: forecast as of D, compare with what really came in.

    python -m bench.forecast [--contracts 2000] [--seed 1] [--database-url URL]

A book with two and a half years of history is generated (``history``: every billing period
invoiced, each invoice paid according to its client's habit: most on time, some late, a few
chronic, some partial payers who pay half at once and the rest a month later, everyone a little
later on December due dates, a few invoices never paid). Then, for several dates D (Mondays), the
real service forecasts as of D (point in time: it sees only what took effect by D) and the
forecast is compared, week by week over the next 13 ISO weeks, with the payments actually
received in each week. Reported per currency: MAE (mean absolute weekly error, in the currency)
and WAPE (Σ|forecast − actual| ÷ Σ actual) of the forecast (``expected``) against the naive
forecast at due dates (``by_due_date``), plus variants of the rule for comparison.
"""

from __future__ import annotations

import argparse
import os
import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from bench.common import Database
from bench.generate import (
    ALLOCATION_COLUMNS,
    CLIENT_COLUMNS,
    CONTRACT_COLUMNS,
    CURRENCIES,
    FIRST_ACCOUNT_MANAGER,
    INVOICE_COLUMNS,
    LINE_COLUMNS,
    PAYMENT_COLUMNS,
    STAMP,
    USER_COLUMNS,
    Writer,
    _weighted,
    add_months,
)
from renewals.db.models import Allocation, Invoice, Payment, User
from renewals.domain import money
from renewals.domain.receivables import cash_forecast as service
from renewals.domain.receivables.forecast import CashForecast, Receivable, forecast, iso_weeks, median_delay
from renewals.domain.receivables.reports import open_invoices

FIRST_START = date(2023, 7, 1)
END = date(2026, 6, 30)  # the book's last day: nothing is dated after it
DATES = (date(2025, 6, 2), date(2025, 9, 1), date(2025, 12, 1), date(2026, 3, 2))
WEEKS = 13
# habit: (name, mean delay, spread in days, weight in %)
HABITS = (("on_time", 0, 3, 65), ("late", 12, 5, 20), ("chronic", 50, 15, 7), ("partial", 5, 4, 8))
_HABIT_TABLE = _weighted(HABITS)
_CURRENCY_TABLE = _weighted(CURRENCIES)
CYCLES = (("monthly", 1, 60), ("quarterly", 3, 25), ("annual", 12, 15))
_CYCLE_TABLE = _weighted(CYCLES)
DECEMBER_EXTRA = 8  # days: year-end closing slows everyone down
NEVER_PAID = 0.01


@dataclass
class _Ids:
    line: int = 0
    invoice: int = 0
    payment: int = 0
    allocation: int = 0


def generate_history(engine: Engine, contracts: int, seed: int = 1) -> dict[str, int]:
    """Write the ``history`` book into an empty database; return rows per table."""
    rng = random.Random(seed)  # reproducible data, not security
    n_clients = max(3, contracts // 8)
    with engine.begin() as conn:
        out = Writer(conn)
        users = [(1, "admin@bench.test", "Admin", "admin"), (2, "manager@bench.test", "Manager", "manager")]
        users += [(3, "finance@bench.test", "Finance", "finance"), (4, "am0@bench.test", "AM", "account_manager")]
        out.write("users", USER_COLUMNS, [(*u, "x", True, STAMP, STAMP) for u in users])
        clients: list[tuple[str, tuple[Any, ...]]] = []
        client_rows = []
        for cid in range(1, n_clients + 1):
            currency, language, _ = _CURRENCY_TABLE[rng.randrange(100)]
            clients.append((currency, _HABIT_TABLE[rng.randrange(100)]))
            client_rows.append(
                (
                    cid,
                    f"Client {cid}",
                    f"Client {cid} Ltd.",
                    f"client{cid}ltd.",
                    "enterprise",
                    "medium",
                    language,
                    currency,
                    0,
                    FIRST_ACCOUNT_MANAGER,
                    "active",
                    "B",
                    1,
                    STAMP,
                    STAMP,
                )
            )
        out.write("clients", CLIENT_COLUMNS, client_rows)
        ids = _Ids()
        rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for contract_id in range(1, contracts + 1):
            client_id = 1 + rng.randrange(n_clients)
            _contract(rng, contract_id, client_id, *clients[client_id - 1], ids, rows)
        for table, columns in (
            ("contracts", CONTRACT_COLUMNS),
            ("contract_lines", LINE_COLUMNS),
            ("invoices", INVOICE_COLUMNS),
            ("payments", PAYMENT_COLUMNS),
            ("allocations", ALLOCATION_COLUMNS),
        ):
            out.write(table, columns, rows[table])
        out.fix_sequences()
        return dict(out.counts)


def _contract(
    rng: random.Random,
    contract_id: int,
    client_id: int,
    currency: str,
    habit: tuple[Any, ...],
    ids: _Ids,
    rows: dict[str, list[tuple[Any, ...]]],
) -> None:
    cycle, step, _ = _CYCLE_TABLE[rng.randrange(100)]
    start = FIRST_START + timedelta(days=rng.randrange((END - FIRST_START).days - 30))
    end = add_months(start, rng.choice((12, 24, 36))) - timedelta(days=1)
    terms = rng.choice((15, 30, 30, 45))
    quantity, price = rng.randint(1, 4), rng.randrange(1_000, 500_000)
    monthly = quantity * price
    status = "active" if end >= END else "expired"
    rows["contracts"].append(
        (
            contract_id,
            client_id,
            f"H-{contract_id:08d}",
            f"Capacity {contract_id}",
            "rental",
            start,
            end,
            cycle,
            currency,
            0,
            terms,
            60,
            False,
            12,
            0,
            status,
            monthly,
            1,
            STAMP,
            STAMP,
        )
    )
    ids.line += 1
    rows["contract_lines"].append((ids.line, contract_id, 0, "Rack unit", quantity * 10_000, price))
    total = monthly * step
    k = 0
    while (period_start := add_months(start, k * step)) <= min(end, END):
        k += 1
        period_end = min(add_months(start, k * step) - timedelta(days=1), end)
        # A cut last period is prorated by days, as the billing run would.
        full_days = (add_months(start, k * step) - period_start).days
        amount = total * ((period_end - period_start).days + 1) // full_days
        due = period_start + timedelta(days=terms)
        ids.invoice += 1
        payments = _payments(rng, habit, due, amount)
        paid = sum(a for day, a in payments if day <= END)
        balance = amount - paid
        state = "paid" if balance == 0 else ("partially_paid" if paid else "open")
        rows["invoices"].append(
            (
                ids.invoice,
                f"INV-{period_start.year}-{ids.invoice:08d}",
                client_id,
                contract_id,
                period_start,
                period_end,
                period_start,
                due,
                currency,
                amount,
                0,
                amount,
                paid,
                0,
                0,
                balance,
                state,
                0,
                None,
                None,
                None,
                None,
                1,
                STAMP,
                STAMP,
            )
        )
        for day, part in payments:
            if day > END:
                continue
            ids.payment += 1
            ids.allocation += 1
            rows["payments"].append(
                (
                    ids.payment,
                    client_id,
                    part,
                    currency,
                    day,
                    "bank_transfer",
                    f"TT-{ids.payment}",
                    0,
                    False,
                    1,
                    STAMP,
                    STAMP,
                )
            )
            rows["allocations"].append((ids.allocation, ids.payment, ids.invoice, part, day))


def _payments(rng: random.Random, habit: tuple[Any, ...], due: date, amount: int) -> list[tuple[date, int]]:
    """When and how much the client pays of one invoice, by its habit."""
    name, mean, spread, _ = habit
    if rng.random() < NEVER_PAID:
        return []
    delay = round(rng.gauss(mean, spread)) + (DECEMBER_EXTRA if due.month == 12 else 0)
    if name == "on_time":
        delay = max(-5, delay)
    first = due + timedelta(days=delay)
    if name == "partial":
        half = amount // 2
        return [(first, half), (first + timedelta(days=30 + rng.randrange(10)), amount - half)]
    return [(first, amount)]


# --- the backtest ----------------------------------------------------------------------------------


def received(engine: Engine, start: date, end: date) -> dict[str, dict[date, Decimal]]:
    """Payments received per currency and ISO week (keyed by its Monday) in ``start`` … ``end``."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Payment.currency, Payment.received_on, func.sum(Payment.amount_minor))
            .where(Payment.received_on >= start, Payment.received_on <= end)
            .group_by(Payment.currency, Payment.received_on)
        ).all()
    out: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for currency, day, minor in rows:
        monday = day - timedelta(days=day.weekday())
        out[currency][monday] += money.from_minor(int(minor), currency)
    return out


Rule = Callable[[Sequence[int]], int]


def _mean_delay(delays: Sequence[int]) -> int:
    recent = delays[:12]
    return round(sum(recent) / len(recent)) if len(recent) >= 3 else 0


RULES: dict[str, Rule] = {
    "median of last 12 (pinned)": median_delay,
    "mean of last 12": _mean_delay,
    "median of last 6": lambda delays: median_delay(delays[:6]),
}


@dataclass(frozen=True)
class Habit:
    """How a client pays: the share of an invoice paid on the first day, that day's delay, the full delay."""

    first_share: float
    first_delay: int
    full_delay: int


def habits(session: Session, as_of: date) -> dict[int, Habit]:
    """Per client, from its last 12 invoices fully paid by ``as_of``: median first-day share and delays."""
    live = (Allocation.applied_on <= as_of) & or_(Allocation.reversed_on.is_(None), Allocation.reversed_on > as_of)
    rows = session.execute(
        select(Invoice.id, Invoice.client_id, Invoice.due_date, Invoice.total_minor, Allocation.applied_on)
        .add_columns(Allocation.amount_minor)
        .join(Allocation, Allocation.invoice_id == Invoice.id)
        .where(live, Invoice.issue_date <= as_of)
        .order_by(Invoice.client_id, Invoice.id, Allocation.applied_on)
    ).all()
    paid: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        paid[r.id].append(r)
    per_client: dict[int, list[tuple[date, float, int, int]]] = defaultdict(list)
    for parts in paid.values():
        head = parts[0]
        if sum(p.amount_minor for p in parts) < head.total_minor:
            continue  # not fully paid yet
        first_day = parts[0].applied_on
        share = sum(p.amount_minor for p in parts if p.applied_on == first_day) / head.total_minor
        last_day = parts[-1].applied_on
        per_client[head.client_id].append(
            (last_day, share, (first_day - head.due_date).days, (last_day - head.due_date).days)
        )
    out = {}
    for client, invoices in per_client.items():
        recent = sorted(invoices, reverse=True)[:12]
        if len(recent) < 3:
            continue
        shares = sorted(x[1] for x in recent)
        out[client] = Habit(
            shares[len(shares) // 2], median_delay([x[2] for x in recent]), median_delay([x[3] for x in recent])
        )
    return out


def split_by_habit(session: Session, as_of: date, through: date) -> list[Receivable]:
    """The receivables with each client's first part shifted by the first-day delay and the rest by the full one."""
    known = habits(session, as_of)
    inv = open_invoices(as_of)
    rows = session.execute(
        select(inv.c.client_id, inv.c.currency, inv.c.due_date, inv.c.open_minor, Invoice.total_minor)
        .join(Invoice, Invoice.id == inv.c.invoice_id)
        .where(inv.c.open_minor > 0)
    ).all()
    finance = session.get_one(User, 3)
    pending = [(r.client_id, r.currency, r.due_date, r.open_minor, r.total_minor) for r in rows]
    for item in service.scheduled_receivables(session, finance, as_of, through):
        minor = money.to_minor(item.amount, item.currency)
        pending.append((item.client_id, item.currency, item.due_date, minor, minor))
    out: list[Receivable] = []
    for client_id, currency, due, open_minor, total_minor in pending:
        habit = known.get(client_id, Habit(1.0, 0, 0))
        late = timedelta(days=habit.full_delay)
        if open_minor == total_minor and habit.first_share < 0.95:
            first = round(open_minor * habit.first_share)
            out.append(
                Receivable(
                    client_id, currency, due + timedelta(days=habit.first_delay), money.from_minor(first, currency)
                )
            )
            open_minor -= first
        out.append(Receivable(client_id, currency, due + late, money.from_minor(open_minor, currency)))
    return out


@dataclass
class Errors:
    abs_error: Decimal = Decimal(0)
    actual: Decimal = Decimal(0)
    weeks: int = 0

    def add(self, forecast_: Decimal, actual: Decimal) -> None:
        self.abs_error += abs(forecast_ - actual)
        self.actual += actual
        self.weeks += 1

    @property
    def mae(self) -> Decimal:
        return self.abs_error / self.weeks if self.weeks else Decimal(0)

    @property
    def wape(self) -> float:
        return float(self.abs_error / self.actual) if self.actual else 0.0


def backtest(db: Database, dates: Sequence[date] = DATES) -> dict[str, dict[str, Errors]]:
    """Per currency and forecast (by_due_date, each rule), the weekly errors over all dates."""
    errors: dict[str, dict[str, Errors]] = defaultdict(lambda: defaultdict(Errors))
    for as_of in dates:
        grid = iso_weeks(as_of, WEEKS)
        actual = received(db.engine, as_of, grid[-1].end)
        with db.unit() as session:
            finance = session.get_one(User, 3)
            served: CashForecast = service.cash_forecast(session, finance, as_of, WEEKS)
            items: list[Receivable] = [
                *service.open_receivables(session, finance, as_of),
                *service.scheduled_receivables(session, finance, as_of, grid[-1].end),
            ]
            history = service.paid_delays(session, finance, as_of)
            split = split_by_habit(session, as_of, grid[-1].end)
        variants = {"by_due_date": {c.currency: [w.by_due_date for w in c.weeks] for c in served.currencies}}
        variants["expected (service)"] = {c.currency: [w.expected for w in c.weeks] for c in served.currencies}
        for name, rule in RULES.items():
            delays = {client: rule(days) for client, days in history.items()}
            variants[name] = _weekly(forecast(as_of, WEEKS, items, delays))
        variants["split by habit (first part, rest)"] = _weekly(forecast(as_of, WEEKS, split, {}))
        for currency in sorted(set(actual) | set(variants["by_due_date"])):
            for name, weekly in variants.items():
                values = weekly.get(currency, [Decimal(0)] * WEEKS)
                for week, value in zip(grid, values, strict=True):
                    errors[currency][name].add(value, actual.get(currency, {}).get(week.start, Decimal(0)))
    return errors


def _weekly(result: CashForecast) -> dict[str, list[Decimal]]:
    return {c.currency: [w.expected for w in c.weeks] for c in result.currencies}


def report(errors: Mapping[str, Mapping[str, Errors]]) -> str:
    lines = ["| currency | forecast | weekly MAE | WAPE |", "| --- | --- | ---: | ---: |"]
    for currency, by_rule in sorted(errors.items()):
        for name, e in by_rule.items():
            mae = money.round_money(e.mae, currency)
            lines.append(f"| {currency} | {name} | {mae:,} | {e.wape:.1%} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="PostgreSQL server to create a throw-away database on")
    args = parser.parse_args()
    db = Database("postgresql" if args.database_url else "sqlite", args.database_url)
    try:
        counts = generate_history(db.engine, args.contracts, args.seed)
        db.analyze()
        print(f"{db.version()}: history book {counts}")
        print(f"forecast as of {', '.join(d.isoformat() for d in DATES)}; {WEEKS} weeks each")
        print(report(backtest(db)))
        print("load average: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    finally:
        db.close()


if __name__ == "__main__":
    main()
