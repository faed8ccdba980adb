"""The set-based scan equals the pure rules, row by row, on generated books.

Each book is written by the benchmark's generator (clients in several currencies, credit limits,
contracts in every renewal state, invoices overdue, paid, on hold and promised, activities with
follow-ups), then scanned on several days with random events in between: invoices paid and
reopened (new episodes), promises made, limits changed, follow-ups logged, end dates moved,
alerts resolved by hand. Before each scan the oracle (`scan_oracle.run_day_per_row`: plain reads,
the pure rules, per-row writes) runs the same day in a savepoint that is rolled back; then the
real scan runs, in small chunks, and must leave exactly the same alerts (kind, key, severity,
assignee, client, message, details, dates, status), dunning levels, holds and audit entries.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from bench.common import AS_OF
from bench.generate import generate
from renewals.db.models import Activity, Alert, Client, Contract, Invoice, Renewal
from renewals.domain.alerts.rules import DEFAULT_THRESHOLDS, Thresholds
from renewals.domain.daily import scan
from tests.integration.scan_oracle import outcome, run_day_per_row

# Days scanned, from a first scan of a book with no alerts to one after a month of events.
DAYS = (AS_OF - timedelta(days=1), AS_OF, AS_OF + timedelta(days=4), AS_OF + timedelta(days=19))
OTHER_THRESHOLDS = Thresholds(renewal_due=(120, 45, 10), notice_lead_days=21, dunning=(3, 20, 45))


def happen(session: Session, rng: random.Random, day: date, paid_before: list[int]) -> list[int]:
    """A day's worth of random events, written as the services leave the rows; return the ids of
    the invoices paid (half of those paid the time before bounce now)."""

    def some(ids: list[int], share: float) -> list[int]:
        return [i for i in ids if rng.random() < share]

    unpaid = list(session.scalars(select(Invoice.id).where(Invoice.status.in_(("open", "partially_paid")))))
    settled = some(unpaid, 0.08)
    for invoice_id in settled:
        session.execute(update(Invoice).where(Invoice.id == invoice_id).values(status="paid", balance_minor=0))
    for invoice_id in some(paid_before, 0.5):  # a bounced payment reopens it: a new episode
        session.execute(
            update(Invoice)
            .where(Invoice.id == invoice_id)
            .values(status="open", balance_minor=Invoice.total_minor, paid_minor=0)
        )
    for invoice_id in some(unpaid, 0.04):
        session.execute(
            update(Invoice)
            .where(Invoice.id == invoice_id)
            .values(hold_kind="promise", hold_until=day + timedelta(days=rng.choice((-2, 1, 3))), held_on=day)
        )
    for client_id in some(list(session.scalars(select(Client.id))), 0.1):
        limit = rng.choice((0, 100_000, 1_500_000, 9_000_000))
        session.execute(update(Client).where(Client.id == client_id).values(credit_limit_minor=limit))
    open_renewals = list(session.scalars(select(Renewal.id).where(Renewal.status.in_(("upcoming", "contacted")))))
    for renewal_id in some(open_renewals, 0.1):
        session.add(
            Activity(
                renewal_id=renewal_id,
                kind=rng.choice(("call", "email", "note")),
                author_id=rng.choice((None, 2)),
                text="talked",
                next_follow_up_on=day + timedelta(days=rng.choice((-9, -3, 0, 2))),
            )
        )
    active = list(session.scalars(select(Contract).where(Contract.status == "active")))
    for contract in active:
        if rng.random() < 0.03:
            contract.end_date += timedelta(days=rng.choice((-40, 25, 200)))
            contract.auto_renew = rng.random() < 0.5
    standing = list(session.scalars(select(Alert.id).where(Alert.status == "open")))
    for alert_id in some(standing, 0.05):
        session.execute(
            update(Alert).where(Alert.id == alert_id).values(status="resolved", resolved_on=day, resolution="manual")
        )
    session.commit()
    return settled


@pytest.mark.parametrize("seed", [1])
def test_the_set_based_scan_raises_and_resolves_exactly_what_the_pure_rules_say(
    engine: Engine, session: Session, seed: int
) -> None:
    generate(engine, 200, seed=seed)
    rng = random.Random(seed)  # reproducible events, not security
    compared = 0
    paid: list[int] = []
    for n, day in enumerate(DAYS):
        thresholds = OTHER_THRESHOLDS if n == 2 else DEFAULT_THRESHOLDS
        rehearsal = session.begin_nested()
        run_day_per_row(session, day, thresholds)
        expected = outcome(session)
        rehearsal.rollback()
        session.expire_all()

        scan.run_day(session, day, chunk_size=37, thresholds=thresholds)
        actual = outcome(session)
        session.commit()

        assert actual == expected, f"day {day} differs"
        compared += len(actual["alerts"])
        if day != DAYS[-1]:
            paid = happen(session, rng, day, paid)

    again = outcome(session)
    scan.run_day(session, DAYS[-1], chunk_size=37)  # the same day again: nothing more
    assert outcome(session) == again
    assert compared > 300  # the books gave the scan plenty to raise
    kinds = {a.kind for a in session.scalars(select(Alert))}
    assert kinds >= {"renewal_due", "notice_deadline", "invoice_overdue", "promise_broken", "credit_limit"}
    assert session.scalar(select(Alert.id).where(Alert.dedupe_key.like("%:e2"))) is not None  # an episode came back
