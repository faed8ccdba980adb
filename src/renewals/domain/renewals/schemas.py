"""Renewal shapes as the API carries them (pinned field names first, helpful extras after)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from renewals.domain.contracts.schemas import LineIn

ActivityKind = Literal["call", "email", "meeting", "note"]
Note = Annotated[str, msgspec.Meta(max_length=4000)]
Reason = Annotated[str, msgspec.Meta(max_length=2000)]
Signer = Annotated[str, msgspec.Meta(max_length=200)]


class TransitionIn(msgspec.Struct, forbid_unknown_fields=True):
    """`{to, note, ...}`; the new terms and the paper trail apply when `to` is `renewed`."""

    to: str
    note: Note | None = None
    version: int | None = None
    # lost
    reason: Reason | None = None
    # dunning level 3 or above, account managers only
    override_reason: Reason | None = None
    # awaiting_signature / renewed: the paper trail
    sent_for_signature_on: date | None = None
    signed_on: date | None = None
    signed_by: Signer | None = None
    seal_received: bool | None = None
    # renewed: the new terms (defaults: the contract's renewal term and uplift)
    end_date: date | None = None
    term_months: int | None = None
    uplift_pct: Decimal | None = None
    lines: list[LineIn] | None = None


class RenewalPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Update the paper trail while awaiting signature, or the next action date of an open renewal."""

    version: int
    next_action_date: date | UnsetType | None = UNSET
    sent_for_signature_on: date | UnsetType | None = UNSET
    signed_on: date | UnsetType | None = UNSET
    signed_by: Signer | UnsetType | None = UNSET
    seal_received: bool | UnsetType = UNSET


class ActivityIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: ActivityKind
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    next_follow_up_on: date | None = None
    at: datetime | None = None


class ActivityOut(msgspec.Struct):
    id: int
    renewal_id: int
    kind: str
    author_id: int | None
    at: datetime
    text: str
    next_follow_up_on: date | None
    author_contact_id: int | None = None
    """The client contact who wrote it (an answer to a letter), when no user did."""


class RenewalOut(msgspec.Struct):
    id: int
    contract_id: int
    owner_id: int
    status: str
    end_date: date
    next_action_date: date | None
    risk_score: int
    open_balance: Decimal
    overdue_balance: Decimal
    dunning_level: int
    activities: list[ActivityOut]
    # extras
    client_id: int
    client_name: str
    contract_number: str
    currency: str
    monthly_value: Decimal
    auto_renew: bool
    days_left: int
    last_activity_at: datetime | None
    sent_for_signature_on: date | None
    signed_on: date | None
    signed_by: str | None
    seal_received: bool
    successor_contract_id: int | None
    lost_reason: str | None
    decided_on: date | None
    override_reason: str | None
    version: int
    allowed_transitions: list[str]


# -------------------------------------------------------------------------------------------
# /reports/renewals
# -------------------------------------------------------------------------------------------


class CurrencyValue(msgspec.Struct):
    currency: str
    count: int
    monthly_value: Decimal
    annual_value: Decimal


class StateBucket(msgspec.Struct):
    status: str
    count: int
    values: list[CurrencyValue]


class MonthBucket(msgspec.Struct):
    month: str  # YYYY-MM of the end date
    count: int
    by_state: dict[str, int]
    values: list[CurrencyValue]


class Rates(msgspec.Struct):
    decided_from: date
    decided_to: date
    decided: int
    renewed: int
    auto_renewed: int
    lost: int
    lapsed: int
    renewal_rate: Decimal | None  # percent, two decimals; null when nothing was decided
    churn_rate: Decimal | None


class ValueAtRisk(msgspec.Struct):
    days: int
    through: date
    count: int
    values: list[CurrencyValue]


class RenewalReport(msgspec.Struct):
    as_of: date
    months: int
    window_from: date
    window_to: date
    pipeline_by_state: list[StateBucket]
    pipeline_by_month: list[MonthBucket]
    rates: Rates
    value_at_risk: ValueAtRisk
