"""Invoices, payments and the billing run over HTTP: thin handlers, one service call each."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody

from renewals.api.context import Req, guard_run_day, state_of, unit
from renewals.api.params import Limit, Offset
from renewals.api.tabular import CSV_OUT, listing
from renewals.db.uow import rehearse
from renewals.domain.pagination import Page
from renewals.domain.receivables import invoices, payments
from renewals.domain.receivables.billing import run_billing, run_billing_in_slices
from renewals.domain.receivables.schemas import (
    BillingRunIn,
    BillingSummary,
    CreditNoteIn,
    CreditNoteOut,
    HoldIn,
    InvoiceDetail,
    InvoiceOut,
    PaymentIn,
    PaymentOut,
    ReleaseIn,
    ReversalIn,
    WriteOffIn,
)


class InvoiceController(Controller):
    path = "/invoices"
    tags = ["receivables"]

    @get("/", sync_to_thread=True, opt=CSV_OUT)
    def list_invoices(
        self,
        request: Req,
        limit: Limit = 50,
        offset: Offset = 0,
        status: FromQuery[str | None] = None,
        client_id: FromQuery[int | None] = None,
        contract_id: FromQuery[int | None] = None,
        currency: FromQuery[str | None] = None,
        overdue_as_of: FromQuery[date | None] = None,
        on_hold: FromQuery[bool | None] = None,
    ) -> Page[InvoiceOut]:
        """Invoices of the clients the caller may see, by due date; `overdue_as_of` keeps those
        due before that date with a balance left."""
        return listing(
            request,
            InvoiceOut,
            invoices.list_invoices,
            invoices.invoice_out,
            limit=limit,
            offset=offset,
            status=status,
            client_id=client_id,
            contract_id=contract_id,
            currency=currency,
            overdue_as_of=overdue_as_of,
            on_hold=on_hold,
        )

    @get("/{invoice_id:int}", sync_to_thread=True)
    def get_invoice(self, request: Req, invoice_id: FromPath[int]) -> InvoiceDetail:
        """One invoice with its lines, credit notes, allocations and write-offs."""
        with unit(request) as (session, me):
            return invoices.invoice_detail(session, invoices.get_visible_invoice(session, me, invoice_id))

    @post("/{invoice_id:int}/credit-notes", sync_to_thread=True)
    def credit(self, request: Req, invoice_id: FromPath[int], data: JSONBody[CreditNoteIn]) -> CreditNoteOut:
        """Credit part of an invoice's balance (finance, managers, admins)."""
        today = state_of(request).today()
        with unit(request) as (session, me):
            return invoices.credit_note_out(invoices.issue_credit_note(session, me, invoice_id, data, today))

    @post("/{invoice_id:int}/write-off", sync_to_thread=True, status_code=200)
    def write_off(self, request: Req, invoice_id: FromPath[int], data: JSONBody[WriteOffIn]) -> InvoiceDetail:
        """Close the balance as bad debt (managers and admins)."""
        today = state_of(request).today()
        with unit(request) as (session, me):
            return invoices.invoice_detail(session, invoices.write_off(session, me, invoice_id, data, today))

    @post("/{invoice_id:int}/hold", sync_to_thread=True, status_code=200)
    def hold(self, request: Req, invoice_id: FromPath[int], data: JSONBody[HoldIn]) -> InvoiceOut:
        """Hold dunning: a dispute, or a promise to pay by `until`."""
        today = state_of(request).today()
        with unit(request) as (session, me):
            return invoices.invoice_out(invoices.hold(session, me, invoice_id, data, today))

    @post("/{invoice_id:int}/release", sync_to_thread=True, status_code=200)
    def release(self, request: Req, invoice_id: FromPath[int], data: JSONBody[ReleaseIn | None] = None) -> InvoiceOut:
        """Lift the hold."""
        with unit(request) as (session, me):
            return invoices.invoice_out(invoices.release(session, me, invoice_id, data or ReleaseIn()))


class PaymentController(Controller):
    path = "/payments"
    tags = ["receivables"]

    @get("/", sync_to_thread=True, opt=CSV_OUT)
    def list_payments(
        self,
        request: Req,
        limit: Limit = 50,
        offset: Offset = 0,
        client_id: FromQuery[int | None] = None,
        currency: FromQuery[str | None] = None,
        received_from: FromQuery[date | None] = None,
        received_to: FromQuery[date | None] = None,
        reversed: FromQuery[bool | None] = None,
        unapplied: FromQuery[bool | None] = None,
    ) -> Page[PaymentOut]:
        """Payments of the clients the caller may see, newest first."""
        return listing(
            request,
            PaymentOut,
            payments.list_payments,
            payments.payment_out,
            limit=limit,
            offset=offset,
            client_id=client_id,
            currency=currency,
            received_from=received_from,
            received_to=received_to,
            reversed=reversed,
            unapplied=unapplied,
        )

    @get("/{payment_id:int}", sync_to_thread=True)
    def get_payment(self, request: Req, payment_id: FromPath[int]) -> PaymentOut:
        with unit(request) as (session, me):
            return payments.payment_out(payments.get_visible_payment(session, me, payment_id))

    @post("/", sync_to_thread=True)
    def record_payment(
        self,
        request: Req,
        data: JSONBody[PaymentIn],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)] = None,
    ) -> Response[dict[str, Any]]:
        """Record a payment and apply it oldest due first, unless `allocations` name the invoices.

        A retry with the same `Idempotency-Key` and body answers as the first request did."""
        today = state_of(request).today()
        with unit(request) as (session, me):
            body, replayed = payments.record_payment(session, me, data, idempotency_key, today)
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return Response(body, status_code=201, headers=headers)

    @post("/{payment_id:int}/reverse", sync_to_thread=True, status_code=200)
    def reverse(self, request: Req, payment_id: FromPath[int], data: JSONBody[ReversalIn | None] = None) -> PaymentOut:
        """Reverse a bounced payment: what it paid is open again. A second reversal answers 409."""
        today = state_of(request).today()
        with unit(request) as (session, me):
            return payments.payment_out(payments.reverse_payment(session, me, payment_id, data or ReversalIn(), today))


class BillingController(Controller):
    path = "/billing"
    tags = ["receivables"]

    @post("/run", sync_to_thread=True, status_code=200)
    def run(self, request: Req, data: JSONBody[BillingRunIn]) -> BillingSummary:
        """Issue every invoice whose period starts on or before `through` (finance, managers, admins);
        with `dry_run`, say what it would issue and issue nothing. A day more than a month ahead
        needs an admin and `force`."""
        with unit(request) as (session, me):
            guard_run_day(request, me, data.through, "through", force=data.force, dry_run=data.dry_run)
            if data.dry_run:
                summary = rehearse(session, lambda: run_billing(session, data.through, me))
                return msgspec.structs.replace(summary, dry_run=True)
        # Committed slice by slice, so the run never holds the write lock for long.
        return run_billing_in_slices(state_of(request).sessions, data.through, me.id)
