"""Aging buckets, days past due, the SQL due-date ranges and DSO."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renewals.domain.receivables.aging import (
    DEFAULT_BOUNDS,
    DueDateRange,
    bucket_bounds_as_due_dates,
    bucket_for,
    bucket_names,
    days_past_due,
    dso,
)
from renewals.errors import ValidationFailed


def test_default_buckets_are_named_as_in_the_aging_report() -> None:
    assert bucket_names(DEFAULT_BOUNDS) == ["current", "1-30", "31-60", "61-90", "91-180", "180+"]


def test_configured_buckets_are_named_from_their_bounds() -> None:
    assert bucket_names((0, 15, 45)) == ["current", "1-15", "16-45", "45+"]
    assert bucket_names((0,)) == ["current", "0+"]


@pytest.mark.parametrize("bounds", [(), (1, 30), (0, 30, 30), (0, 60, 30)])
def test_bounds_that_do_not_start_at_zero_and_increase_are_rejected(bounds: tuple[int, ...]) -> None:
    with pytest.raises(ValidationFailed):
        bucket_names(bounds)


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-400, "current"),
        (-1, "current"),
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "91-180"),
        (180, "91-180"),
        (181, "180+"),
        (5000, "180+"),
    ],
)
def test_bucket_edges_belong_to_the_lower_bucket(days: int, bucket: str) -> None:
    assert bucket_for(days, DEFAULT_BOUNDS) == bucket


def test_invoice_due_today_is_current_and_overdue_tomorrow() -> None:
    due = date(2025, 2, 28)

    assert days_past_due(due, date(2025, 2, 28)) == 0
    assert bucket_for(days_past_due(due, date(2025, 2, 28))) == "current"
    assert days_past_due(due, date(2025, 3, 1)) == 1


def test_days_past_due_counts_29_february_and_the_year_end() -> None:
    assert days_past_due(date(2024, 2, 28), date(2024, 3, 1)) == 2
    assert days_past_due(date(2024, 12, 31), date(2025, 1, 30)) == 30
    assert bucket_for(days_past_due(date(2024, 12, 31), date(2025, 1, 31))) == "31-60"


def test_due_date_ranges_for_sql_are_inclusive_on_both_ends() -> None:
    ranges = bucket_bounds_as_due_dates(date(2025, 3, 31), DEFAULT_BOUNDS)

    assert ranges == [
        DueDateRange("current", date(2025, 3, 31), None),
        DueDateRange("1-30", date(2025, 3, 1), date(2025, 3, 30)),
        DueDateRange("31-60", date(2025, 1, 30), date(2025, 2, 28)),
        DueDateRange("61-90", date(2024, 12, 31), date(2025, 1, 29)),
        DueDateRange("91-180", date(2024, 10, 2), date(2024, 12, 30)),
        DueDateRange("180+", None, date(2024, 10, 1)),
    ]


def test_dso_is_receivables_over_sales_times_days_to_one_decimal() -> None:
    assert dso(Decimal("50000.00"), Decimal("120000.00"), 90) == Decimal("37.5")
    assert dso(Decimal("1000"), Decimal("3000"), 30) == Decimal("10.0")
    assert dso(Decimal("100"), Decimal("600"), 1) == Decimal("0.2")  # 0.1666… → 0.2


def test_dso_rounds_half_up() -> None:
    assert dso(Decimal("1"), Decimal("40"), 1) == Decimal("0.0")  # 0.025
    assert dso(Decimal("1"), Decimal("20"), 1) == Decimal("0.1")  # 0.05 ↑


def test_dso_without_sales_is_none() -> None:
    assert dso(Decimal("1000.00"), Decimal(0), 90) is None
    assert dso(Decimal("1000.00"), Decimal("-10.00"), 90) is None


def test_dso_with_no_receivables_is_zero() -> None:
    assert dso(Decimal(0), Decimal("100.00"), 90) == Decimal("0.0")


def test_dso_over_an_empty_period_is_rejected() -> None:
    with pytest.raises(ValidationFailed):
        dso(Decimal(1), Decimal(1), 0)


# --- properties ------------------------------------------------------------------------------


@st.composite
def bucket_bounds(draw: st.DrawFn) -> tuple[int, ...]:
    steps = draw(st.lists(st.integers(min_value=1, max_value=120), max_size=7))
    bounds = [0]
    for step in steps:
        bounds.append(bounds[-1] + step)
    return tuple(bounds)


@given(bounds=bucket_bounds(), days=st.integers(min_value=-10_000, max_value=10_000))
def test_buckets_partition_every_number_of_days_past_due(bounds: tuple[int, ...], days: int) -> None:
    names = bucket_names(bounds)
    # The bucket ranges in days: (-∞, 0], [1, b1], [b1+1, b2], …, [last+1, ∞).
    lows = [None, *(b + 1 for b in bounds)]
    highs = [*bounds, None]

    containing = [
        name
        for name, low, high in zip(names, lows, highs, strict=True)
        if (low is None or days >= low) and (high is None or days <= high)
    ]

    assert containing == [bucket_for(days, bounds)]


@given(bounds=bucket_bounds())
def test_bucket_names_are_distinct_and_one_more_than_the_bounds(bounds: tuple[int, ...]) -> None:
    names = bucket_names(bounds)

    assert len(names) == len(set(names)) == len(bounds) + 1
    assert names[0] == "current"


@given(
    bounds=bucket_bounds(),
    as_of=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    offset=st.integers(min_value=-2000, max_value=2000),
)
def test_sql_due_date_ranges_bucket_like_days_past_due(bounds: tuple[int, ...], as_of: date, offset: int) -> None:
    due = as_of + timedelta(days=offset)
    ranges = bucket_bounds_as_due_dates(as_of, bounds)

    # The CASE the docstring describes: first range whose earliest due date is not after `due`.
    by_case = next(r.name for r in ranges if r.earliest is None or due >= r.earliest)
    by_range = [
        r.name for r in ranges if (r.earliest is None or due >= r.earliest) and (r.latest is None or due <= r.latest)
    ]

    assert by_range == [by_case] == [bucket_for(days_past_due(due, as_of), bounds)]


@given(bounds=bucket_bounds(), as_of=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)))
def test_sql_due_date_ranges_are_contiguous(bounds: tuple[int, ...], as_of: date) -> None:
    ranges = bucket_bounds_as_due_dates(as_of, bounds)

    assert [r.name for r in ranges] == bucket_names(bounds)
    for newer, older in itertools.pairwise(ranges):
        assert newer.earliest is not None
        assert older.latest == newer.earliest - timedelta(days=1)
