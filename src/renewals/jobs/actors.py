"""Actors: thin, named `feature.verb`, keyword-only ids, one unit of work per message, the body one
service call. Arguments are JSON values (dates as ISO strings); the services take real dates.

They are plain functions declared on the process's broker by `declare` (see jobs.broker), so the
same function can be called directly where a worker is not wanted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import dramatiq

from renewals.db.uow import unit_of_work
from renewals.domain.jobs import billing, scans
from renewals.domain.jobs import service as jobs
from renewals.jobs import config, runtime


def scans_run(*, job_id: int, as_of: str) -> None:
    """Start a scan job: prepare the day and fan out one message per id-range chunk."""
    with unit_of_work(runtime.current().sessions) as session:
        scans.begin(session, job_id, date.fromisoformat(as_of), config.load().scan_chunk_size)


def scans_chunk(*, job_id: int, as_of: str, kind: str, lo: int, hi: int) -> None:
    """Scan one id range; the last chunk of the job finishes the day and marks the job done."""
    with unit_of_work(runtime.current().sessions) as session:
        scans.run_chunk(session, job_id, date.fromisoformat(as_of), kind, lo, hi)


def billing_run(*, job_id: int, through: str) -> None:
    """Issue the invoices due through a date as one job."""
    with unit_of_work(runtime.current().sessions) as session:
        billing.run(session, job_id, date.fromisoformat(through))


def jobs_fail(*, job_id: int, error: str) -> None:
    """Record that a job failed for good (sent by the JobFailures middleware)."""
    with unit_of_work(runtime.current().sessions) as session:
        jobs.fail(session, job_id, error)


# name → (function, queue, options). Time limits are in ms; retries back off from broker defaults.
ACTORS: dict[str, tuple[Callable[..., Any], str, dict[str, Any]]] = {
    "scans.run": (scans_run, "scans", {"time_limit": 600_000, "max_retries": 5}),
    "scans.chunk": (scans_chunk, "scans", {"time_limit": 600_000, "max_retries": 5}),
    "billing.run": (billing_run, "billing", {"time_limit": 1_800_000, "max_retries": 3}),
    "jobs.fail": (jobs_fail, "jobs", {"max_retries": 10}),
}


def declare(broker: dramatiq.Broker) -> None:
    """Declare every actor on the broker (once per process)."""
    for name, (fn, queue, options) in ACTORS.items():
        if name not in broker.actors:
            dramatiq.actor(actor_name=name, queue_name=queue, broker=broker, **options)(fn)
