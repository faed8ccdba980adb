"""The billing run as a job: the receivables feature's `run_billing`, started once, result kept."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy.orm import Session

from renewals.db.models import User
from renewals.domain.jobrecords import service as jobs
from renewals.domain.receivables.billing import run_billing


def run(session: Session, job_id: int, through: date, at: datetime) -> dict[str, Any] | None:
    """Run the billing of a queued job for periods starting on or before `through`, on behalf of
    the user who asked (the system when the scheduler did), and mark the job done at `at` with what
    was issued. Return None when the job had already started (a redelivered message). Raise
    NotFound for an unknown job; whatever `run_billing` raises rolls the whole run back."""
    job = jobs.start(session, job_id, at)
    if job is None:
        return None
    actor = session.get(User, job.requested_by) if job.requested_by is not None else None
    result: dict[str, Any] = msgspec.to_builtins(run_billing(session, through, actor))
    jobs.finish(session, job, result, at)
    return result
