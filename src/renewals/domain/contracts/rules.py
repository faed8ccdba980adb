"""Pure contract rules: validation of terms and lines, and which changes a status allows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from renewals.domain import money
from renewals.domain.contracts.schemas import LineIn
from renewals.errors import Conflict, ValidationFailed

SCALE = Decimal("0.0001")  # quantities and percentages keep four decimals
LIMIT = Decimal(10) ** 9  # quantities and percentages stay below this (scaled, they fit 64 bits)


def _check_scale(value: Decimal, field: str) -> None:
    if not value.is_finite():
        raise ValidationFailed(field, "must be a number")
    if abs(value) >= LIMIT:
        raise ValidationFailed(field, "must be less than 1000000000")
    if value != value.quantize(SCALE):
        raise ValidationFailed(field, "at most four decimals")


def check_dates(start: date, end: date) -> None:
    if end < start:
        raise ValidationFailed("end_date", "must be on or after start_date")


def check_percent(value: Decimal, field: str, *, low: Decimal, high: Decimal) -> Decimal:
    _check_scale(value, field)
    if not low <= value <= high:
        raise ValidationFailed(field, f"must be a percentage between {low} and {high}")
    return value


def check_lines(lines: Sequence[LineIn], currency: str) -> list[tuple[str, Decimal, Decimal]]:
    """Validate lines; return (description, quantity, monthly unit price) with exact amounts."""
    out = []
    for i, line in enumerate(lines):
        _check_scale(line.quantity, f"lines[{i}].quantity")
        if line.quantity <= 0:
            raise ValidationFailed(f"lines[{i}].quantity", "must be greater than zero")
        price = money.parse_amount(line.monthly_unit_price, currency, f"lines[{i}].monthly_unit_price")
        out.append((line.description.strip(), line.quantity, price))
    return out


def monthly_value(lines: Sequence[tuple[str, Decimal, Decimal]], currency: str) -> Decimal:
    return money.round_money(sum((q * p for _, q, p in lines), Decimal(0)), currency)


def check_activation(line_count: int) -> None:
    if line_count == 0:
        raise ValidationFailed("lines", "an active contract needs at least one line")


def check_status_change(current: str, new: str) -> None:
    if current == new:
        return
    if (current, new) != ("draft", "active"):
        raise Conflict(
            f"a {current} contract cannot become {new} by an edit",
            extra={"status": f"allowed: {'active' if current == 'draft' else 'none'}"},
        )


def check_termination(status: str, start: date, end: date, effective: date) -> None:
    if status != "active":
        raise Conflict(f"only an active contract can be terminated; this one is {status}", extra={"status": status})
    if not start <= effective <= end:
        raise ValidationFailed("effective_date", f"must lie within the term {start} to {end}")
