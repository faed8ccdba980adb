"""The pure cash-forecast rule: ISO weeks, each client's median delay, where a receivable lands."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from renewals.domain.receivables.forecast import Receivable, Week, forecast, iso_weeks, median_delay
from renewals.errors import ValidationFailed


def test_weeks_start_on_the_monday_of_the_week_holding_as_of():
    assert iso_weeks(date(2026, 1, 1), 2) == [  # a Thursday; its ISO week began in 2025
        Week(date(2025, 12, 29), date(2026, 1, 4)),
        Week(date(2026, 1, 5), date(2026, 1, 11)),
    ]
    assert iso_weeks(date(2028, 2, 28), 1) == [Week(date(2028, 2, 28), date(2028, 3, 5))]  # across 29 Feb


@pytest.mark.parametrize(
    ("delays", "expected"),
    [
        ([], 0),
        ([30, 30], 0),  # fewer than three paid invoices: no habit yet
        ([10, 10, 10], 10),
        ([1, 50, 3], 3),  # one very late payment does not drag the habit
        ([2, 3, 4, 5], 4),  # even count: the mean of the middle two, half-up (3.5 → 4)
        ([-4, -3, -3, -4], -3),  # early payers: -3.5 → -3
        ([0] * 12 + [90] * 5, 0),  # only the 12 given first (the latest) count
    ],
)
def test_median_delay(delays, expected):
    assert median_delay(delays) == expected


def test_a_receivable_lands_in_the_week_of_its_due_date_plus_the_delay_or_apart():
    as_of = date(2026, 10, 7)
    items = [
        Receivable(1, "USD", date(2026, 10, 20), Decimal("100.00")),  # +10 → 30 Oct, week of 26 Oct
        Receivable(1, "USD", date(2026, 9, 20), Decimal("7.00")),  # +10 → 30 Sep: overdue
        Receivable(2, "USD", date(2026, 10, 7), Decimal("5.00")),  # due today, no delay: week 1
        Receivable(2, "USD", date(2026, 10, 8), Decimal("3.00"), held=True),
        Receivable(2, "KRW", date(2027, 3, 1), Decimal("900")),  # beyond the horizon
    ]

    result = forecast(as_of, 4, items, {1: 10})

    usd = next(c for c in result.currencies if c.currency == "USD")
    assert [(w.start, w.expected, w.by_due_date) for w in usd.weeks] == [
        (date(2026, 10, 5), Decimal("5.00"), Decimal("5.00")),
        (date(2026, 10, 12), Decimal("0.00"), Decimal("0.00")),
        (date(2026, 10, 19), Decimal("0.00"), Decimal("100.00")),
        (date(2026, 10, 26), Decimal("100.00"), Decimal("0.00")),
    ]
    assert (usd.overdue, usd.held) == (Decimal("7.00"), Decimal("3.00"))
    assert [c.currency for c in result.currencies] == ["USD"]  # KRW has nothing to show in 4 weeks


def test_the_horizon_is_bounded():
    with pytest.raises(ValidationFailed):
        forecast(date(2026, 1, 1), 0, [], {})
