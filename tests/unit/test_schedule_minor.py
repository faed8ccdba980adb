"""The billing run's integer schedule gives exactly the Decimal schedule's periods and figures."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from renewals.domain import money
from renewals.domain.receivables import schedule_minor
from renewals.domain.receivables.schedule import CYCLE_MONTHS, add_months, billing_periods, period_amounts

CURRENCIES = ["USD", "EUR", "CNY", "KRW", "JPY", "BHD"]  # 2, 2, 2, 0, 0 and 3 decimals


def test_months_are_added_with_month_end_clamping_like_the_schedule() -> None:
    assert schedule_minor.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert schedule_minor.add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert schedule_minor.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert schedule_minor.add_months(date(2024, 2, 29), 48) == date(2028, 2, 29)
    assert schedule_minor.add_months(date(2100, 1, 31), 1) == date(2100, 2, 28)  # not a leap year
    assert schedule_minor.add_months(date(2000, 1, 31), 1) == date(2000, 2, 29)  # a leap year
    assert schedule_minor.add_months(date(2026, 12, 31), 2) == date(2027, 2, 28)  # across the year end


def test_rounding_is_half_up_away_from_zero_and_half_even_for_months() -> None:
    assert [schedule_minor.round_half_up(n, 2) for n in (1, 3, -1, -3, 4)] == [1, 2, -1, -2, 2]
    assert [schedule_minor.round_half_even(n, 2) for n in (1, 3, 5, 4, 0)] == [0, 2, 2, 2, 0]


def test_a_krw_period_cut_at_half_a_month_rounds_the_half_won_up() -> None:
    # 14 of February's 28 days of 1,957,501 won: 978,750.5 → 978,751; 10 % tax 97,875.1 → 97,875.
    (january, february) = schedule_minor.periods(date(2026, 1, 1), date(2026, 2, 14), 1, None, date(2026, 12, 31))
    _, _, billed, full = february

    priced = schedule_minor.price([(10_000, 1_957_501)], 1, billed, full, 100_000)

    assert january == (date(2026, 1, 1), date(2026, 1, 31), 31, 31)
    assert (billed, full) == (14, 28)
    assert (priced.net, priced.tax, priced.total, priced.months6) == (978_751, 97_875, 1_076_626, 500_000)


term_dates = st.dates(min_value=date(1995, 1, 1), max_value=date(2060, 12, 31))


@st.composite
def minor_lines(draw: st.DrawFn) -> list[tuple[int, int]]:
    """Contract lines as stored: quantity × 10^4 (whole or fractional) and a price in minor units."""
    count = draw(st.integers(min_value=0, max_value=4))
    whole_quantity = st.integers(min_value=1, max_value=50).map(lambda q: q * 10_000)
    fractional = st.integers(min_value=1, max_value=500_000)
    return [
        (draw(whole_quantity | fractional), draw(st.integers(min_value=0, max_value=100_000_000))) for _ in range(count)
    ]


@given(
    start=term_dates,
    days=st.integers(min_value=0, max_value=3000),
    cycle=st.sampled_from(sorted(CYCLE_MONTHS)),
    stop_offset=st.none() | st.integers(min_value=-40, max_value=3100),
    through_offset=st.integers(min_value=-40, max_value=3200),
    first_index=st.integers(min_value=0, max_value=3),
    currency=st.sampled_from(CURRENCIES),
    lines=minor_lines(),
    tax4=st.sampled_from([0, 50_000, 60_000, 100_000, 190_000, 77_500, 123_456]),
)
@example(  # a monthly term from 31 January through 29 February, cut on 14 March
    start=date(2024, 1, 31),
    days=400,
    cycle="monthly",
    stop_offset=43,
    through_offset=400,
    first_index=0,
    currency="USD",
    lines=[(15_000, 9_550)],
    tax4=190_000,
)
@example(  # an annual term from 29 February ending on a year end
    start=date(2024, 2, 29),
    days=(date(2027, 12, 31) - date(2024, 2, 29)).days,
    cycle="annual",
    stop_offset=None,
    through_offset=5000,
    first_index=0,
    currency="KRW",
    lines=[(10_000, 1_957_501), (25_000, 333)],
    tax4=100_000,
)
def test_the_integer_schedule_gives_the_decimal_schedules_periods_and_figures(
    start: date,
    days: int,
    cycle: str,
    stop_offset: int | None,
    through_offset: int,
    first_index: int,
    currency: str,
    lines: list[tuple[int, int]],
    tax4: int,
) -> None:
    end = start + timedelta(days=days)
    stop = None if stop_offset is None else start + timedelta(days=stop_offset)
    through = start + timedelta(days=through_offset)
    step = CYCLE_MONTHS[cycle]
    decimal_lines = [
        (f"line {i}", Decimal(q4).scaleb(-4), money.from_minor(unit, currency)) for i, (q4, unit) in enumerate(lines)
    ]
    tax_rate = Decimal(tax4).scaleb(-4)

    expected = [p for p in billing_periods(start, end, cycle, stop, first_index=first_index) if p.start <= through]
    got = list(schedule_minor.periods(start, end, step, stop, through, first_index))

    assert [(p_start, p_end) for p_start, p_end, _, _ in got] == [(p.start, p.end) for p in expected]
    for (p_start, _, billed, full), oracle in zip(got, expected, strict=True):
        assert (billed == full) == (oracle.ratio == step)
        assert p_start == add_months(start, oracle.index * step)
        priced = schedule_minor.price(lines, step, billed, full, tax4)
        amounts = period_amounts(decimal_lines, oracle, currency, tax_rate)
        assert priced.line_amounts == tuple(money.to_minor(line.amount, currency) for line in amounts.lines)
        assert (priced.net, priced.tax, priced.total) == (
            money.to_minor(amounts.net, currency),
            money.to_minor(amounts.tax, currency),
            money.to_minor(amounts.total, currency),
        )
        assert Decimal(priced.months6).scaleb(-6) == oracle.months.quantize(Decimal("0.000001"))


@given(anchor=st.dates(min_value=date(1, 1, 1), max_value=date(9000, 12, 31)), months=st.integers(0, 11_000))
def test_adding_months_agrees_with_the_schedule_over_the_whole_calendar(anchor: date, months: int) -> None:
    assert schedule_minor.add_months(anchor, months) == add_months(anchor, months)
