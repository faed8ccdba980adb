"""`renewals scan`: the daily scan for one day, queued on the workers (and waited for) or in-process."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from renewals.db.engine import make_engine, make_sessionmaker
from renewals.db.models.jobs import Job
from renewals.db.uow import unit_of_work
from renewals.domain.daily import scan
from renewals.domain.jobrecords import service as jobs
from renewals.jobs.broker import install
from renewals.settings import Settings


def run_sync(settings: Settings, as_of: date) -> dict[str, Any]:
    """Run the whole scan in this process in one transaction; return its counts."""
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            counts = scan.run_day(
                session, as_of, horizon_days=settings.renewal_horizon_days, auto_reminders=settings.auto_reminders
            )
    finally:
        engine.dispose()
    return {"as_of": as_of.isoformat(), "status": "done", "counts": counts}


def run_queued(settings: Settings, as_of: date, *, timeout: float) -> dict[str, Any]:
    """Queue a scan job for the workers and wait until it is done or failed (or the timeout passes);
    return the job as the API shows it."""
    install(settings.redis_url)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        with unit_of_work(sessions) as session:
            job, _ = jobs.request(session, "scan", {"as_of": as_of.isoformat()})
        deadline = time.monotonic() + timeout
        while True:
            with sessions() as session:
                current = session.get_one(Job, job.id)
                out = jobs.job_out(current)
            if out.status in {"done", "failed"} or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
    finally:
        engine.dispose()
    return {
        "id": out.id,
        "kind": out.kind,
        "status": out.status,
        "result": out.result,
        "error": out.error,
        "chunks_done": out.chunks_done,
        "chunks_total": out.chunks_total,
    }
