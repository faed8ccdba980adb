"""Job records: request (once per dedupe key), start (once), finish, fail, and read them back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, select, update
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
