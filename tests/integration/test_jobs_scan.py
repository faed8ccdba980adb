"""The daily scan as a background job: through the API and a real `renewals worker` process on the
real Redis, fanned out in chunks, safe to deliver twice or run twice at once, and recovered when a
worker dies in the middle."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from datetime import date

import dramatiq
import pytest
import redis
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from renewals.db.models.jobs import Job, JobChunk
from renewals.db.uow import unit_of_work
from renewals.domain.jobrecords import service as jobs
from renewals.jobs import actors
from tests.integration.conftest import Api
from tests.integration.jobs_support import (
    WorkerProcess,
    alert_keys,
    arrange_book,
    database_rows,
    expected_alert_keys,
    job_status,
    wait_for_job,
    wait_until,
)

AS_OF = date(2026, 3, 2)
# Recovery after a SIGKILL takes about 20 s (measured by `python -m bench.recovery`, see
# docs/operations.md); a scan still unfinished after this long is hung, not slow.
HUNG_AFTER_SECONDS = 300


def test_scan_requested_through_the_api_is_run_by_a_worker_process_and_raises_the_days_alerts(
    api: Api,
    session: Session,
    sessions: sessionmaker[Session],
    engine: Engine,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    book = arrange_book(session, AS_OF, clients=3)
    expected = expected_alert_keys(sessions, AS_OF)
    start_worker(threads=2, RENEWALS_SCAN_CHUNK_SIZE="2")

    accepted = api.post("/api/v1/scans/run", book.manager, json={"as_of": "2026-03-02"})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["kind"] == "scan"
    assert accepted.json()["status"] == "queued"

    job_id = accepted.json()["id"]
    wait_for_job(sessions, job_id, timeout=60)
    shown = api.get(f"/api/v1/jobs/{job_id}", book.manager).json()
    assert shown["status"] == "done", shown
    assert shown["error"] is None
    assert shown["result"]["counts"]["raised"] == 3
    assert shown["chunks_total"] > 1
    assert shown["chunks_done"] == shown["chunks_total"]
    assert alert_keys(engine) == expected
    assert [k[:2] for k in expected] == [("renewal_due", "contract")] * 3


def test_scan_job_is_refused_to_account_managers_and_hidden_from_others(
    api: Api,
    session: Session,
    queues: dramatiq.Broker,
) -> None:
    book = arrange_book(session, AS_OF, clients=1)

    refused = api.post("/api/v1/scans/run", book.account_manager, json={"as_of": "2026-03-02"})
    job = api.post("/api/v1/scans/run", book.finance, json={"as_of": "2026-03-02"}).json()

    assert refused.status_code == 403
    assert api.get(f"/api/v1/jobs/{job['id']}", book.account_manager).status_code == 404
    assert api.get(f"/api/v1/jobs/{job['id']}", book.manager).json()["id"] == job["id"]
    assert api.get("/api/v1/jobs/999999", book.manager).status_code == 404


def test_scan_with_a_bad_date_is_rejected_naming_the_field_and_queues_nothing(api: Api, session: Session) -> None:
    book = arrange_book(session, AS_OF, clients=1)

    response = api.post("/api/v1/scans/run", book.manager, json={"as_of": "2026-02-30"})

    assert response.status_code in (400, 422)
    assert [(e["key"], e["source"]) for e in response.json()["extra"]] == [("as_of", "body")]
    assert session.execute(select(Job)).first() is None


def test_same_scan_messages_delivered_twice_leave_the_database_unchanged(
    session: Session,
    sessions: sessionmaker[Session],
    engine: Engine,
    worker_thread: dramatiq.Worker,
) -> None:
    arrange_book(session, AS_OF, clients=3)
    with unit_of_work(sessions) as s:
        job, _ = jobs.request(s, "scan", {"as_of": AS_OF.isoformat()})
    done = wait_for_job(sessions, job.id, timeout=30)
    assert done.status == "done"
    worker_thread.join()
    before = database_rows(engine)

    with sessions() as s:
        chunks = s.execute(select(JobChunk.kind, JobChunk.lo, JobChunk.hi).where(JobChunk.job_id == job.id)).all()
    broker = worker_thread.broker
    broker.get_actor("scans.run").send(job_id=job.id, as_of=AS_OF.isoformat())
    for kind, lo, hi in chunks:
        broker.get_actor("scans.chunk").send(job_id=job.id, as_of=AS_OF.isoformat(), kind=kind, lo=lo, hi=hi)
    broker.join("scans", timeout=30_000)
    worker_thread.join()

    assert database_rows(engine) == before


def test_two_scans_for_the_same_day_at_the_same_time_raise_each_alert_once(
    session: Session,
    sessions: sessionmaker[Session],
    engine: Engine,
    worker_thread: dramatiq.Worker,
) -> None:
    arrange_book(session, AS_OF, clients=4)
    expected = expected_alert_keys(sessions, AS_OF)

    with unit_of_work(sessions) as s:
        first, _ = jobs.request(s, "scan", {"as_of": AS_OF.isoformat()})
        second, _ = jobs.request(s, "scan", {"as_of": AS_OF.isoformat()})
    results = [wait_for_job(sessions, j.id, timeout=30) for j in (first, second)]

    assert [r.status for r in results] == ["done", "done"]
    assert alert_keys(engine) == expected
    assert sum((r.result or {})["counts"]["raised"] for r in results) == len(expected)


def test_a_job_whose_message_fails_for_good_is_marked_failed_with_the_reason(
    session: Session,
    sessions: sessionmaker[Session],
    worker_thread: dramatiq.Worker,
) -> None:
    arrange_book(session, AS_OF, clients=1)
    with unit_of_work(sessions) as s:
        job, _ = jobs.request(s, "scan", {"as_of": AS_OF.isoformat()})
        # A chunk kind the scan does not know: its message raises on every attempt.
        s.get_one(Job, job.id).status = "running"
        s.add(JobChunk(job_id=job.id, kind="spaceship", lo=1, hi=1))
        s.get_one(Job, job.id).chunks_total = 1
    worker_thread.broker.get_actor("scans.chunk").send_with_options(
        kwargs={"job_id": job.id, "as_of": AS_OF.isoformat(), "kind": "spaceship", "lo": 1, "hi": 1},
        max_retries=0,
    )

    failed = wait_for_job(sessions, job.id, timeout=30)

    assert failed.status == "failed"
    assert "spaceship" in (failed.error or "")


@pytest.mark.timeout(HUNG_AFTER_SECONDS + 240)
def test_a_worker_killed_mid_scan_is_replaced_and_the_full_alert_set_arrives(
    session: Session,
    sessions: sessionmaker[Session],
    engine: Engine,
    start_worker: Callable[..., WorkerProcess],
    queues: dramatiq.Broker,
    redis_url: str,
    actor_runtime: object,
) -> None:
    arrange_book(session, AS_OF, clients=6)
    expected = expected_alert_keys(sessions, AS_OF)
    with unit_of_work(sessions) as s:
        job, _ = jobs.request(s, "scan", {"as_of": AS_OF.isoformat()})
    queues.flush_all()  # the request's own message: the test starts the scan by hand below
    os.environ["RENEWALS_SCAN_CHUNK_SIZE"] = "1"
    try:
        actors.scans_run(job_id=job.id, as_of=AS_OF.isoformat())  # prepare + plan; chunks now queued
    finally:
        del os.environ["RENEWALS_SCAN_CHUNK_SIZE"]
    total = job_status(sessions, job.id).chunks_total or 0
    assert total >= 12

    # Hold the job row so the first worker's chunks block mid-transaction, holding their messages.
    with engine.connect() as blocker:
        blocker.begin()
        if engine.dialect.name == "postgresql":
            blocker.execute(text("SELECT id FROM jobs WHERE id = :id FOR UPDATE"), {"id": job.id})
        else:
            blocker.execute(text("UPDATE jobs SET chunks_done = chunks_done WHERE id = :id"), {"id": job.id})
        doomed = start_worker(threads=2)
        acks = redis.Redis.from_url(redis_url)
        wait_until(lambda: any(acks.scard(k) for k in acks.scan_iter(match=f"{queues.namespace}:__acks__.*")), 20)
        time.sleep(0.5)
        os.kill(doomed.proc.pid, signal.SIGKILL)
        doomed.proc.wait()
        blocker.rollback()

    start_worker(threads=2)
    finished = wait_for_job(sessions, job.id, timeout=HUNG_AFTER_SECONDS)

    assert finished.status == "done"
    assert finished.chunks_done == total
    assert alert_keys(engine) == expected
