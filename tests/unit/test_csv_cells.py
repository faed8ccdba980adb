"""How one value is written into a CSV cell."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from renewals.api.tabular import cell


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (Decimal("1234.50"), "1234.50"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-12.50"), "-12.50"),
        (1500000, "1500000"),
        (date(2028, 2, 29), "2028-02-29"),
        (datetime(2026, 6, 30, 9, 15, tzinfo=UTC), "2026-06-30T09:15:00+00:00"),
        (["ending_soon", "next_action_due"], "ending_soon; next_action_due"),
        ({"name": "北京", "limit": "100.00"}, '{"limit":"100.00","name":"北京"}'),
        ("서울데이터센터", "서울데이터센터"),
        ("=1+1", "'=1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
    ],
)
def test_a_value_becomes_plain_text(value, text):
    assert cell(value) == text
