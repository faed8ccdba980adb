"""The list of credit notes (`GET /credit-notes`), scoped to the clients the caller may see."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from renewals.db.models import Client, CreditNote, User
from renewals.domain.access.rules import scope_clients
from renewals.domain.pagination import paginate


def list_credit_notes(
    session: Session,
    user: User,
    *,
    limit: int,
    offset: int,
    client_id: int | None = None,
    invoice_id: int | None = None,
    currency: str | None = None,
    issued_from: date | None = None,
    issued_to: date | None = None,
) -> tuple[list[CreditNote], int]:
    """Credit notes of clients the user may see, newest first; a foreign client or invoice
    filters to nothing (never tells it exists). Raise ValidationFailed on a bad page window."""
    stmt: Select[tuple[CreditNote]] = scope_clients(
        select(CreditNote).join(Client, Client.id == CreditNote.client_id), user
    )
    if client_id is not None:
        stmt = stmt.where(CreditNote.client_id == client_id)
    if invoice_id is not None:
        stmt = stmt.where(CreditNote.invoice_id == invoice_id)
    if currency is not None:
        stmt = stmt.where(CreditNote.currency == currency)
    if issued_from is not None:
        stmt = stmt.where(CreditNote.issued_on >= issued_from)
    if issued_to is not None:
        stmt = stmt.where(CreditNote.issued_on <= issued_to)
    return paginate(session, stmt.order_by(CreditNote.issued_on.desc(), CreditNote.id.desc()), limit, offset)
