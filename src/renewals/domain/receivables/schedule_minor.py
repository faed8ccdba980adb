"""The billing schedule in integers: the same periods and figures as `schedule`, for bulk billing.

`schedule` is the definition (Decimal amounts, Fraction ratios, one Period object per period);
the billing run issues hundreds of thousands of invoices, so it prices them here in integer
minor units and plain dates instead, and a property test holds the two to exactly the same
figures. The arithmetic, with quantities and tax rates as stored (scaled by 10^4) and prices in
minor units::

    line amount = round_half_up(q4 × price × cycle × billed days / (10^4 × full days))
    tax         = round_half_up(net × tax4 / 10^6)          (tax4 = percent × 10^4)
    months (6 decimals, shown on the line) = round_half_even(cycle × billed × 10^6 / full)

where a whole period has billed = full days, so its months are exactly the cycle. Half-up is
away from zero, as `ROUND_HALF_UP`; the months' half-even is what `Decimal.quantize` does with the
default context, and no 28-digit rounding comes first because the exact value is never that
close to a tie.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import NamedTuple

SCALE4 = 10_000  # quantities and tax rates are stored with 4 decimals
_MONTHS_SCALE = 1_000_000  # an invoice line's months are stored with 6 decimals
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_ONE_DAY = timedelta(days=1)


# One billing period: (start, end, days billed, days of the full period); whole when the two agree.
MinorPeriod = tuple[date, date, int, int]


class MinorPrice(NamedTuple):
    """One period's figures in minor units: each line's amount, the net, the tax and the total."""

    line_amounts: tuple[int, ...]
    net: int
    tax: int
    total: int
    months6: int


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator (denominator > 0) rounded half away from zero."""
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((-2 * numerator + denominator) // (2 * denominator))


def round_half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator (both > 0 or numerator 0) rounded half to even."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        return quotient + 1
    return quotient


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def add_months(anchor: date, months: int) -> date:
    """`schedule.add_months` without dateutil: the same day, clamped to the month's last day."""
    year, month0 = divmod(anchor.year * 12 + anchor.month - 1 + months, 12)
    last = 29 if month0 == 1 and _is_leap(year) else _DAYS_IN_MONTH[month0]
    day = anchor.day
    return date(year, month0 + 1, day if day <= last else last)


def periods(
    start: date, end: date, step: int, stop: date | None, through: date, first_index: int = 0
) -> list[MinorPeriod]:
    """The periods of `schedule.billing_periods(start, end, cycle, stop)` from `first_index` on
    whose start is on or before `through`, with `step` the cycle's months. The term is assumed
    valid (end on or after start), as stored contracts are. Plain tuples: a run makes millions."""
    last_day = end if stop is None else min(end, stop)
    limit = through if through < last_day else last_day
    k = first_index
    period_start = add_months(start, k * step)
    found: list[MinorPeriod] = []
    while period_start <= limit:
        k += 1
        next_start = add_months(start, k * step)
        full_days = (next_start - period_start).days
        if next_start <= last_day:  # the period ends before the term does: whole
            found.append((period_start, next_start - _ONE_DAY, full_days, full_days))
        else:
            found.append((period_start, last_day, (last_day - period_start).days + 1, full_days))
        period_start = next_start
    return found


def price(lines: Sequence[tuple[int, int]], step: int, billed_days: int, full_days: int, tax4: int) -> MinorPrice:
    """Price a period of `step` months of which `billed_days` of `full_days` are billed; `lines`
    are ``(quantity × 10^4, monthly unit price in minor units)``, `tax4` the tax percentage × 10^4."""
    denominator = SCALE4 * full_days
    factor = step * billed_days
    amounts = tuple([round_half_up(q4 * unit * factor, denominator) for q4, unit in lines])
    net = sum(amounts)
    tax = round_half_up(net * tax4, SCALE4 * 100)
    whole = billed_days == full_days
    months6 = step * _MONTHS_SCALE if whole else round_half_even(factor * _MONTHS_SCALE, full_days)
    return MinorPrice(amounts, net, tax, net + tax, months6)
