"""Early-warning rules: renewal thresholds, opt-out deadlines, dunning levels, severity, dedupe keys."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renewals.domain.alerts.rules import (
    AlertKind,
    AlertSpec,
    Severity,
    SubjectType,
    date_threshold,
    dedupe_key,
    dunning_level,
    invoice_overdue_alert,
    notice_deadline_alert,
    notice_deadline_due,
    opt_out_deadline,
    renewal_due_alert,
    renewal_due_threshold,
    severity,
)

END = date(2025, 6, 30)


def days_before(end: date, days: int) -> date:
    return end - timedelta(days=days)


# --------------------------------------------------------------------------------------------
# renewal_due
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_left", "threshold"),
    [
        (91, None),
        (90, 90),
        (61, 90),
        (60, 60),
        (45, 60),
        (44, 60),
        (31, 60),
        (30, 30),
        (8, 30),
        (7, 7),
        (1, 7),
        (0, 7),
    ],
)
def test_renewal_due_answers_the_nearest_crossed_threshold(days_left: int, threshold: int | None) -> None:
    assert renewal_due_threshold(END, days_before(END, days_left)) == threshold


def test_contract_entering_at_20_days_gets_only_the_30_day_threshold() -> None:
    first_seen = days_before(END, 20)

    raised = {renewal_due_threshold(END, first_seen + timedelta(days=n)) for n in range(21)}

    assert raised == {30, 7}


def test_contract_first_seen_at_45_days_gets_60_and_nothing_new_on_day_44() -> None:
    assert renewal_due_threshold(END, days_before(END, 45)) == 60
    assert renewal_due_threshold(END, days_before(END, 44)) == 60


def test_no_renewal_due_after_the_end_date() -> None:
    assert renewal_due_threshold(END, END + timedelta(days=1)) is None


def test_renewal_due_counts_days_across_year_end() -> None:
    end = date(2026, 1, 6)

    assert renewal_due_threshold(end, date(2025, 12, 30)) == 7
    assert renewal_due_threshold(end, date(2025, 12, 29)) == 30


def test_renewal_due_counts_29_february() -> None:
    end = date(2024, 3, 7)

    assert renewal_due_threshold(end, date(2024, 2, 29)) == 7  # 7 days in a leap year
    assert renewal_due_threshold(end, date(2024, 2, 28)) == 30


def test_renewal_due_accepts_thresholds_in_any_order() -> None:
    assert renewal_due_threshold(END, days_before(END, 100), (30, 120)) == 120


@pytest.mark.parametrize("thresholds", [(), (30, 30), (-1, 30)])
def test_misconfigured_renewal_thresholds_are_refused(thresholds: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="thresholds"):
        renewal_due_threshold(END, END, thresholds)


thresholds_st = st.lists(st.integers(min_value=0, max_value=180), min_size=1, max_size=6, unique=True)


def scan_every_day(end: date, first_seen_days: int, thresholds: list[int]) -> list[int]:
    """Run the scan once a day from first sight to the end date; return the alerts the keys let in."""
    raised: list[int] = []
    for days_left in range(first_seen_days, -1, -1):
        threshold = renewal_due_threshold(end, days_before(end, days_left), thresholds)
        if threshold is not None and threshold not in raised:  # the dedupe key
            raised.append(threshold)
    return raised


@given(
    end=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    thresholds=thresholds_st,
)
def test_daily_scan_over_200_days_raises_each_threshold_once_in_decreasing_order(
    end: date, thresholds: list[int]
) -> None:
    raised = scan_every_day(end, 200, thresholds)

    assert raised == sorted(thresholds, reverse=True)


@given(
    end=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    thresholds=thresholds_st,
    first_seen=st.integers(min_value=0, max_value=200),
)
def test_contract_first_seen_late_gets_only_the_nearest_crossed_threshold_and_later_ones(
    end: date, thresholds: list[int], first_seen: int
) -> None:
    raised = scan_every_day(end, first_seen, thresholds)
    nearest = renewal_due_threshold(end, days_before(end, first_seen), thresholds)

    bound = first_seen if nearest is None else nearest  # not yet in any band: all are still ahead

    assert raised == sorted((t for t in thresholds if t <= bound), reverse=True)
    if nearest is not None:
        assert raised[0] == nearest


@given(
    end=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    days_left=st.integers(min_value=-30, max_value=400),
)
def test_renewal_due_threshold_is_never_below_the_days_left(end: date, days_left: int) -> None:
    threshold = renewal_due_threshold(end, days_before(end, days_left))

    if threshold is None:
        assert days_left > 90 or days_left < 0
    else:
        assert days_left <= threshold


# --------------------------------------------------------------------------------------------
# notice_deadline
# --------------------------------------------------------------------------------------------


def test_opt_out_deadline_is_end_date_minus_notice_period() -> None:
    assert opt_out_deadline(date(2025, 12, 31), 90) == date(2025, 10, 2)


@pytest.mark.parametrize(("days_to_deadline", "raised"), [(15, False), (14, True), (1, True), (0, True), (-1, False)])
def test_notice_deadline_is_raised_from_14_days_before_until_the_deadline(days_to_deadline: int, raised: bool) -> None:
    deadline = date(2025, 3, 31)
    end = deadline + timedelta(days=60)

    due = notice_deadline_due(end, 60, days_before(deadline, days_to_deadline))

    assert due == (deadline if raised else None)


def test_notice_deadline_across_29_february() -> None:
    assert opt_out_deadline(date(2024, 3, 30), 30) == date(2024, 2, 29)
    assert notice_deadline_due(date(2024, 3, 30), 30, date(2024, 2, 15)) == date(2024, 2, 29)
    assert notice_deadline_due(date(2024, 3, 30), 30, date(2024, 2, 14)) is None


def test_negative_notice_period_is_refused() -> None:
    with pytest.raises(ValueError, match="notice period"):
        opt_out_deadline(END, -1)


# --------------------------------------------------------------------------------------------
# Dunning
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_late", "level"),
    [(-5, 0), (0, 0), (1, 1), (14, 1), (15, 2), (29, 2), (30, 3), (59, 3), (60, 4), (400, 4)],
)
def test_dunning_level_boundaries_are_exactly_1_15_30_and_60_days(days_late: int, level: int) -> None:
    due = date(2025, 5, 10)

    assert dunning_level(due, due + timedelta(days=days_late)) == level


def test_dunning_counts_days_across_year_end() -> None:
    assert dunning_level(date(2025, 12, 17), date(2026, 1, 1)) == 2  # 15 days late


def test_dunning_counts_29_february() -> None:
    assert dunning_level(date(2024, 1, 31), date(2024, 3, 1)) == 3  # 30 days late in a leap year
    assert dunning_level(date(2023, 1, 31), date(2023, 3, 1)) == 2  # 29 days late otherwise


def test_zero_day_dunning_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        dunning_level(END, END, (0, 15))


@given(
    due=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    days=st.integers(min_value=-10, max_value=400),
)
def test_dunning_level_never_falls_as_days_pass(due: date, days: int) -> None:
    as_of = due + timedelta(days=days)

    assert 0 <= dunning_level(due, as_of) <= dunning_level(due, as_of + timedelta(days=1)) <= 4


# --------------------------------------------------------------------------------------------
# Severity and dedupe keys
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [(90, Severity.INFO), (60, Severity.INFO), (30, Severity.WARNING), (7, Severity.CRITICAL)],
)
def test_renewal_due_grows_more_severe_as_the_end_nears(threshold: int, expected: Severity) -> None:
    assert severity("renewal_due", threshold) is expected


@pytest.mark.parametrize(
    ("level", "expected"),
    [(1, Severity.INFO), (2, Severity.WARNING), (3, Severity.CRITICAL), (4, Severity.CRITICAL)],
)
def test_invoice_overdue_is_critical_from_the_level_that_needs_a_manager(level: int, expected: Severity) -> None:
    assert severity("invoice_overdue", level) is expected


def test_fixed_severities_per_kind() -> None:
    assert severity("renewal_lapsed") is Severity.CRITICAL
    assert severity("notice_deadline", 14) is Severity.WARNING
    assert severity("credit_limit", 5_000_000) is Severity.WARNING
    assert severity("promise_broken", 20250630) is Severity.WARNING
    assert severity("follow_up_due", 20250630) is Severity.INFO


def test_unknown_kind_or_missing_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="birthday"):
        severity("birthday")
    with pytest.raises(ValueError, match="threshold"):
        severity("renewal_due")


def test_dedupe_key_is_kind_subject_and_threshold() -> None:
    assert dedupe_key("renewal_due", "contract", 42, 30) == "renewal_due:contract:42:30"
    assert dedupe_key(AlertKind.RENEWAL_LAPSED, SubjectType.RENEWAL, 7, None) == "renewal_lapsed:renewal:7:-"


def test_the_same_day_scanned_twice_gives_the_same_key() -> None:
    as_of = days_before(END, 30)

    first = renewal_due_alert(42, END, as_of)
    second = renewal_due_alert(42, END, as_of)

    assert first is not None
    assert first == second
    assert first.dedupe_key == "renewal_due:contract:42:30"
    assert first.severity is Severity.WARNING


def test_alert_spec_fills_in_subject_type_severity_and_key() -> None:
    spec = AlertSpec.of("invoice_overdue", 9, 3)

    assert spec == AlertSpec(
        kind=AlertKind.INVOICE_OVERDUE,
        subject_type=SubjectType.INVOICE,
        subject_id=9,
        threshold=3,
        severity=Severity.CRITICAL,
        dedupe_key="invoice_overdue:invoice:9:3",
    )


def test_invoice_not_yet_overdue_gets_no_alert() -> None:
    due = date(2025, 5, 10)

    assert invoice_overdue_alert(1, due, due) is None
    assert invoice_overdue_alert(1, due, due + timedelta(days=15)) == AlertSpec.of("invoice_overdue", 1, 2)


def test_notice_deadline_alert_is_keyed_by_the_lead_days() -> None:
    spec = notice_deadline_alert(5, date(2025, 12, 31), 90, date(2025, 9, 20))

    assert spec is not None
    assert spec.dedupe_key == "notice_deadline:contract:5:14"
    assert notice_deadline_alert(5, date(2025, 12, 31), 90, date(2025, 9, 1)) is None


def test_date_threshold_is_yyyymmdd() -> None:
    assert date_threshold(date(2024, 2, 29)) == 20240229
