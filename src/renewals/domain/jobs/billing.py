"""The billing run as a job: the receivables feature's `run_billing`, started once, result kept."""

from __future__ import annotations

import importlib
from datetime import date
from typing import Any

import msgspec
from sqlalchemy.orm import Session

from renewals.db.models import User
from renewals.domain.jobs import service as jobs


def run(session: Session, job_id: int, through: date) -> dict[str, Any] | None:
    """Run the billing of a queued job for periods starting on or before `through`, on behalf of
    the user who asked (the system when the scheduler did), and mark the job done with what was
    issued. Return None when the job had already started (a redelivered message). Raise NotFound
    for an unknown job; whatever `run_billing` raises rolls the whole run back."""
    job = jobs.start(session, job_id)
    if job is None:
        return None
    actor = session.get(User, job.requested_by) if job.requested_by is not None else None
    receivables = importlib.import_module("renewals.domain.receivables.billing")
    outcome = receivables.run_billing(session, through, actor)
    result = _plain(outcome)
    result.setdefault("through", through.isoformat())
    jobs.finish(session, job, result)
    return result


def _plain(outcome: Any) -> dict[str, Any]:
    """The billing run's answer as JSON-ready values (a schema, a BillingRun row, or a dict)."""
    if isinstance(outcome, msgspec.Struct | dict):
        value = msgspec.to_builtins(outcome)
    elif hasattr(outcome, "__table__"):
        value = msgspec.to_builtins({c.key: getattr(outcome, c.key) for c in outcome.__table__.columns})
    else:
        value = {"value": msgspec.to_builtins(outcome)}
    return value if isinstance(value, dict) else {"value": value}
