"""The billing run as a job: the receivables feature's run in bounded transactions, result kept.

The job starts in one transaction, each slice of contracts commits with the job's progress (one
`JobChunk` row of kind "billing" whose `done_at` is the heartbeat, and `chunks_done` counting
slices), and the audit of the run commits with the job marked done. A run that fails half-way
puts its job back in the queue before the retry; one whose worker died is found by the sweeper
(no heartbeat within its bound) and sent again. Either way the next attempt issues only what is
still missing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from renewals.db.dialect import insert_ignoring_conflicts
from renewals.db.models.jobs import Job, JobChunk
from renewals.db.uow import unit_of_work
from renewals.domain.jobrecords import service as jobs
from renewals.domain.receivables.billing import CHUNK, Slice, run_billing_in_slices
from renewals.domain.receivables.schemas import BillingSummary

PROGRESS_KIND = "billing"


def run(
    sessions: sessionmaker[Session],
    job_id: int,
    through: date,
    now: Callable[[], datetime],
    *,
    chunk_size: int = CHUNK,
) -> dict[str, Any] | None:
    """Run the billing of a queued job for periods starting on or before `through`, on behalf of
    the user who asked (the system when the scheduler did), slice by slice, and mark the job done
    with what was issued; `now` gives the time of each step. Return None when the job had already
    started (a redelivered message). Raise NotFound for an unknown job, and what the run raises
    (after putting the job back in the queue: what committed stays, the retry bills the rest)."""
    with unit_of_work(sessions) as session:
        job = jobs.start(session, job_id, now())
        if job is None:
            return None
        requested_by = job.requested_by
        session.execute(
            insert_ignoring_conflicts(session, JobChunk, ["job_id", "kind", "lo"]).values(
                job_id=job_id, kind=PROGRESS_KIND, lo=0, hi=0, done_at=now()
            )
        )
    result: dict[str, Any] = {}

    def progress(session: Session, done: Slice) -> None:
        session.execute(
            update(JobChunk)
            .where(JobChunk.job_id == job_id, JobChunk.kind == PROGRESS_KIND)
            .values(hi=done.last_id, done_at=now())
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(chunks_done=Job.chunks_done + 1)
            .execution_options(synchronize_session=False)
        )

    def complete(session: Session, summary: BillingSummary) -> None:
        result.update(msgspec.to_builtins(summary))
        jobs.finish(session, session.get_one(Job, job_id, populate_existing=True), result, now())

    try:
        run_billing_in_slices(
            sessions, through, requested_by, chunk_size=chunk_size, in_slice=progress, at_end=complete
        )
    except BaseException:  # an error, or the worker's time limit interrupting the run
        with unit_of_work(sessions) as session:
            jobs.release(session, job_id)
        raise
    return result
