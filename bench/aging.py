"""The aging report (`reports.aging`): open balances as of a date from the dated events
(invoices, live allocations, credit notes, write-offs), bucketed by days past due in SQL, per
currency, with DSO.

Book: ``bench.generate`` "full" (invoices of the last 120 days of billing periods, most paid).

* as a manager, grouped by client, owner and segment, as of AS_OF and 90 days earlier;
* as one account manager (their clients only), grouped by client;
* baseline: a plain ``SUM(balance_minor)`` per currency over the open invoices — the cheapest
  figure there is, read from the denormalised balances the point-in-time report may not use.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from sqlalchemy import func, select

from bench.common import AS_OF, Database, Row, Section, best_of
from bench.generate import FIRST_ACCOUNT_MANAGER
from renewals.db.models import Invoice, User
from renewals.domain.receivables.reports import aging

NAME = "aging"
TITLE = "Aging report"
BOOK = "full"
WHAT = __doc__ or ""


def measure(db: Database, scale: int, section: Section, repeat: int) -> None:
    with db.engine.connect() as conn:
        invoices = int(conn.scalar(select(func.count()).select_from(Invoice)) or 0)
    floor, _ = best_of(repeat, lambda: _plain_sum(db))
    cases = [
        ("manager, by client", 2, "client", AS_OF),
        ("manager, by owner", 2, "owner", AS_OF),
        ("manager, by segment, 90 days back", 2, "segment", AS_OF - timedelta(days=90)),
        ("one account manager, by client", FIRST_ACCOUNT_MANAGER, "client", AS_OF),
    ]
    for label, user_id, group_by, as_of in cases:
        with db.sessions() as session:
            user = session.get(User, user_id)
            assert user is not None
            timing, report = best_of(repeat, partial(aging, session, user, as_of, group_by))
            session.rollback()
        groups = sum(len(c.groups) for c in report.currencies)
        section.add(
            Row(
                scale,
                label,
                invoices,
                "invoices",
                timing.wall,
                timing.cpu,
                "plain SUM(balance) of open invoices",
                floor.wall,
            )
        )
        if label == "manager, by client":
            totals = ", ".join(f"{c.currency} {c.total:,}" for c in report.currencies)
            section.note(f"{scale:,} contracts: {invoices:,} invoices; by client: {groups:,} groups, open {totals}")


def _plain_sum(db: Database) -> None:
    with db.engine.connect() as conn:
        conn.execute(
            select(Invoice.currency, func.sum(Invoice.balance_minor))
            .where(Invoice.status.in_(("open", "partially_paid")))
            .group_by(Invoice.currency)
        ).all()
