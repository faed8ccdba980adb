"""Credit notes across invoices (`GET /credit-notes`); issuing one is `POST /invoices/{id}/credit-notes`."""

from __future__ import annotations

from datetime import date

from litestar import Controller, get

from renewals.api.context import Req, unit
from renewals.domain.pagination import Page
from renewals.domain.receivables.credit_notes import list_credit_notes
from renewals.domain.receivables.invoices import credit_note_out
from renewals.domain.receivables.schemas import CreditNoteOut


class CreditNoteController(Controller):
    path = "/credit-notes"
    tags = ["receivables"]

    @get("/", sync_to_thread=True)
    def list_credit_notes(
        self,
        request: Req,
        limit: int = 50,
        offset: int = 0,
        client_id: int | None = None,
        invoice_id: int | None = None,
        currency: str | None = None,
        issued_from: date | None = None,
        issued_to: date | None = None,
    ) -> Page[CreditNoteOut]:
        """Credit notes of the clients the caller may see, newest first."""
        with unit(request) as (session, me):
            rows, total = list_credit_notes(
                session,
                me,
                limit=limit,
                offset=offset,
                client_id=client_id,
                invoice_id=invoice_id,
                currency=currency,
                issued_from=issued_from,
                issued_to=issued_to,
            )
            return Page([credit_note_out(n) for n in rows], total, limit, offset)
