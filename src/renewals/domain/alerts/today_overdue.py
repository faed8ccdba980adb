"""`/today`'s overdue invoices, one row per client and currency: the worst level, the total, the invoices.

A finance clerk's desk can hold hundreds of overdue invoices; what they act on is the client
(one reminder per client, one call). Groups are paginated like every list, oldest arrears first.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renewals.domain import money
from renewals.domain.alerts.schemas import TodayInvoice, TodayOverdueClient
from renewals.domain.pagination import Page, check_window


def overdue_clients_page(
    session: Session, invoices: Any, as_of: date, limit: int, offset: int
) -> Page[TodayOverdueClient]:
    """Group a selection of overdue invoices by client and currency, one page of groups.

    ``invoices`` selects ``id, number, client_id, name, currency, balance_minor, due_date,
    dunning_level, hold_kind``. Groups come oldest due date first; each carries its invoices,
    oldest first. Raise ValidationFailed for a bad page window.
    """
    check_window(limit, offset)
    rows = invoices.order_by(None).subquery("overdue")
    oldest = func.min(rows.c.due_date)
    groups = (
        select(
            rows.c.client_id,
            rows.c.name,
            rows.c.currency,
            func.count().label("n"),
            func.sum(rows.c.balance_minor).label("minor"),
            func.max(rows.c.dunning_level).label("level"),
            oldest.label("oldest"),
        )
        .group_by(rows.c.client_id, rows.c.name, rows.c.currency)
        .order_by(oldest, rows.c.client_id, rows.c.currency)
    )
    total = session.scalar(select(func.count()).select_from(groups.order_by(None).subquery())) or 0
    page = session.execute(groups.limit(limit).offset(offset)).all()
    clients = sorted({g.client_id for g in page})  # at most one page of clients
    listed: dict[tuple[int, str], list[TodayInvoice]] = {}
    if clients:
        for i in session.execute(
            select(rows).where(rows.c.client_id.in_(clients)).order_by(rows.c.due_date, rows.c.id)
        ):
            listed.setdefault((i.client_id, i.currency), []).append(
                TodayInvoice(
                    id=i.id,
                    number=i.number,
                    client_id=i.client_id,
                    client_name=i.name,
                    currency=i.currency,
                    balance=money.from_minor(i.balance_minor, i.currency),
                    due_date=i.due_date,
                    days_overdue=(as_of - i.due_date).days,
                    dunning_level=i.dunning_level,
                    hold=i.hold_kind,
                )
            )
    items = [
        TodayOverdueClient(
            client_id=g.client_id,
            client_name=g.name,
            currency=g.currency,
            invoice_count=g.n,
            total=money.from_minor(int(g.minor), g.currency),
            dunning_level=int(g.level),
            oldest_due_date=g.oldest,
            days_overdue=(as_of - g.oldest).days,
            invoices=listed.get((g.client_id, g.currency), []),
        )
        for g in page
    ]
    return Page(items, total, limit, offset)
