"""Sign-in throttling rules: a sliding window per account and per address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from renewals.domain.access.throttle import LoginThrottle
from renewals.errors import TooManyAttempts

T0 = datetime(2026, 2, 28, 23, 59, tzinfo=UTC)


def test_fifth_failure_for_an_account_blocks_the_next_try_until_the_window_passes() -> None:
    throttle = LoginThrottle(account_limit=5, address_limit=100)
    for minute in range(5):
        throttle.check("ana@example.test", "10.0.0.1", T0 + timedelta(minutes=minute))
        throttle.failed("Ana@Example.test ", "10.0.0.1", T0 + timedelta(minutes=minute))

    with pytest.raises(TooManyAttempts) as refused:
        throttle.check("ana@example.test", "10.0.0.9", T0 + timedelta(minutes=5))
    assert refused.value.retry_after == 10 * 60 + 1  # the first failure leaves the window at T0+15 min
    throttle.check("ana@example.test", "10.0.0.9", T0 + timedelta(minutes=15))  # window passed: allowed


def test_one_address_guessing_many_accounts_is_blocked_by_its_own_limit() -> None:
    throttle = LoginThrottle(account_limit=5, address_limit=3)
    for n in range(3):
        throttle.failed(f"user{n}@example.test", "192.0.2.7", T0)

    with pytest.raises(TooManyAttempts):
        throttle.check("someone-else@example.test", "192.0.2.7", T0 + timedelta(seconds=1))
    throttle.check("someone-else@example.test", "192.0.2.8", T0 + timedelta(seconds=1))


def test_a_success_clears_the_accounts_failures() -> None:
    throttle = LoginThrottle(account_limit=2, address_limit=100)
    throttle.failed("bo@example.test", "10.0.0.1", T0)
    throttle.succeeded("bo@example.test")
    throttle.failed("bo@example.test", "10.0.0.1", T0)

    throttle.check("bo@example.test", "10.0.0.1", T0)
