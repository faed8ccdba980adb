"""Receivables shapes as the API carries them (pinned field names for invoice and payment)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
HoldKind = Literal["dispute", "promise"]


class HoldOut(msgspec.Struct):
    kind: str
    until: date | None
    reason: str | None
    since: date | None


class InvoiceOut(msgspec.Struct):
    id: int
    number: str | None
    client_id: int
    contract_id: int
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    currency: str
    net: Decimal
    tax: Decimal
    total: Decimal
    paid: Decimal
    credited: Decimal
    balance: Decimal
    status: str
    dunning_level: int
    hold: HoldOut | None
    written_off: Decimal
    version: int


class InvoiceLineOut(msgspec.Struct):
    description: str
    quantity: Decimal
    monthly_unit_price: Decimal
    months: Decimal
    amount: Decimal


class CreditNoteOut(msgspec.Struct):
    id: int
    number: str | None
    invoice_id: int
    amount: Decimal
    currency: str
    issued_on: date
    reason: str


class WriteOffOut(msgspec.Struct):
    id: int
    invoice_id: int
    amount: Decimal
    currency: str
    written_off_on: date
    reason: str
    approved_by: int | None


class InvoiceAllocationOut(msgspec.Struct):
    payment_id: int
    amount: Decimal
    applied_on: date
    reversed_on: date | None


class InvoiceDetail(InvoiceOut):
    lines: list[InvoiceLineOut] = msgspec.field(default_factory=list)
    credit_notes: list[CreditNoteOut] = msgspec.field(default_factory=list)
    allocations: list[InvoiceAllocationOut] = msgspec.field(default_factory=list)
    write_offs: list[WriteOffOut] = msgspec.field(default_factory=list)


class CreditNoteIn(msgspec.Struct, forbid_unknown_fields=True):
    amount: str | int
    reason: Reason
    issued_on: date | None = None


class WriteOffIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason
    written_off_on: date | None = None


class HoldIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: HoldKind
    reason: Reason
    until: date | None = None


class ReleaseIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class AllocationIn(msgspec.Struct, forbid_unknown_fields=True):
    invoice_id: int
    amount: str | int


class PaymentIn(msgspec.Struct, forbid_unknown_fields=True):
    client_id: int
    amount: str | int
    currency: str
    method: Annotated[str, msgspec.Meta(min_length=1, max_length=30)] = "bank_transfer"
    reference: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    received_on: date | None = None
    allocations: list[AllocationIn] | None = None


class ReversalIn(msgspec.Struct, forbid_unknown_fields=True):
    reversed_on: date | None = None
    reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class AllocationOut(msgspec.Struct):
    invoice_id: int
    amount: Decimal


class PaymentOut(msgspec.Struct):
    id: int
    client_id: int
    amount: Decimal
    currency: str
    received_on: date
    method: str
    reference: str | None
    unapplied: Decimal
    allocations: list[AllocationOut]
    reversed: bool
    reversed_on: date | None


class BillingRunIn(msgspec.Struct, forbid_unknown_fields=True):
    through: date
    dry_run: bool = False
    """Report what the run would issue through that day, and issue nothing."""
    force: bool = False
    """An admin billing more than a month ahead of today, on purpose."""


class BillingSummary(msgspec.Struct):
    run_id: int
    through: date
    contracts_scanned: int
    invoices_issued: int
    credit_applied: int
    dry_run: bool = False
