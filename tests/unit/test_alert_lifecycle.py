"""Pure scan decisions: id ranges, whether an alert still stands, birthdays across year ends and leap days."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renewals.domain.alerts.lifecycle import (
    birthday_month_days,
    celebration,
    contract_alert_stands,
    credit_alert_stands,
    follow_up_alert_stands,
    id_ranges,
    invoice_alert_stands,
    next_celebration,
    over_credit_limit,
)

END = date(2027, 6, 30)


def test_id_ranges_cover_min_to_max_in_chunks_of_ids():
    assert id_ranges(3, 12, 4) == [(3, 6), (7, 10), (11, 12)]
    assert id_ranges(None, None, 100) == []
    assert id_ranges(5, 5, 100) == [(5, 5)]


def test_id_ranges_refuse_a_chunk_below_one():
    with pytest.raises(ValueError, match="at least 1"):
        id_ranges(1, 10, 0)


@given(st.integers(1, 10_000), st.integers(0, 5_000), st.integers(1, 700))
def test_id_ranges_cover_every_id_exactly_once(low, span, size):
    ranges = id_ranges(low, low + span, size)
    covered = [i for lo, hi in ranges for i in range(lo, hi + 1)]
    assert covered == list(range(low, low + span + 1))
    assert len(ranges) == span // size + 1


def stands(kind, threshold, as_of, **over):
    facts = {
        "contract_status": "active",
        "renewal_status": "upcoming",
        "end_date": END,
        "auto_renew": True,
        "notice_period_days": 30,
        "as_of": as_of,
    } | over
    return contract_alert_stands(kind, threshold, **facts)


def test_renewal_warning_stands_only_in_its_own_band():
    assert stands("renewal_due", 30, date(2027, 6, 1))
    assert not stands("renewal_due", 60, date(2027, 6, 1))  # superseded by 30
    assert not stands("renewal_due", 30, date(2027, 6, 1), end_date=date(2027, 12, 31))  # extended


@pytest.mark.parametrize(
    "over",
    [
        {"contract_status": "renewed"},
        {"contract_status": "terminated"},
        {"renewal_status": "lost"},
        {"renewal_status": "renewed"},
    ],
)
def test_renewal_warning_goes_once_the_contract_is_decided(over):
    assert not stands("renewal_due", 30, date(2027, 6, 1), **over)


def test_opt_out_warning_stands_until_the_deadline_passes_or_auto_renew_is_off():
    deadline = date(2027, 5, 31)
    assert stands("notice_deadline", 14, deadline)
    assert not stands("notice_deadline", 14, date(2027, 6, 1))
    assert not stands("notice_deadline", 14, deadline, auto_renew=False)


def test_overdue_alert_stands_at_the_current_level_of_an_unpaid_invoice():
    assert invoice_alert_stands("invoice_overdue", 2, status="partially_paid", balance_minor=100, dunning_level=2)
    assert not invoice_alert_stands("invoice_overdue", 1, status="open", balance_minor=100, dunning_level=2)
    for status in ("paid", "void", "written_off"):
        assert not invoice_alert_stands("invoice_overdue", 2, status=status, balance_minor=0, dunning_level=2)
    assert invoice_alert_stands("promise_broken", 20270820, status="open", balance_minor=1, dunning_level=3)
    assert not invoice_alert_stands("promise_broken", 20270820, status="paid", balance_minor=0, dunning_level=3)


def test_credit_limit_of_zero_means_no_limit_and_a_new_limit_rearms():
    assert not over_credit_limit(10**9, 0)
    assert over_credit_limit(200_001, 200_000)
    assert not over_credit_limit(200_000, 200_000)
    assert credit_alert_stands(200_000, open_balance_minor=300_000, credit_limit_minor=200_000)
    assert not credit_alert_stands(200_000, open_balance_minor=300_000, credit_limit_minor=250_000)


def test_follow_up_stands_until_a_newer_activity_or_the_renewal_closes():
    assert follow_up_alert_stands(renewal_status="contacted", source_activity_id=7, latest_activity_id=7)
    assert not follow_up_alert_stands(renewal_status="contacted", source_activity_id=7, latest_activity_id=9)
    assert not follow_up_alert_stands(renewal_status="lost", source_activity_id=7, latest_activity_id=7)


def test_29_february_is_celebrated_on_28_february_in_common_years():
    leapling = date(1988, 2, 29)
    assert celebration(leapling, 2027) == date(2027, 2, 28)
    assert celebration(leapling, 2028) == date(2028, 2, 29)
    assert next_celebration(leapling, date(2027, 3, 1)) == date(2028, 2, 29)


def test_birthday_window_crosses_the_year_end():
    pairs = birthday_month_days(date(2027, 12, 28), 7)
    assert pairs == {(12, 28), (12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3)}
    assert next_celebration(date(1975, 1, 3), date(2027, 12, 28)) == date(2028, 1, 3)


def test_birthday_window_on_28_february_of_a_common_year_includes_leaplings():
    assert (2, 29) in birthday_month_days(date(2027, 2, 26), 7)
    assert (2, 29) not in birthday_month_days(date(2027, 3, 1), 7)
    assert birthday_month_days(date(2028, 2, 28), 1) == {(2, 28)}


@given(st.dates(date(2000, 1, 1), date(2100, 1, 1)), st.dates(date(1920, 1, 1), date(2010, 12, 31)))
def test_next_celebration_is_within_a_year_and_matches_the_window(as_of, born):
    on = next_celebration(born, as_of)
    assert 0 <= (on - as_of).days <= 366
    in_window = (on - as_of).days < 7
    assert in_window == ((born.month, born.day) in birthday_month_days(as_of, 7))
