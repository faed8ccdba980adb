"""Credit notes across invoices (`GET /credit-notes`); issuing one is `POST /invoices/{id}/credit-notes`."""

from __future__ import annotations

from datetime import date

from litestar import Controller, get
from litestar.params import FromQuery

from renewals.api.context import Req
from renewals.api.params import Limit, Offset
from renewals.api.tabular import CSV_OUT, listing
from renewals.domain.pagination import Page
from renewals.domain.receivables.credit_notes import list_credit_notes
from renewals.domain.receivables.invoices import credit_note_out
from renewals.domain.receivables.schemas import CreditNoteOut


class CreditNoteController(Controller):
    path = "/credit-notes"
    tags = ["receivables"]

    @get("/", sync_to_thread=True, opt=CSV_OUT)
    def list_credit_notes(
        self,
        request: Req,
        limit: Limit = 50,
        offset: Offset = 0,
        client_id: FromQuery[int | None] = None,
        invoice_id: FromQuery[int | None] = None,
        currency: FromQuery[str | None] = None,
        issued_from: FromQuery[date | None] = None,
        issued_to: FromQuery[date | None] = None,
    ) -> Page[CreditNoteOut]:
        """Credit notes of the clients the caller may see, newest first."""
        return listing(
            request,
            CreditNoteOut,
            list_credit_notes,
            credit_note_out,
            limit=limit,
            offset=offset,
            client_id=client_id,
            invoice_id=invoice_id,
            currency=currency,
            issued_from=issued_from,
            issued_to=issued_to,
        )
