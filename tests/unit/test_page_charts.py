"""The pages' SVG charts are plain geometry: bars scaled to the largest, columns stacked."""

from __future__ import annotations

from decimal import Decimal

import pytest

from renewals.api.pages.charts import bar_chart, stacked_chart


def test_bars_are_scaled_to_the_largest_value_and_stand_on_the_baseline():
    chart = bar_chart([("current", Decimal(50)), ("1-30", Decimal(100)), ("31-60", Decimal(0))])
    heights = [b.height for b in chart.bars]
    assert heights[1] == pytest.approx(2 * heights[0])
    assert heights[2] == 0
    assert all(b.y + b.height == pytest.approx(chart.baseline) for b in chart.bars)
    assert chart.tops == [b.y for b in chart.bars]


def test_stacked_columns_put_each_series_on_the_one_below_and_the_tallest_fills_the_plot():
    chart = stacked_chart([("2026-12", [3, 1]), ("2027-01", [0, 2])])
    first = [b for b in chart.bars if b.label == "2026-12"]
    assert [b.series for b in first] == [0, 1]
    assert first[1].y + first[1].height == pytest.approx(first[0].y)
    second = [b for b in chart.bars if b.label == "2027-01"]
    assert [b.series for b in second] == [1]
    assert chart.tops[0] < chart.tops[1]


def test_an_empty_or_all_zero_chart_draws_no_bar():
    assert bar_chart([]).bars == []
    assert stacked_chart([("2026-12", [0, 0])]).bars == []
