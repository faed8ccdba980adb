"""Billing schedules and period amounts for a contract term.

Billing is in advance, one invoice per period. Period k starts at ``start + k × cycle`` months,
computed from the start date each time (never from the previous period), with end-of-month
clamping: a monthly contract starting 31 January bills on 31 Jan, 29 Feb 2024 (28 Feb 2025),
31 Mar, 30 Apr … and never drifts to the 28th.

A period ends the day before the next one starts, or earlier when it is cut by the contract's
end date (inclusive) or by a termination's effective date (billing stops after that day).

A cut period is prorated by days::

    months = cycle_months × days_billed / days_in_the_full_period

where the full period is the one the cut period would have been had it not been cut (its start
up to the day before the next anchored start). A term that ends the day before a period
boundary therefore has no partial period at all.

Line amounts are computed from the exact ratio (not from a rounded ``months``) and rounded
half-up to the currency's minor unit once per line; tax is rounded once on the net.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import NamedTuple

from dateutil.relativedelta import relativedelta

from renewals.domain.money import check_currency, decimals, round_money
from renewals.errors import ValidationFailed

CYCLE_MONTHS: dict[str, int] = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
_ONE_DAY = timedelta(days=1)
_HUNDRED = Decimal(100)


class Line(NamedTuple):
    """A contract line; any ``(description, quantity, monthly_unit_price)`` tuple will do."""

    description: str
    quantity: Decimal
    monthly_unit_price: Decimal


@dataclass(frozen=True)
class Period:
    """One billing period: ``start`` to ``end`` inclusive, worth ``months`` months of the lines.

    ``months`` is the cycle length for a full period and a prorated fraction for a cut one.
    ``months_exact`` keeps the unrounded ratio so that amounts do not inherit Decimal's
    rounding of e.g. 3 × 10/91; it defaults to ``months`` when a caller builds a Period itself.
    """

    index: int
    start: date
    end: date
    months: Decimal
    months_exact: Fraction | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.months_exact is None:
            object.__setattr__(self, "months_exact", Fraction(self.months))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def ratio(self) -> Fraction:
        """The exact number of months this period is worth."""
        return self.months_exact if self.months_exact is not None else Fraction(self.months)


@dataclass(frozen=True)
class LineAmount:
    description: str
    quantity: Decimal
    monthly_unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class PeriodAmount:
    net: Decimal
    tax: Decimal
    total: Decimal
    lines: list[LineAmount]


def cycle_months(cycle: str) -> int:
    """Return the cycle's length in months; raise ValidationFailed on an unknown cycle."""
    try:
        return CYCLE_MONTHS[cycle]
    except KeyError:
        allowed = ", ".join(CYCLE_MONTHS)
        message = f"unknown billing cycle {cycle!r}; use one of {allowed}"
        raise ValidationFailed("billing_cycle", message) from None


def add_months(anchor: date, months: int) -> date:
    """Add months to an anchor date, clamping to the month's last day (31 Jan + 1 → 29 Feb 2024)."""
    result: date = anchor + relativedelta(months=months)
    return result


def billing_periods(
    start: date, end: date, cycle: str, stop: date | None = None, *, first_index: int = 0
) -> list[Period]:
    """Split the term ``start``..``end`` (inclusive) into billing periods.

    ``stop`` is a termination's effective date: it is the last day billed, periods starting after
    it are dropped and the one containing it is cut and prorated. A stop before ``start`` leaves
    nothing to bill; a stop on or after ``end`` changes nothing. ``first_index`` skips the
    periods before it (those already invoiced), without computing them.

    Raise ValidationFailed when the cycle is unknown or the term ends before it starts.
    """
    step = cycle_months(cycle)
    if end < start:
        raise ValidationFailed("end_date", "must not be before start_date")
    last_day = end if stop is None else min(end, stop)
    periods: list[Period] = []
    k = first_index
    period_start = add_months(start, k * step)
    while period_start <= last_day:
        next_start = add_months(start, (k + 1) * step)
        full_end = next_start - _ONE_DAY
        period_end = min(full_end, last_day)
        if period_end == full_end:
            exact = Fraction(step)
            months = Decimal(step)
        else:
            billed_days = (period_end - period_start).days + 1
            full_days = (next_start - period_start).days
            exact = Fraction(step * billed_days, full_days)
            months = Decimal(step * billed_days) / Decimal(full_days)
        periods.append(Period(k, period_start, period_end, months, exact))
        k += 1
        period_start = next_start
    return periods


def _round_half_up(value: Fraction, currency: str) -> Decimal:
    """Round an exact value half-up (away from zero, like ROUND_HALF_UP) to the minor unit."""
    places = decimals(currency)
    scaled = abs(value) * 10**places
    minor = floor(scaled + Fraction(1, 2))
    signed = -minor if value < 0 else minor
    return Decimal(signed).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def line_amount(quantity: Decimal, monthly_unit_price: Decimal, period: Period, currency: str) -> Decimal:
    """Return quantity × monthly unit price × the period's months, rounded half-up to the minor unit."""
    exact = Fraction(quantity) * Fraction(monthly_unit_price) * period.ratio
    return _round_half_up(exact, currency)


def period_amounts(
    lines: Iterable[tuple[str, Decimal, Decimal]],
    period: Period,
    currency: str,
    tax_rate: Decimal,
) -> PeriodAmount:
    """Price one period: round each line to the minor unit, sum to net, then tax the net once.

    ``tax_rate`` is a percentage (``Decimal("6")`` is 6 %). Rounding per line keeps each printed
    invoice line consistent with the net it sums to. Raise ValidationFailed on an unknown currency.
    """
    check_currency(currency)
    priced = [
        LineAmount(description, quantity, price, line_amount(quantity, price, period, currency))
        for description, quantity, price in lines
    ]
    net = round_money(sum((p.amount for p in priced), Decimal(0)), currency)
    tax = round_money(net * tax_rate / _HUNDRED, currency)
    return PeriodAmount(net=net, tax=tax, total=net + tax, lines=priced)


def contract_value(
    lines: Iterable[tuple[str, Decimal, Decimal]],
    start: date,
    end: date,
    cycle: str,
    currency: str,
    *,
    stop: date | None = None,
) -> Decimal:
    """Return the term's net value: what its invoices will add up to, before tax."""
    materialised = list(lines)
    total = Decimal(0)
    for period in billing_periods(start, end, cycle, stop):
        total += period_amounts(materialised, period, currency, Decimal(0)).net
    return round_money(total, currency)


def monthly_value(lines: Iterable[tuple[str, Decimal, Decimal]]) -> Decimal:
    """Return Σ quantity × monthly unit price, unrounded."""
    return sum((quantity * price for _, quantity, price in lines), Decimal(0))


def annual_value(lines: Iterable[tuple[str, Decimal, Decimal]]) -> Decimal:
    """Return 12 × the monthly value, unrounded: the yardstick for ABC tiers, whatever the term."""
    return 12 * monthly_value(lines)
