"""Receivables: aging per currency with its chart, drill-down to a bucket's invoices, and the
actions on an invoice (payment, credit note, hold, release, write-off)."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from renewals.api.context import Req, state_of
from renewals.api.pages.charts import bar_chart
from renewals.api.pages.web import (
    Form,
    back,
    check_csrf,
    csv_download,
    done,
    local_path,
    parse,
    refused,
    render,
    signed_in,
    text,
)
from renewals.domain import money as amounts
from renewals.domain.clients.service import get_visible
from renewals.domain.receivables import invoices, payments, reports
from renewals.domain.receivables.aging import bucket_bounds_as_due_dates
from renewals.domain.receivables.schemas import (
    CreditNoteIn,
    HoldIn,
    InvoiceOut,
    PaymentIn,
    ReleaseIn,
    ReversalIn,
    WriteOffIn,
)
from renewals.errors import NotFound, RenewalsError, ValidationFailed

PAGE = 100


class ReceivablesPages(Controller):
    include_in_schema = False

    @get("/receivables", sync_to_thread=True)
    def receivables(
        self,
        request: Req,
        currency: FromQuery[str | None] = None,
        bucket: FromQuery[str | None] = None,
        offset: FromQuery[int] = 0,
        format: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Aging as of today per currency; with `currency` and `bucket`, that bucket's invoices
        (`format=csv`: all of them as CSV)."""
        state = state_of(request)
        today = state.today()
        bounds = state.settings.aging_buckets
        ranges = {r.name: r for r in bucket_bounds_as_due_dates(today, bounds)}
        if bucket is not None and bucket not in ranges:
            raise NotFound("bucket", bucket)
        span = ranges[bucket] if bucket else None
        filters: dict[str, Any] = {"currency": currency, "unpaid": True}
        if span is not None:
            filters |= {"due_from": span.earliest, "due_to": span.latest}
        if format == "csv" and currency and span is not None:
            name = f"invoices-{currency}-{bucket}.csv"
            return csv_download(request, name, InvoiceOut, invoices.list_invoices, invoices.invoice_out, **filters)
        with signed_in(request) as (session, me):
            # By segment: the page shows only the currency totals, and a big book has few segments.
            aging = reports.aging(session, me, today, "segment", bounds, reports.DEFAULT_DSO_DAYS)
            charts = {
                c.currency: bar_chart([(name, c.totals.get(name, Decimal(0))) for name in aging.buckets])
                for c in aging.currencies
            }
            drill = None
            if currency and span is not None:
                rows, total = invoices.list_invoices(session, me, limit=PAGE, offset=offset, **filters)
                out = [invoices.invoice_out(i) for i in rows]
                clients = {cid: get_visible(session, me, cid).name for cid in {i.client_id for i in out}}
                drill = {
                    "currency": currency,
                    "bucket": bucket,
                    "rows": out,
                    "page": {"total": total, "limit": PAGE, "offset": offset},
                    "clients": clients,
                }
            values = {"aging": aging, "charts": charts, "drill": drill, "form_nonce": secrets.token_hex(8)}
            return render(request, "receivables.html", me, values)

    @post("/clients/{client_id:int}/payments", sync_to_thread=True)
    def client_payment(self, request: Req, client_id: FromPath[int], data: Form) -> Redirect:
        """A payment for the client as a whole: applied oldest due first, the rest kept as credit."""
        check_csrf(request, data)
        to = f"/clients/{client_id}#payments"
        try:
            fields = {k: text(data, k) for k in ("amount", "currency", "method", "reference", "received_on")}
            payment = parse(PaymentIn, {"client_id": client_id, **fields})
            with signed_in(request) as (session, me):
                _, replayed = payments.record_payment(
                    session, me, payment, text(data, "idempotency_key"), state_of(request).today()
                )
        except RenewalsError as exc:
            return refused(request, to, exc)
        return done(request, to, "replayed" if replayed else "payment")

    @post("/payments/{payment_id:int}/reverse", sync_to_thread=True)
    def reverse(self, request: Req, payment_id: FromPath[int], data: Form) -> Redirect:
        """A bounced payment: what it paid is open again."""
        check_csrf(request, data)
        to = local_path(text(data, "next"), back(request, "/receivables"))
        try:
            reversal = parse(ReversalIn, {"reason": text(data, "reason")})
            with signed_in(request) as (session, me):
                payments.reverse_payment(session, me, payment_id, reversal, state_of(request).today())
        except RenewalsError as exc:
            return refused(request, to, exc)
        return done(request, to, "reversed")

    @post("/invoices/{invoice_id:int}/{action:str}", sync_to_thread=True)
    def invoice_action(self, request: Req, invoice_id: FromPath[int], action: FromPath[str], data: Form) -> Redirect:
        """pay, credit, hold, release or write-off, through the same services as the API."""
        check_csrf(request, data)
        to = local_path(text(data, "next"), back(request, "/receivables"))
        today = state_of(request).today()
        message = action.replace("-", "_")
        try:
            with signed_in(request) as (session, me):
                if action == "pay":
                    invoice = invoices.get_visible_invoice(session, me, invoice_id)
                    cur = invoice.currency
                    raw = text(data, "amount")
                    if raw is None:
                        raise ValidationFailed("amount", "enter the amount received")
                    amount = amounts.parse_amount(raw, cur, "amount")
                    balance = amounts.from_minor(invoice.balance_minor, cur)
                    # Paid against this invoice: applied to it, anything above its balance stays credit.
                    applied = min(amount, balance)
                    allocations = [{"invoice_id": invoice.id, "amount": str(applied)}] if applied > 0 else None
                    payment = parse(
                        PaymentIn,
                        {
                            "client_id": invoice.client_id,
                            "amount": str(amount),
                            "currency": cur,
                            "method": text(data, "method"),
                            "reference": text(data, "reference"),
                            "received_on": text(data, "received_on"),
                            "allocations": allocations,
                        },
                    )
                    _, replayed = payments.record_payment(session, me, payment, text(data, "idempotency_key"), today)
                    message = "replayed" if replayed else "payment"
                elif action == "credit":
                    note = parse(CreditNoteIn, {"amount": text(data, "amount"), "reason": text(data, "reason")})
                    invoices.issue_credit_note(session, me, invoice_id, note, today)
                elif action == "hold":
                    fields = {"kind": text(data, "kind"), "reason": text(data, "reason"), "until": text(data, "until")}
                    hold = parse(HoldIn, fields)
                    invoices.hold(session, me, invoice_id, hold, today)
                elif action == "release":
                    invoices.release(session, me, invoice_id, parse(ReleaseIn, {"reason": text(data, "reason")}))
                elif action == "write-off":
                    invoices.write_off(
                        session, me, invoice_id, parse(WriteOffIn, {"reason": text(data, "reason")}), today
                    )
                else:
                    raise NotFound("action", action)
        except RenewalsError as exc:
            return refused(request, to, exc)
        return done(request, to, message)
