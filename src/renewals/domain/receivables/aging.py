"""Aging buckets, days past due and DSO.

Buckets are described by their upper bounds in days past due, as in ``RENEWALS_AGING_BUCKETS``:
``(0, 30, 60, 90, 180)`` means ``current`` (≤ 0 days: not yet due, or due today), ``1-30``,
``31-60``, ``61-90``, ``91-180`` and ``180+`` (181 days and more). Every integer number of days
past due falls in exactly one bucket.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import NamedTuple

from renewals.errors import ValidationFailed

DEFAULT_BOUNDS: tuple[int, ...] = (0, 30, 60, 90, 180)
CURRENT = "current"
_TENTH = Decimal("0.1")


class DueDateRange(NamedTuple):
    """The due dates that fall in one bucket as of a date; both ends inclusive, None is open."""

    name: str
    earliest: date | None
    latest: date | None


def check_bounds(bounds: tuple[int, ...]) -> tuple[int, ...]:
    """Return the bounds if they start at 0 and strictly increase; raise ValidationFailed otherwise."""
    if not bounds or bounds[0] != 0 or any(b <= a for a, b in pairwise(bounds)):
        raise ValidationFailed("buckets", "bucket bounds must start at 0 and increase, e.g. 0,30,60,90,180")
    return bounds


MAX_BUCKETS = 20
MAX_BOUND = 36_500  # days: a hundred years past due is the last bucket anyone needs


def parse_bounds(raw: str) -> tuple[int, ...]:
    """Read a request's bucket bounds (``0,30,60,90``); raise ValidationFailed naming `buckets`.

    The bounds are whole days past due, starting at 0 and strictly increasing, at most
    ``MAX_BUCKETS`` of them, each at most ``MAX_BOUND``.
    """
    parts = [p.strip() for p in raw.split(",")]
    if not all(p.isascii() and p.isdigit() for p in parts):
        raise ValidationFailed("buckets", "must be whole days separated by commas, e.g. 0,30,60,90", source="query")
    bounds = tuple(int(p) for p in parts)
    if len(bounds) > MAX_BUCKETS or bounds[-1] > MAX_BOUND:
        raise ValidationFailed(
            "buckets", f"at most {MAX_BUCKETS} bounds, each at most {MAX_BOUND} days", source="query"
        )
    try:
        return check_bounds(bounds)
    except ValidationFailed as exc:
        raise ValidationFailed("buckets", exc.fields["buckets"], source="query") from None


def bucket_names(bounds: tuple[int, ...] = DEFAULT_BOUNDS) -> list[str]:
    """Name the buckets in report order, oldest last: ``current``, ``1-30`` … ``180+``."""
    check_bounds(bounds)
    names = [CURRENT]
    names.extend(f"{low + 1}-{high}" for low, high in pairwise(bounds))
    names.append(f"{bounds[-1]}+")
    return names


def days_past_due(due: date, as_of: date) -> int:
    """Return how many days ``as_of`` is after ``due``: 0 on the due date, negative before it."""
    return (as_of - due).days


def bucket_for(days: int, bounds: tuple[int, ...] = DEFAULT_BOUNDS) -> str:
    """Return the bucket for a number of days past due; anything ≤ 0 is ``current``."""
    names = bucket_names(bounds)
    return names[bisect_left(bounds, days)]


def bucket_bounds_as_due_dates(as_of: date, bounds: tuple[int, ...] = DEFAULT_BOUNDS) -> list[DueDateRange]:
    """Translate the buckets into due-date ranges as of a date, so SQL can bucket by ``due_date``.

    Ranges come in bucket order (``current`` first, newest due dates first), each with both ends
    inclusive: ``current`` is ``due_date >= as_of`` (no latest), bucket ``low+1-high`` is
    ``as_of - high <= due_date <= as_of - low - 1``, and the last bucket is
    ``due_date <= as_of - last - 1`` (no earliest). The ranges are contiguous and disjoint, so
    a CASE that tests ``due_date >= earliest`` in this order and falls through to the last bucket
    buckets every row exactly as ``bucket_for(days_past_due(due_date, as_of))`` would.
    """
    names = bucket_names(bounds)
    ranges = [DueDateRange(CURRENT, as_of, None)]
    for name, (low, high) in zip(names[1:-1], pairwise(bounds), strict=True):
        ranges.append(DueDateRange(name, as_of - timedelta(days=high), as_of - timedelta(days=low + 1)))
    ranges.append(DueDateRange(names[-1], None, as_of - timedelta(days=bounds[-1] + 1)))
    return ranges


def dso(open_receivables: Decimal, sales_in_period: Decimal, days: int) -> Decimal | None:
    """Return days sales outstanding: receivables ÷ credit sales × days, to one decimal (half-up).

    Return None when there were no sales in the period (zero or, after credits, negative), since
    the ratio means nothing then. Raise ValidationFailed when the period has no days.
    """
    if days <= 0:
        raise ValidationFailed("days", "the DSO period must be at least one day long")
    if sales_in_period <= 0:
        return None
    return (open_receivables * days / sales_in_period).quantize(_TENTH, rounding=ROUND_HALF_UP)
