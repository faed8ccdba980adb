"""One row of a client the user may see, with its lines, in one query."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload

from renewals.db.models import Base, Client, User
from renewals.domain.access.rules import scope_clients
from renewals.errors import NotFound

M = TypeVar("M", bound=Base)


def load_visible(
    session: Session,
    user: User,
    model: type[M],
    ident: int,
    *,
    lines: InstrumentedAttribute[Any],
    what: str,
    for_update: bool = False,
) -> M:
    """The `model` row `ident` (a contract, an invoice, a payment: anything with a `client_id`)
    with its `lines` collection, in one query joined to its client; NotFound(`what`) when there
    is none or its client is not one the user may see (`access.rules.scope_clients`).
    `for_update` locks the row itself (not its lines)."""
    table: Any = model
    stmt = scope_clients(
        select(model).join(Client, Client.id == table.client_id).where(table.id == ident).options(joinedload(lines)),
        user,
    )
    if for_update:
        stmt = stmt.with_for_update(of=table)
    found: M | None = session.scalars(stmt).unique().one_or_none()
    if found is None:
        raise NotFound(what, ident)
    return found
