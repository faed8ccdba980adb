"""The daily scan as a job: day-level preparation, fan-out into id-range chunks, and completion.

What the scan does lives in `renewals.domain.daily.scan` (plan / prepare / run_chunk / finish /
run_day); this module only splits it into units of work that any number of workers share, and
counts them so that exactly one of them — the last — runs `finish`.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from renewals.db.models.jobs import Job, JobChunk
from renewals.db.uow import request_job
from renewals.domain.daily import scan
from renewals.domain.daily.scan import DEFAULT_CHUNK_SIZE
from renewals.domain.jobrecords import service as jobs
from renewals.domain.renewals.rules import DEFAULT_HORIZON_DAYS

CHUNK_ACTOR = "scans.chunk"


def begin(
    session: Session,
    job_id: int,
    as_of: date,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    *,
    at: datetime,
    auto_reminders: bool = False,
) -> int | None:
    """Start a queued scan job: run the day-level preparation, record its chunks and request one
    message per chunk (sent after commit). Return the number of chunks, or None when the job had
    already started (a redelivered message). Raise NotFound for an unknown job."""
    job = jobs.start(session, job_id, at)
    if job is None:
        return None
    # Kept on the job so that the chunk that completes it can report the whole day.
    job.result = {"prepare": scan.prepare(session, as_of, horizon_days)}
    chunks = scan.plan(session, as_of, chunk_size)
    session.add_all(JobChunk(job_id=job_id, kind=c.kind, lo=c.lo, hi=c.hi) for c in chunks)
    job.chunks_total = len(chunks)
    session.flush()
    if not chunks:
        _complete(session, job, as_of, at, auto_reminders)
        return 0
    for c in chunks:
        _send_chunk(session, job_id, as_of, c.kind, c.lo, c.hi)
    return len(chunks)


def _send_chunk(session: Session, job_id: int, as_of: date, kind: str, lo: int, hi: int) -> None:
    request_job(session, CHUNK_ACTOR, job_id=job_id, as_of=as_of.isoformat(), kind=kind, lo=lo, hi=hi)


def resend_unfinished_chunks(session: Session, job: Job) -> int:
    """Send again the message of every chunk of a running scan job not done yet (after commit);
    a chunk that does get done twice changes nothing the second time. Return how many."""
    as_of = date.fromisoformat(str((job.params or {})["as_of"]))
    undone = session.execute(
        select(JobChunk.kind, JobChunk.lo, JobChunk.hi).where(JobChunk.job_id == job.id, JobChunk.done_at.is_(None))
    ).all()
    for kind, lo, hi in undone:
        _send_chunk(session, job.id, as_of, kind, lo, hi)
    return len(undone)


def run_chunk(
    session: Session,
    job_id: int,
    as_of: date,
    kind: str,
    lo: int,
    hi: int,
    *,
    at: datetime,
    auto_reminders: bool = False,
) -> dict[str, int] | None:
    """Run one chunk of a scan job once. A chunk already done (the same message delivered twice)
    changes nothing and returns None. The chunk that completes the job also runs the day-level
    finish and marks the job done."""
    # Claiming the chunk first locks its row, so a concurrent duplicate waits and then sees it done.
    claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(JobChunk)
        .where(JobChunk.job_id == job_id, JobChunk.kind == kind, JobChunk.lo == lo, JobChunk.done_at.is_(None))
        .values(done_at=at)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:
        return None
    counts = scan.run_chunk(session, as_of, scan.Chunk(kind=kind, lo=lo, hi=hi))
    session.execute(
        update(JobChunk)
        .where(JobChunk.job_id == job_id, JobChunk.kind == kind, JobChunk.lo == lo)
        .values(result=dict(counts))
        .execution_options(synchronize_session=False)
    )
    # One atomic increment; the row lock orders concurrent chunks, so exactly one sees the total.
    done, total = session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(chunks_done=Job.chunks_done + 1)
        .returning(Job.chunks_done, Job.chunks_total)
        .execution_options(synchronize_session=False)
    ).one()
    if total is not None and done >= total:
        _complete(session, session.get_one(Job, job_id, populate_existing=True), as_of, at, auto_reminders)
    return dict(counts)


def _complete(session: Session, job: Job, as_of: date, at: datetime, auto_reminders: bool) -> None:
    """Finish the day and record the job's result: the counts of the whole scan, as `run_day` sums them."""
    totals: Counter[str] = Counter((job.result or {}).get("prepare", {}))
    for result in session.execute(select(JobChunk.result).where(JobChunk.job_id == job.id)).scalars():
        totals.update(result or {})
    totals.update(scan.finish(session, as_of, auto_reminders=auto_reminders))
    jobs.finish(
        session,
        job,
        {"as_of": as_of.isoformat(), "chunks": job.chunks_total or 0, "counts": dict(sorted(totals.items()))},
        at,
    )
