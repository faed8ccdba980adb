"""Alert and today-page shapes as the API carries them (pinned alert field names first)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec

from renewals.domain.pagination import Page


class AlertOut(msgspec.Struct):
    id: int
    kind: str
    subject_type: str
    subject_id: int
    threshold: int | None
    severity: str
    assignee_id: int | None
    status: str
    raised_on: date
    resolved_on: date | None
    dedupe_key: str
    informed_id: int | None
    client_id: int | None
    message: str
    details: dict[str, Any] | None
    acknowledged_by: int | None
    acknowledged_at: datetime | None
    resolved_by: int | None
    resolution: str | None


class AlertAction(msgspec.Struct, forbid_unknown_fields=True):
    """Optional body of acknowledge / resolve: a note for the audit log."""

    note: str | None = None


class TodayRenewal(msgspec.Struct):
    id: int
    contract_id: int
    contract_number: str
    client_id: int
    client_name: str
    status: str
    end_date: date
    days_left: int
    next_action_date: date | None
    # Why it is on the list: `next_action_due`, `ending_soon` or both.
    reasons: list[str]


class TodayFollowUp(msgspec.Struct):
    activity_id: int
    renewal_id: int
    contract_number: str
    client_id: int
    client_name: str
    kind: str
    text: str
    next_follow_up_on: date


class TodayInvoice(msgspec.Struct):
    id: int
    number: str | None
    client_id: int
    client_name: str
    currency: str
    balance: Decimal
    due_date: date
    days_overdue: int
    dunning_level: int
    hold: str | None


class TodayOverdueClient(msgspec.Struct):
    """One client's overdue invoices in one currency."""

    client_id: int
    client_name: str
    currency: str
    invoice_count: int
    total: Decimal
    dunning_level: int
    """The highest dunning level among the invoices."""
    oldest_due_date: date
    days_overdue: int
    """Days past the oldest due date."""
    invoices: list[TodayInvoice]


class TodayBirthday(msgspec.Struct):
    contact_id: int
    client_id: int
    client_name: str
    name: str
    birthday: date
    # The day it is celebrated: 29 February falls on 28 February in a common year.
    celebrate_on: date
    days_until: int


class TodayOut(msgspec.Struct):
    as_of: date
    renewals: list[TodayRenewal]
    follow_ups: list[TodayFollowUp]
    overdue_clients: Page[TodayOverdueClient]
    """Overdue invoices grouped by client and currency, paginated by `limit` and `offset`."""
    birthdays: list[TodayBirthday]
    alerts: list[AlertOut]
    # How many of each list exist in all; the lists stop at `limit` items each.
    counts: dict[str, int]
