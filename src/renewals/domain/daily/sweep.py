"""The sweeper: work whose message was lost is sent again.

A message can be lost between a commit and the broker (Redis down at that moment), or with a
worker that died mid-job while the broker forgot it. The rows say what is still owed, so the
scheduler sweeps every few minutes and sends again:

* jobs still `queued` past `LOST_AFTER`;
* scan jobs `running` with chunks not done and no chunk finished within `LOST_AFTER`;
* billing jobs `running` with no slice committed within `LOST_AFTER` (their heartbeat): put back
  in the queue and sent again, to bill what is still missing;
* notices and batches still `queued` or `rendering` past `LOST_AFTER`.

Every receiver is idempotent (a job starts once, a chunk is claimed once, a notice is claimed by
status), so a message that was only slow, not lost, costs a duplicate that changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from renewals.db.models.jobs import Job, JobChunk
from renewals.db.models.notices import Notice, NoticeBatch
from renewals.db.uow import request_job
from renewals.domain.daily import scan_job
from renewals.domain.jobrecords import service as jobs
from renewals.domain.notices.batches import BATCH_ACTOR
from renewals.domain.notices.service import RENDER_ACTOR

LOST_AFTER = timedelta(minutes=10)
PER_SWEEP = 200  # rows of each kind sent again per sweep, oldest first


def sweep(session: Session, at: datetime, lost_after: timedelta = LOST_AFTER) -> dict[str, int]:
    """Send again what looks lost as of `at`; return how many of each kind (sent after commit)."""
    cutoff = at - lost_after
    counts = {"jobs": 0, "chunks": 0, "notices": 0, "batches": 0}
    for job in session.scalars(
        select(Job).where(Job.status == "queued", Job.created_at < cutoff).order_by(Job.id).limit(PER_SWEEP)
    ):
        jobs.resend(session, job)
        counts["jobs"] += 1
    recent_progress = exists().where(JobChunk.job_id == Job.id, JobChunk.done_at >= cutoff)
    for job in session.scalars(
        select(Job)
        .where(Job.status == "running", Job.kind.in_(("scan", "billing")), Job.started_at < cutoff, ~recent_progress)
        .order_by(Job.id)
        .limit(PER_SWEEP)
    ):
        if job.kind == "scan":
            counts["chunks"] += scan_job.resend_unfinished_chunks(session, job)
        elif jobs.release(session, job.id):
            jobs.resend(session, job)
            counts["jobs"] += 1
    unfinished = ("queued", "rendering")
    for notice_id in session.scalars(
        select(Notice.id)
        .where(Notice.status.in_(unfinished), Notice.batch_id.is_(None), Notice.created_at < cutoff)
        .order_by(Notice.id)
        .limit(PER_SWEEP)
    ):
        request_job(session, RENDER_ACTOR, notice_id=notice_id)
        counts["notices"] += 1
    for batch_id in session.scalars(
        select(NoticeBatch.id)
        .where(NoticeBatch.status.in_(unfinished), NoticeBatch.created_at < cutoff)
        .order_by(NoticeBatch.id)
        .limit(PER_SWEEP)
    ):
        request_job(session, BATCH_ACTOR, batch_id=batch_id)
        counts["batches"] += 1
    return counts
