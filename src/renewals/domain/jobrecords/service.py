"""Job records: request (once per dedupe key), start (once), finish, fail, and read them back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from renewals.db.dialect import insert_one_ignoring_conflicts
from renewals.db.models import User
from renewals.db.models.jobs import Job
from renewals.db.uow import request_job
from renewals.domain.access.rules import READ_ALL
from renewals.domain.jobrecords.schemas import JobOut
from renewals.errors import NotFound

# Kinds a user may ask for, and the actor that runs each.
ACTORS = {"scan": "scans.run", "billing": "billing.run", "digest": "digests.send"}


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        params=job.params or {},
        result=job.result,
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        chunks_total=job.chunks_total,
        chunks_done=job.chunks_done,
    )


def request(
    session: Session,
    kind: str,
    params: dict[str, Any],
    *,
    requested_by: int | None = None,
    dedupe_key: str | None = None,
) -> tuple[Job, bool]:
    """Record a job and send it after commit. With a dedupe key, a second request for the same run
    (another scheduler, a retried call) returns the first job and sends nothing; the bool says
    whether this call created it."""
    values = {
        "kind": kind,
        "status": "queued",
        "params": params,
        "requested_by": requested_by,
        "chunks_done": 0,
        "dedupe_key": dedupe_key,
    }
    if dedupe_key is None:
        job = Job(**values)
        session.add(job)
        session.flush()
        created = True
    else:
        created = insert_one_ignoring_conflicts(session, Job.__table__, values) is not None
        job = session.execute(select(Job).where(Job.dedupe_key == dedupe_key)).scalar_one()
    if created:
        request_job(session, ACTORS[kind], job_id=job.id, **params)
    return job, created


def resend(session: Session, job: Job) -> None:
    """Send a queued job's message again (after commit); harmless if the first one arrives too."""
    request_job(session, ACTORS[job.kind], job_id=job.id, **(job.params or {}))


def get_visible_job(session: Session, user: User, job_id: int) -> Job:
    """Load a job the user may see: any job for admins, managers and finance, otherwise only jobs
    the user asked for. Raise NotFound for anything else."""
    job = session.get(Job, job_id)
    if job is None or (user.role not in READ_ALL and job.requested_by != user.id):
        raise NotFound("job", job_id)
    return job


def start(session: Session, job_id: int, at: datetime) -> Job | None:
    """Move a queued job to running and return it; None when it already started or ended, so a
    redelivered message does nothing. Raise NotFound when there is no such job."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound("job", job_id)
    moved: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(status="running", started_at=at)
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:
        return None
    session.refresh(job)
    return job


def release(session: Session, job_id: int) -> bool:
    """Put a running job back in the queue, so that the message sent again for it (a retry, or
    the sweeper's) starts it anew; False when it was not running. For jobs whose work is
    idempotent and committed in parts, such as a billing run."""
    released: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Job)
        .where(Job.id == job_id, Job.status == "running")
        .values(status="queued")
        .execution_options(synchronize_session=False)
    )
    return bool(released.rowcount)


def finish(session: Session, job: Job, result: dict[str, Any], at: datetime) -> None:
    """Mark a running job done with its result."""
    job.status = "done"
    job.result = result
    job.error = None
    job.finished_at = at
    session.flush()


def fail(session: Session, job_id: int, error: str, at: datetime) -> bool:
    """Mark a job that has not finished as failed with the reason; False when it had already ended."""
    failed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Job)
        .where(Job.id == job_id, Job.status.in_(("queued", "running")))
        .values(status="failed", error=error[:2000], finished_at=at)
        .execution_options(synchronize_session=False)
    )
    return bool(failed.rowcount)


def last_scheduled_day(session: Session, kinds: Sequence[str]) -> date | None:
    """The latest day every one of `kinds` has a finished scheduled run for (keys
    `<kind>:<date>`, done or failed), or None when one of them never ran (a fresh database:
    nothing to catch up)."""
    days: list[date] = []
    for kind in kinds:
        key = session.scalar(
            select(func.max(Job.dedupe_key)).where(Job.dedupe_key.like(f"{kind}:%"), Job.status.in_(("done", "failed")))
        )
        if key is None:
            return None
        days.append(date.fromisoformat(key.partition(":")[2]))
    return min(days)
