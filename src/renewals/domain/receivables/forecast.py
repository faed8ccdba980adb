"""The cash-in forecast rule. Pure: receivables and payment habits in, weekly expectations out.

Each receivable (an open invoice's balance, or an invoice the billing schedule will issue) is
expected on its due date plus its client's own delay: the median of ``date fully paid − due
date`` over the client's last 12 fully paid invoices, 0 when it has fewer than 3 (too little
history to tell a habit from an accident). An even count takes the mean of the two middle
delays, rounded half-up to a whole day.

Weeks are ISO weeks, Monday to Sunday, the first one holding ``as_of``. A receivable whose
expected date is before ``as_of`` is ``overdue`` (already past the date it should have come
in); one on hold is ``held``; both are listed apart from the weeks. ``by_due_date`` is the same
sum with no delay applied: what the naive forecast would say. Currencies are never summed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from math import floor
from typing import NamedTuple

import msgspec

from renewals.domain.money import round_money
from renewals.errors import ValidationFailed

DEFAULT_WEEKS = 13
MAX_WEEKS = 104
HISTORY = 12  # fully paid invoices that make a client's habit
MIN_HISTORY = 3  # fewer than this: no habit, delay 0
_WEEK = timedelta(days=7)


class Week(NamedTuple):
    start: date
    end: date


class Receivable(NamedTuple):
    """Money a client owes or will owe: ``amount`` in ``currency``, due on ``due_date``."""

    client_id: int
    currency: str
    due_date: date
    amount: Decimal
    held: bool = False


class ForecastWeekOut(msgspec.Struct):
    start: date
    end: date


class CurrencyWeek(msgspec.Struct):
    start: date
    expected: Decimal
    """Receipts expected in the week: due dates shifted by each client's own delay."""
    by_due_date: Decimal
    """The same receivables with no delay applied."""


class CurrencyForecast(msgspec.Struct):
    currency: str
    weeks: list[CurrencyWeek]
    overdue: Decimal
    """Open balances already past the date they were expected (due date + the client's delay)."""
    held: Decimal
    """Open balances on hold (disputed, or promised by a date): not forecast."""


class CashForecast(msgspec.Struct):
    as_of: date
    weeks: list[ForecastWeekOut]
    currencies: list[CurrencyForecast]


def check_weeks(weeks: int) -> int:
    """Return the horizon in weeks; raise ValidationFailed naming `weeks` outside 1..104."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValidationFailed("weeks", f"must be between 1 and {MAX_WEEKS}", source="query")
    return weeks


def iso_weeks(as_of: date, count: int) -> list[Week]:
    """Return ``count`` ISO weeks (Monday to Sunday), the first one holding ``as_of``."""
    monday = as_of - timedelta(days=as_of.weekday())
    return [Week(monday + i * _WEEK, monday + i * _WEEK + timedelta(days=6)) for i in range(count)]


def median_delay(delays: Sequence[int]) -> int:
    """Return the client's delay in days from its latest fully paid invoices (any order).

    0 with fewer than ``MIN_HISTORY``; only the first ``HISTORY`` given count, so callers pass
    them most recent first. An even count averages the two middle values, half-up.
    """
    recent = sorted(delays[:HISTORY])
    n = len(recent)
    if n < MIN_HISTORY:
        return 0
    if n % 2:
        return recent[n // 2]
    return floor((recent[n // 2 - 1] + recent[n // 2]) / 2 + 0.5)


def forecast(
    as_of: date,
    weeks: int,
    receivables: Iterable[Receivable],
    delays: Mapping[int, int],
) -> CashForecast:
    """Spread receivables over the ISO weeks from ``as_of``, per currency.

    ``delays`` maps a client id to its delay in days (missing: 0). A receivable expected after
    the last week is beyond the horizon and left out. Currencies come in code order; a currency
    appears when it has anything to show (an amount in a week, overdue or held).
    """
    grid = iso_weeks(as_of, check_weeks(weeks))
    first, last = as_of, grid[-1].end
    expected: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * len(grid))
    naive: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * len(grid))
    overdue: dict[str, Decimal] = defaultdict(Decimal)
    held: dict[str, Decimal] = defaultdict(Decimal)
    start = grid[0].start

    def week_of(day: date) -> int:
        return (day - start).days // 7

    seen: set[str] = set()
    for item in receivables:
        cur = item.currency
        if item.held:
            held[cur] += item.amount
            seen.add(cur)
            continue
        when = item.due_date + timedelta(days=delays.get(item.client_id, 0))
        if when < first:
            overdue[cur] += item.amount
            seen.add(cur)
        elif when <= last:
            expected[cur][week_of(when)] += item.amount
            seen.add(cur)
        if first <= item.due_date <= last:
            naive[cur][week_of(item.due_date)] += item.amount
            seen.add(cur)
    currencies = []
    for cur in sorted(seen):
        currencies.append(
            CurrencyForecast(
                currency=cur,
                weeks=[
                    CurrencyWeek(
                        start=w.start,
                        expected=round_money(expected[cur][i], cur),
                        by_due_date=round_money(naive[cur][i], cur),
                    )
                    for i, w in enumerate(grid)
                ],
                overdue=round_money(overdue[cur], cur),
                held=round_money(held[cur], cur),
            )
        )
    return CashForecast(as_of=as_of, weeks=[ForecastWeekOut(w.start, w.end) for w in grid], currencies=currencies)
