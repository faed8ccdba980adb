"""Billing schedules: anchored month arithmetic, proration by days, per-line rounding."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renewals.domain.receivables.schedule import (
    CYCLE_MONTHS,
    Line,
    Period,
    add_months,
    annual_value,
    billing_periods,
    contract_value,
    monthly_value,
    period_amounts,
)
from renewals.errors import ValidationFailed

ONE_DAY = timedelta(days=1)


def starts(periods: list[Period]) -> list[date]:
    return [p.start for p in periods]


# --- anchoring and month ends -------------------------------------------------------------------


def test_monthly_schedule_from_31_january_clamps_to_month_end_without_drifting() -> None:
    periods = billing_periods(date(2024, 1, 31), date(2024, 7, 30), "monthly")

    assert starts(periods) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
        date(2024, 6, 30),
    ]
    assert periods[0].end == date(2024, 2, 28)
    assert periods[1].end == date(2024, 3, 30)
    assert all(p.months == 1 for p in periods)


def test_monthly_schedule_from_31_january_uses_28_february_in_a_common_year() -> None:
    periods = billing_periods(date(2025, 1, 31), date(2025, 4, 29), "monthly")

    assert starts(periods) == [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31)]
    assert [p.end for p in periods] == [date(2025, 2, 27), date(2025, 3, 30), date(2025, 4, 29)]


def test_annual_schedule_from_29_february_returns_to_29_february_in_the_next_leap_year() -> None:
    periods = billing_periods(date(2024, 2, 29), date(2029, 2, 27), "annual")

    assert starts(periods) == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]
    assert periods[-1].end == date(2029, 2, 27)
    assert all(p.months == 12 for p in periods)


def test_quarterly_schedule_is_anchored_on_the_start_not_on_the_previous_period() -> None:
    periods = billing_periods(date(2024, 11, 30), date(2025, 11, 29), "quarterly")

    # 30 Nov + 3 months clamps to 28 Feb, but 30 Nov + 6 months is 30 May, not 28 May.
    assert starts(periods) == [date(2024, 11, 30), date(2025, 2, 28), date(2025, 5, 30), date(2025, 8, 30)]
    assert all(p.months == 3 for p in periods)


def test_semiannual_schedule_from_31_august_clamps_to_end_of_february() -> None:
    periods = billing_periods(date(2023, 8, 31), date(2025, 8, 30), "semiannual")

    assert starts(periods) == [date(2023, 8, 31), date(2024, 2, 29), date(2024, 8, 31), date(2025, 2, 28)]
    assert [p.index for p in periods] == [0, 1, 2, 3]


def test_monthly_schedule_crosses_the_year_end() -> None:
    periods = billing_periods(date(2024, 12, 15), date(2025, 2, 14), "monthly")

    assert [(p.start, p.end) for p in periods] == [
        (date(2024, 12, 15), date(2025, 1, 14)),
        (date(2025, 1, 15), date(2025, 2, 14)),
    ]


def test_calendar_year_contract_billed_annually_is_one_period() -> None:
    periods = billing_periods(date(2025, 1, 1), date(2025, 12, 31), "annual")

    assert periods == [Period(0, date(2025, 1, 1), date(2025, 12, 31), Decimal(12))]


# --- cut periods -----------------------------------------------------------------------------


def test_term_ending_the_day_before_a_period_boundary_has_no_partial_period() -> None:
    periods = billing_periods(date(2024, 3, 31), date(2025, 3, 30), "quarterly")

    assert len(periods) == 4
    assert all(p.months == 3 for p in periods)


def test_final_partial_period_is_prorated_by_days_of_the_full_period() -> None:
    # The last quarter would run 1 Oct – 31 Dec (92 days); the term ends 15 Oct (15 days).
    periods = billing_periods(date(2024, 1, 1), date(2024, 10, 15), "quarterly")

    last = periods[-1]
    assert (last.start, last.end) == (date(2024, 10, 1), date(2024, 10, 15))
    assert last.ratio == Fraction(3 * 15, 92)
    assert last.months == Decimal(45) / Decimal(92)


def test_termination_mid_period_cuts_that_period_and_drops_the_rest() -> None:
    # Monthly from 1 Jan 2025 for a year, terminated effective 10 Apr: April is 30 days, 10 billed.
    periods = billing_periods(date(2025, 1, 1), date(2025, 12, 31), "monthly", stop=date(2025, 4, 10))

    assert len(periods) == 4
    assert (periods[-1].start, periods[-1].end) == (date(2025, 4, 1), date(2025, 4, 10))
    assert periods[-1].ratio == Fraction(10, 30)


def test_termination_mid_period_prorates_the_amount_by_days() -> None:
    lines = [Line("Forklift rental", Decimal(2), Decimal("900.00"))]
    periods = billing_periods(date(2025, 1, 1), date(2025, 12, 31), "monthly", stop=date(2025, 4, 10))

    amount = period_amounts(lines, periods[-1], "USD", Decimal(0))

    assert amount.net == Decimal("600.00")  # 1800.00 × 10/30


def test_termination_on_a_period_start_bills_that_one_day() -> None:
    periods = billing_periods(date(2025, 1, 1), date(2025, 12, 31), "monthly", stop=date(2025, 3, 1))

    assert (periods[-1].start, periods[-1].end) == (date(2025, 3, 1), date(2025, 3, 1))
    assert periods[-1].ratio == Fraction(1, 31)


def test_termination_on_the_last_day_of_a_period_leaves_it_whole() -> None:
    periods = billing_periods(date(2025, 1, 1), date(2025, 12, 31), "quarterly", stop=date(2025, 6, 30))

    assert len(periods) == 2
    assert periods[-1].months == 3


def test_termination_before_the_start_bills_nothing() -> None:
    assert billing_periods(date(2025, 1, 1), date(2025, 12, 31), "monthly", stop=date(2024, 12, 31)) == []


def test_termination_after_the_end_changes_nothing() -> None:
    without = billing_periods(date(2025, 1, 1), date(2025, 12, 31), "monthly")

    assert billing_periods(date(2025, 1, 1), date(2025, 12, 31), "monthly", stop=date(2026, 5, 1)) == without


def test_one_day_term_is_one_prorated_period() -> None:
    periods = billing_periods(date(2024, 2, 29), date(2024, 2, 29), "monthly")

    assert (periods[0].start, periods[0].end) == (date(2024, 2, 29), date(2024, 2, 29))
    assert periods[0].ratio == Fraction(1, 29)  # the full period would be 29 Feb – 28 Mar


def test_unknown_billing_cycle_is_rejected_naming_the_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        billing_periods(date(2025, 1, 1), date(2025, 12, 31), "weekly")

    assert "billing_cycle" in caught.value.fields


def test_term_ending_before_it_starts_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as caught:
        billing_periods(date(2025, 1, 1), date(2024, 12, 31), "monthly")

    assert "end_date" in caught.value.fields


# --- amounts ---------------------------------------------------------------------------------


def test_period_amount_multiplies_quantity_price_and_months_then_taxes_the_net() -> None:
    lines = [
        Line("Excavator", Decimal(1), Decimal("1250.00")),
        Line("Operator", Decimal("1.5"), Decimal("333.33")),
    ]
    period = billing_periods(date(2025, 1, 1), date(2025, 3, 31), "quarterly")[0]

    amount = period_amounts(lines, period, "USD", Decimal("6"))

    assert [line.amount for line in amount.lines] == [Decimal("3750.00"), Decimal("1499.99")]  # 1499.985 ↑
    assert amount.net == Decimal("5249.99")
    assert amount.tax == Decimal("315.00")  # 314.9994
    assert amount.total == Decimal("5564.99")


def test_krw_amounts_have_no_decimals_even_for_a_prorated_period() -> None:
    lines = [Line("Crane", Decimal(1), Decimal(1_000_000)), Line("Insurance", Decimal(3), Decimal(33_333))]
    period = billing_periods(date(2025, 1, 1), date(2025, 1, 10), "monthly")[0]  # 10 of 31 days

    amount = period_amounts(lines, period, "KRW", Decimal("10"))

    assert [line.amount for line in amount.lines] == [Decimal(322_581), Decimal(32_258)]
    assert amount.net == Decimal(354_839)
    assert amount.tax == Decimal(35_484)
    assert amount.total == Decimal(390_323)
    assert all(a.as_tuple().exponent == 0 for a in (amount.net, amount.tax, amount.total))


def test_jpy_tax_rounds_half_up_to_whole_yen() -> None:
    period = billing_periods(date(2025, 4, 1), date(2025, 4, 30), "monthly")[0]

    amount = period_amounts([Line("Lease", Decimal(1), Decimal(1005))], period, "JPY", Decimal("10"))

    assert amount.tax == Decimal(101)  # 100.5 ↑
    assert str(amount.total) == "1106"


def test_line_amount_rounds_half_up_on_the_exact_prorated_value() -> None:
    # 31 × 1 × 1/62 = 0.50 exactly; Decimal(1)/Decimal(62) would drift below the half.
    period = Period(0, date(2025, 1, 1), date(2025, 1, 1), Decimal(1) / Decimal(62), Fraction(1, 62))

    amount = period_amounts([Line("x", Decimal(1), Decimal(31))], period, "KRW", Decimal(0))

    assert amount.net == Decimal(1)


def test_negative_discount_lines_round_away_from_zero_like_positive_ones() -> None:
    period = billing_periods(date(2025, 1, 1), date(2025, 1, 31), "monthly")[0]
    lines = [Line("Rent", Decimal(1), Decimal("100.00")), Line("Discount", Decimal("0.5"), Decimal("-0.01"))]

    amount = period_amounts(lines, period, "USD", Decimal(0))

    assert amount.lines[1].amount == Decimal("-0.01")
    assert amount.net == Decimal("99.99")


def test_unknown_currency_is_rejected() -> None:
    period = billing_periods(date(2025, 1, 1), date(2025, 1, 31), "monthly")[0]

    with pytest.raises(ValidationFailed):
        period_amounts([], period, "usd", Decimal(0))


def test_contract_value_sums_the_period_nets_including_the_partial_period() -> None:
    lines = [Line("Generator", Decimal(2), Decimal("450.00"))]

    value = contract_value(lines, date(2025, 1, 1), date(2025, 4, 15), "monthly", "USD")

    assert value == Decimal("3150.00")  # January to March at 900.00, then 900.00 × 15/30


def test_annual_value_is_twelve_months_of_the_lines_whatever_the_term() -> None:
    lines = [Line("Generator", Decimal(2), Decimal("450.00")), Line("Fuel", Decimal("0.5"), Decimal("10.01"))]

    assert monthly_value(lines) == Decimal("905.005")
    assert annual_value(lines) == Decimal("10860.060")


# --- properties ------------------------------------------------------------------------------

cycles = st.sampled_from(sorted(CYCLE_MONTHS))
term_dates = st.dates(min_value=date(1995, 1, 1), max_value=date(2060, 12, 31))
currencies = st.sampled_from(["USD", "EUR", "CNY", "KRW", "JPY"])


@st.composite
def contract_lines(draw: st.DrawFn, *, integer_quantities: bool) -> list[Line]:
    count = draw(st.integers(min_value=1, max_value=4))
    lines = []
    for i in range(count):
        if integer_quantities:
            quantity = Decimal(draw(st.integers(min_value=1, max_value=50)))
        else:
            quantity = Decimal(draw(st.integers(min_value=1, max_value=500_000))).scaleb(-4)
        price = Decimal(draw(st.integers(min_value=0, max_value=10_000_000))).scaleb(-2)
        lines.append(Line(f"line {i}", quantity, price))
    return lines


def minor(currency: str) -> Decimal:
    return Decimal(1) if currency in {"KRW", "JPY"} else Decimal("0.01")


def whole(lines: list[Line], currency: str) -> list[Line]:
    """Make prices whole minor units of the currency (KRW prices have no cents)."""
    return [Line(d, q, p.quantize(minor(currency))) for d, q, p in lines]


@given(
    start=term_dates,
    days=st.integers(min_value=0, max_value=3000),
    cycle=cycles,
    stop_offset=st.none() | st.integers(min_value=-40, max_value=3100),
)
def test_periods_tile_the_term_without_gaps_or_overlaps(
    start: date, days: int, cycle: str, stop_offset: int | None
) -> None:
    end = start + timedelta(days=days)
    stop = None if stop_offset is None else start + timedelta(days=stop_offset)
    last_day = end if stop is None else min(end, stop)

    periods = billing_periods(start, end, cycle, stop)

    if last_day < start:
        assert periods == []
        return
    assert periods[0].start == start
    assert periods[-1].end == last_day
    for before, after in itertools.pairwise(periods):
        assert after.start == before.end + ONE_DAY
    assert [p.index for p in periods] == list(range(len(periods)))
    assert sum(p.days for p in periods) == (last_day - start).days + 1
    step = CYCLE_MONTHS[cycle]
    assert all(p.ratio == step for p in periods[:-1])
    assert 0 < periods[-1].ratio <= step


@given(start=term_dates, cycle=cycles, days=st.integers(min_value=0, max_value=400))
def test_a_cut_period_is_worth_its_days_over_the_full_periods_days(start: date, cycle: str, days: int) -> None:
    end = start + timedelta(days=days)
    step = CYCLE_MONTHS[cycle]

    last = billing_periods(start, end, cycle)[-1]

    full_end = add_months(start, (last.index + 1) * step) - ONE_DAY
    full_days = (full_end - last.start).days + 1
    assert last.ratio == Fraction(step * last.days, full_days)
    assert (last.ratio == step) == (last.end == full_end)


@given(
    start=term_dates,
    cycle=cycles,
    count=st.integers(min_value=1, max_value=30),
    lines=contract_lines(integer_quantities=True),
    currency=currencies,
)
def test_whole_cycle_terms_bill_exactly_the_monthly_value_times_the_months(
    start: date, cycle: str, count: int, lines: list[Line], currency: str
) -> None:
    step = CYCLE_MONTHS[cycle]
    lines = whole(lines, currency)
    end = add_months(start, count * step) - ONE_DAY

    value = contract_value(lines, start, end, cycle, currency)

    assert value == monthly_value(lines) * step * count


@given(
    start=term_dates,
    cycle=cycles,
    count=st.integers(min_value=1, max_value=12),
    lines=contract_lines(integer_quantities=False),
    currency=currencies,
)
def test_whole_cycle_periods_with_fractional_quantities_bill_the_same_rounded_amount_each_time(
    start: date, cycle: str, count: int, lines: list[Line], currency: str
) -> None:
    step = CYCLE_MONTHS[cycle]
    end = add_months(start, count * step) - ONE_DAY

    nets = {period_amounts(lines, p, currency, Decimal(0)).net for p in billing_periods(start, end, cycle)}

    assert len(nets) == 1


@given(
    start=term_dates,
    cycle=cycles,
    days=st.integers(min_value=0, max_value=2000),
    lines=contract_lines(integer_quantities=True),
    currency=currencies,
)
def test_a_partial_final_period_bills_within_one_minor_unit_per_line_of_the_exact_proration(
    start: date, cycle: str, days: int, lines: list[Line], currency: str
) -> None:
    lines = whole(lines, currency)
    end = start + timedelta(days=days)
    periods = billing_periods(start, end, cycle)
    exact_months = sum((p.ratio for p in periods), Fraction(0))

    value = contract_value(lines, start, end, cycle, currency)

    exact = Fraction(monthly_value(lines)) * exact_months
    assert abs(Fraction(value) - exact) <= Fraction(minor(currency)) * len(lines)


@given(
    start=term_dates,
    days=st.integers(min_value=0, max_value=800),
    cycle=cycles,
    lines=contract_lines(integer_quantities=False),
    currency=currencies,
    tax_rate=st.sampled_from([Decimal(0), Decimal("6"), Decimal("10"), Decimal("7.25"), Decimal("19")]),
)
def test_every_period_amount_is_in_minor_units_and_adds_up(
    start: date, days: int, cycle: str, lines: list[Line], currency: str, tax_rate: Decimal
) -> None:
    for period in billing_periods(start, start + timedelta(days=days), cycle):
        amount = period_amounts(lines, period, currency, tax_rate)

        for figure in [amount.net, amount.tax, amount.total, *(line.amount for line in amount.lines)]:
            assert figure == figure.quantize(minor(currency))
            assert figure.as_tuple().exponent == minor(currency).as_tuple().exponent
        assert amount.net == sum(line.amount for line in amount.lines)
        assert amount.total == amount.net + amount.tax


@pytest.mark.parametrize("first", [0, 1, 2, 11, 12, 20])
def test_periods_from_an_index_are_the_tail_of_the_whole_schedule(first):
    whole = billing_periods(date(2024, 1, 31), date(2025, 1, 15), "monthly", stop=date(2024, 12, 20))

    assert (
        billing_periods(date(2024, 1, 31), date(2025, 1, 15), "monthly", date(2024, 12, 20), first_index=first)
        == (whole[first:])
    )
