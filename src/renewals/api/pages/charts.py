"""Server-side SVG charts as plain geometry: the template draws rectangles, the numbers stay in a
table beside each chart. Pure functions; no drawing library and nothing fetched by the browser."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

WIDTH, HEIGHT = 720, 240
LEFT, BOTTOM, TOP = 8, 36, 16


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    x: float
    y: float
    width: float
    height: float
    series: int = 0


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    baseline: float
    slot: float
    tops: list[float]  # per column: the y of its top, where a total can be written


def _geometry(count: int) -> tuple[float, float, float]:
    slot = (WIDTH - LEFT * 2) / max(count, 1)
    plot = HEIGHT - BOTTOM - TOP
    return slot, plot, HEIGHT - BOTTOM


def bar_chart(values: list[tuple[str, Decimal]], *, one_series: bool = False) -> Chart:
    """One bar per value, scaled to the largest (negative values draw as empty); each bar in its
    own colour (categories), or all in the first (`one_series`: a time series)."""
    slot, plot, base = _geometry(len(values))
    top = max((v for _, v in values), default=Decimal(0))
    bars = []
    for i, (label, value) in enumerate(values):
        h = float(value / top) * plot if top > 0 and value > 0 else 0.0
        series = 0 if one_series else min(i, 7)
        bars.append(Bar(label, value, LEFT + i * slot + slot * 0.15, base - h, slot * 0.7, h, series))
    return Chart(bars, WIDTH, HEIGHT, base, slot, [b.y for b in bars])


def stacked_chart(columns: list[tuple[str, list[int]]]) -> Chart:
    """One column per label, stacked by series (e.g. renewal states), scaled to the tallest."""
    slot, plot, base = _geometry(len(columns))
    top = max((sum(parts) for _, parts in columns), default=0)
    bars = []
    tops = []
    for i, (label, parts) in enumerate(columns):
        y = base
        for series, count in enumerate(parts):
            if count <= 0 or top == 0:
                continue
            h = count / top * plot
            y -= h
            bars.append(Bar(label, Decimal(count), LEFT + i * slot + slot * 0.15, y, slot * 0.7, h, min(series, 7)))
        tops.append(y)
    return Chart(bars, WIDTH, HEIGHT, base, slot, tops)
