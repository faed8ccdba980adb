"""A scheduler restarted after a gap runs each missed day's billing and scan, in order, each with
its own date, through a real worker; then today's runs."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time

import dramatiq
from sqlalchemy import select

from renewals.db.models import Alert, Job
from renewals.jobs.scheduler import Run, due_runs, send_due
from tests.factories import make_client, make_contract, make_user
from tests.integration.alerts_arrange import invoice_due
from tests.integration.jobs_support import wait_until

SCHEDULE = {"billing": time(5), "scan": time(6), "digest": time(7)}
LAST_RUN = date(2026, 3, 1)  # the scheduler's last day before it stopped
RESTART = datetime(2026, 3, 4, 7, 30, tzinfo=UTC)  # two whole days later, after today's run times


def test_a_restarted_scheduler_runs_both_missed_days_in_order(session, sessions, worker_thread: dramatiq.Worker):
    mina = make_user(session, role="account_manager")
    make_user(session, role="finance")
    client = make_client(session, owner=mina)
    late = invoice_due(session, client=client, actor=mina, due=LAST_RUN)  # overdue from 2 March
    ending = make_contract(  # its end is 90 days away on 3 March: renewal_due from that day
        session,
        client=client,
        actor=mina,
        start_date=date(2025, 6, 2),
        end_date=date(2026, 6, 1),
        billing_cycle="annual",
    )
    monthly = make_contract(  # its first period starts on 2 March: billed by that day's run
        session, client=client, actor=mina, start_date=date(2026, 3, 2), end_date=date(2027, 3, 1)
    )
    for kind in ("billing", "scan"):
        session.add(Job(kind=kind, status="done", params={}, dedupe_key=f"{kind}:{LAST_RUN}"))
    session.commit()
    sent: set[Run] = set()

    # One tick every 0.1 s: each missed run is sent once the one before it has finished.
    today = RESTART.date()
    wait_until(lambda: send_due(sessions, RESTART, SCHEDULE, sent) is not None and Run("digest", today) in sent, 120)
    wait_until(lambda: all(j.status in {"done", "failed"} for j in scheduled(session)), timeout=60)

    jobs = scheduled(session)
    assert [j.dedupe_key for j in jobs] == [
        "billing:2026-03-02",
        "scan:2026-03-02",
        "billing:2026-03-03",
        "scan:2026-03-03",
        "billing:2026-03-04",
        "scan:2026-03-04",
        "digest:2026-03-04",
    ]
    assert all(j.status == "done" for j in jobs[:6]), [(j.dedupe_key, j.error) for j in jobs]
    # the missed days one after the other, never side by side, and all before today's billing
    for before, after in itertools.pairwise(jobs[:5]):
        assert before.finished_at <= after.started_at
    assert jobs[0].params == {"through": "2026-03-02"}
    assert jobs[3].params == {"as_of": "2026-03-03"}
    assert jobs[0].result["invoices_issued"] == 2  # the monthly contract's March, the annual one's year
    assert jobs[2].result["invoices_issued"] == 0
    raised = {(a.kind, a.subject_id): a.raised_on for a in session.scalars(select(Alert))}
    session.commit()
    assert raised[("invoice_overdue", late.id)] == date(2026, 3, 2)
    assert raised[("renewal_due", ending.id)] == date(2026, 3, 3)
    assert monthly.id


def scheduled(session) -> list[Job]:
    jobs = list(session.scalars(select(Job).where(Job.created_at.is_not(None), Job.id > 2).order_by(Job.id)))
    session.commit()
    return jobs


def test_a_fresh_database_catches_nothing_up_and_a_long_gap_at_most_31_days():
    today = datetime(2026, 3, 4, 5, 30, tzinfo=UTC)

    assert due_runs(today, SCHEDULE) == [Run("billing", date(2026, 3, 4))]
    long_gap = due_runs(today, SCHEDULE, date(2025, 1, 1))
    assert long_gap[:2] == [Run("billing", date(2026, 2, 1)), Run("scan", date(2026, 2, 1))]
    assert len(long_gap) == 31 * 2 + 1
