"""Pure decisions of the daily scan beyond raising: chunking, whether an alert still stands, calendars.

No session, no clock: a replayed day decides exactly as it did the first time. The set-based
scan writes the same decisions as SQL conditions (`resolving.py`); these functions are their
definition, and the oracle test holds the two equal.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, timedelta

from renewals.domain.alerts.rules import (
    DEFAULT_THRESHOLDS,
    AlertKind,
    Thresholds,
    notice_deadline_due,
    renewal_due_threshold,
)
from renewals.domain.receivables.ledger import OPEN_STATUSES as UNPAID_INVOICE_STATUSES
from renewals.domain.renewals.rules import OPEN_STATUSES as OPEN_RENEWAL_STATUSES

# Who works an alert: the account manager of the client, or finance (the manager of the account
# manager is informed of a lapse, finance informs the account manager of money matters).
FINANCE_KINDS: frozenset[str] = frozenset({AlertKind.INVOICE_OVERDUE, AlertKind.CREDIT_LIMIT, AlertKind.PROMISE_BROKEN})
ACCOUNT_KINDS: frozenset[str] = frozenset(
    {AlertKind.RENEWAL_DUE, AlertKind.NOTICE_DEADLINE, AlertKind.RENEWAL_LAPSED, AlertKind.FOLLOW_UP_DUE}
)
CONTRACT_KINDS: tuple[str, ...] = (AlertKind.RENEWAL_DUE, AlertKind.NOTICE_DEADLINE)
INVOICE_KINDS: tuple[str, ...] = (AlertKind.INVOICE_OVERDUE, AlertKind.PROMISE_BROKEN)
RENEWAL_KINDS: tuple[str, ...] = (AlertKind.RENEWAL_LAPSED, AlertKind.FOLLOW_UP_DUE)


def id_ranges(lowest: int | None, highest: int | None, size: int) -> list[tuple[int, int]]:
    """Split the ids from `lowest` to `highest` into inclusive ranges of `size` ids.

    Ranges cover ids, not rows: a table with gaps gets some thin chunks, never one per row.
    Raises ValueError for a size below 1.
    """
    if size < 1:
        raise ValueError(f"chunk size must be at least 1: {size}")
    if lowest is None or highest is None:
        return []
    return [(lo, min(lo + size - 1, highest)) for lo in range(lowest, highest + 1, size)]


def contract_alert_stands(
    kind: str,
    threshold: int | None,
    *,
    contract_status: str,
    renewal_status: str | None,
    end_date: date,
    auto_renew: bool,
    notice_period_days: int,
    as_of: date,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> bool:
    """Tell whether a renewal_due or notice_deadline alert still describes the contract on `as_of`.

    Its cause is gone once the contract is no longer active (renewed, terminated, expired), once
    its renewal carries a decision (renewed, lost, auto-renewed, lapsed), and — for renewal_due —
    once the contract moved to a nearer band (the 90-day warning is superseded by the 60-day one)
    or away from every band (its end date was extended); for notice_deadline once the opt-out
    deadline has passed or auto-renew was switched off.
    """
    if contract_status != "active":
        return False
    if renewal_status is not None and renewal_status not in OPEN_RENEWAL_STATUSES:
        return False
    if kind == AlertKind.RENEWAL_DUE:
        return renewal_due_threshold(end_date, as_of, thresholds.renewal_due) == threshold
    if kind == AlertKind.NOTICE_DEADLINE:
        deadline = notice_deadline_due(end_date, notice_period_days, as_of, thresholds.notice_lead_days)
        return auto_renew and deadline is not None
    return True


def invoice_alert_stands(
    kind: str, threshold: int | None, *, status: str, balance_minor: int, dunning_level: int
) -> bool:
    """Tell whether an invoice_overdue or promise_broken alert still stands.

    Paid, credited, voided and written-off invoices carry no alert. An overdue alert is
    superseded when the invoice climbs to the next dunning level (a held invoice stays at its
    level, so its alert stays open); a broken promise stands until the invoice is settled.
    """
    if status not in UNPAID_INVOICE_STATUSES or balance_minor <= 0:
        return False
    if kind == AlertKind.INVOICE_OVERDUE:
        return threshold == dunning_level
    return True


def over_credit_limit(open_balance_minor: int, credit_limit_minor: int) -> bool:
    """Tell whether a client's open balance exceeds its credit limit; a limit of 0 means none was set."""
    return credit_limit_minor > 0 and open_balance_minor > credit_limit_minor


def credit_alert_stands(threshold: int | None, *, open_balance_minor: int, credit_limit_minor: int) -> bool:
    """A credit_limit alert stands while the balance exceeds the limit it was raised for."""
    return threshold == credit_limit_minor and over_credit_limit(open_balance_minor, credit_limit_minor)


def follow_up_alert_stands(
    *, renewal_status: str, source_activity_id: int | None, latest_activity_id: int | None
) -> bool:
    """A follow_up_due alert stands until the renewal closes or a newer activity is logged on it.

    Logging the call (or any later activity) is the follow-up, so it resolves the reminder.
    """
    if renewal_status not in OPEN_RENEWAL_STATUSES:
        return False
    return source_activity_id is not None and source_activity_id == latest_activity_id


# --------------------------------------------------------------------------------------------
# Birthdays
# --------------------------------------------------------------------------------------------


def celebration(birthday: date, year: int) -> date:
    """Return the day a birthday is celebrated in `year`: 29 February falls on 28 February
    in common years (the last day of the month it was born in, not 1 March)."""
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, birthday.month, birthday.day)


def next_celebration(birthday: date, as_of: date) -> date:
    """Return the first celebration of `birthday` on or after `as_of` (across the year end)."""
    this_year = celebration(birthday, as_of.year)
    return this_year if this_year >= as_of else celebration(birthday, as_of.year + 1)


def birthday_month_days(as_of: date, days: int) -> set[tuple[int, int]]:
    """Return the (month, day) pairs whose birthdays are celebrated from `as_of` for `days` days.

    The window is `as_of` and the `days − 1` days after it. 28 February of a common year also
    matches people born on 29 February. Raises ValueError for fewer than one day.
    """
    if days < 1:
        raise ValueError(f"the window needs at least one day: {days}")
    pairs: set[tuple[int, int]] = set()
    for offset in range(days):
        day = as_of + timedelta(days=offset)
        pairs.add((day.month, day.day))
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            pairs.add((2, 29))
    return pairs


def sort_birthdays(birthdays: Iterable[tuple[int, date]], as_of: date) -> list[tuple[int, date]]:
    """Order (id, birthday) pairs by their next celebration, then id."""
    return sorted(birthdays, key=lambda pair: (next_celebration(pair[1], as_of), pair[0]))
