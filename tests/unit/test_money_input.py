"""Amounts as people type them: what is accepted, and what is refused naming the field."""

from __future__ import annotations

from decimal import Decimal

import pytest

from renewals.domain.money import parse_amount
from renewals.errors import ValidationFailed


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("1234.50", "USD", Decimal("1234.50")),
        (" 7 ", "USD", Decimal("7.00")),
        ("9999999999999.99", "USD", Decimal("9999999999999.99")),
        ("999999999999999", "KRW", Decimal("999999999999999")),
        (1957500, "KRW", Decimal("1957500")),
    ],
)
def test_plain_decimal_amounts_up_to_the_bound_are_accepted(text: object, currency: str, expected: Decimal) -> None:
    assert parse_amount(text, currency, "amount") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("100000000000000000000", "must not exceed 9999999999999.99 USD"),
        (10**20, "must not exceed 9999999999999.99 USD"),
        (Decimal("1E+40"), "must not exceed 9999999999999.99 USD"),
        ("１２３", "malformed amount"),  # full-width digits
        ("١٢٣", "malformed amount"),  # Arabic-Indic digits
        ("1e3", "malformed amount"),
        ("1_000", "malformed amount"),
        ("NaN", "malformed amount"),
        ("12\x00", "malformed amount"),
        ("1" * 500, "malformed amount"),
        (1.5, "not floats"),
    ],
)
def test_out_of_range_or_malformed_amounts_are_refused_naming_the_field(value: object, message: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_amount(value, "USD", "allocations[2].amount")

    assert refused.value.extra[0]["key"] == "allocations[2].amount"
    assert message in refused.value.extra[0]["message"]
