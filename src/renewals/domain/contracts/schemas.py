"""Contract shapes as the API carries them (pinned field names)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

Kind = Literal["rental", "service"]
Cycle = Literal["monthly", "quarterly", "semiannual", "annual"]
Days = Annotated[int, msgspec.Meta(ge=0, le=3650)]
Months = Annotated[int, msgspec.Meta(ge=1, le=120)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Number = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]


class LineIn(msgspec.Struct, forbid_unknown_fields=True):
    description: Text
    quantity: Decimal
    monthly_unit_price: Decimal


class LineOut(msgspec.Struct):
    description: str
    quantity: Decimal
    monthly_unit_price: Decimal


class ContractIn(msgspec.Struct, forbid_unknown_fields=True):
    client_id: int
    number: Number
    title: Text
    kind: Kind
    start_date: date
    end_date: date
    billing_cycle: Cycle
    currency: str | None = None
    tax_rate: Decimal = Decimal(0)
    payment_terms_days: Days = 30
    notice_period_days: Days = 90
    auto_renew: bool = False
    renewal_term_months: Months = 12
    renewal_uplift_pct: Decimal = Decimal(0)
    status: Literal["draft", "active"] = "draft"
    lines: list[LineIn] = msgspec.field(default_factory=list)


class ContractPatch(msgspec.Struct, forbid_unknown_fields=True):
    version: int
    title: Text | UnsetType = UNSET
    kind: Kind | UnsetType = UNSET
    start_date: date | UnsetType = UNSET
    end_date: date | UnsetType = UNSET
    billing_cycle: Cycle | UnsetType = UNSET
    tax_rate: Decimal | UnsetType = UNSET
    payment_terms_days: Days | UnsetType = UNSET
    notice_period_days: Days | UnsetType = UNSET
    auto_renew: bool | UnsetType = UNSET
    renewal_term_months: Months | UnsetType = UNSET
    renewal_uplift_pct: Decimal | UnsetType = UNSET
    status: Literal["draft", "active"] | UnsetType = UNSET
    lines: list[LineIn] | UnsetType = UNSET


class TerminationIn(msgspec.Struct, forbid_unknown_fields=True):
    effective_date: date
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class ContractOut(msgspec.Struct):
    id: int
    client_id: int
    number: str
    title: str
    kind: str
    start_date: date
    end_date: date
    billing_cycle: str
    currency: str
    tax_rate: Decimal
    payment_terms_days: int
    notice_period_days: int
    auto_renew: bool
    renewal_term_months: int
    renewal_uplift_pct: Decimal
    status: str
    predecessor_id: int | None
    version: int
    lines: list[LineOut]
    terminated_on: date | None = None
    termination_reason: str | None = None
