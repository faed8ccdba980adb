"""A scan survives its worker being SIGKILLed three times: each time a new `renewals worker`
process takes over, the sweep sends again the chunks whose messages died with the worker, the
job finishes, and the alerts are exactly those an independent reading of the book says the day
must raise (`scan_oracle.fresh_book_keys`: whole-table SELECTs and the pure rules), each once."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import dramatiq
import pytest
import redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bench.common import AS_OF
from bench.generate import generate
from renewals.db.models import Alert
from renewals.db.uow import unit_of_work
from renewals.domain.daily import scan
from renewals.domain.jobrecords import service as jobs
from renewals.jobs import config, scheduler
from tests.integration.jobs_support import WorkerProcess, job_status, wait_until
from tests.integration.scan_oracle import fresh_book_keys

CONTRACTS = 800
CHUNK_IDS = "25"  # about 100 chunks, so that each worker dies with many still to do
SWEEP_LOST_AFTER = "2"  # seconds without progress before the sweep sends a scan's chunks again
HANG_GUARD = 240.0  # seconds; only to fail a hung scan, far beyond what recovery takes


def ack_keys(client: redis.Redis, namespace: str) -> set[bytes]:
    """The broker's per-worker sets of messages fetched and not yet acknowledged."""
    return {k for k in client.scan_iter(match=f"{namespace}:__acks__.*") if client.scard(k)}


@pytest.mark.timeout(HANG_GUARD + 120)
def test_a_scan_whose_worker_is_killed_three_times_finishes_with_each_alert_once(
    engine: Engine,
    session: Session,
    sessions: sessionmaker[Session],
    queues: dramatiq.Broker,
    redis_url: str,
    start_worker: Callable[..., WorkerProcess],
    actor_runtime: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generate(engine, CONTRACTS, seed=3)
    # The day's renewal steps, then what must be raised; rolled back, the job does it for real.
    scan.prepare(session, AS_OF)
    session.flush()
    expected = fresh_book_keys(session, AS_OF)
    session.rollback()
    monkeypatch.setenv("RENEWALS_SWEEP_LOST_AFTER", SWEEP_LOST_AFTER)
    lost_after = config.load().sweep_lost_after
    with unit_of_work(sessions) as s:
        job, _ = jobs.request(s, "scan", {"as_of": AS_OF.isoformat()})
    client = redis.Redis.from_url(redis_url)
    namespace = queues.namespace  # type: ignore[attr-defined]

    def done_chunks() -> int:
        return job_status(sessions, job.id).chunks_done

    def progress_to(target: int) -> None:
        """Wait for `target` chunks done, sweeping whenever progress stalls (as the scheduler does)."""
        deadline, last, since = time.monotonic() + HANG_GUARD, -1, time.monotonic()
        while (now := done_chunks()) < target and job_status(sessions, job.id).status != "done":
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since > lost_after.total_seconds():
                scheduler.resend_lost_work(sessions, lost_after)
                since = time.monotonic()
            assert time.monotonic() < deadline, f"stuck at {now} chunks"
            time.sleep(0.02)

    kills = 0
    for share in (0.2, 0.45, 0.7):
        before = ack_keys(client, namespace)
        worker = start_worker(threads=2, RENEWALS_SCAN_CHUNK_SIZE=CHUNK_IDS)
        total = wait_until(lambda: job_status(sessions, job.id).chunks_total, 60)
        progress_to(int(total * share))
        # Killed while it holds messages it has not acknowledged: they die with it.
        wait_until(lambda held=before: ack_keys(client, namespace) - held, 30, interval=0.005)
        os.kill(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait()
        assert job_status(sessions, job.id).status == "running"
        kills += 1

    start_worker(threads=2, RENEWALS_SCAN_CHUNK_SIZE=CHUNK_IDS)
    progress_to(total)
    finished = wait_until(lambda: (j := job_status(sessions, job.id)).status in {"done", "failed"} and j, 60)

    assert kills == 3
    assert finished.status == "done", finished.error
    assert finished.chunks_done == finished.chunks_total == total
    with engine.connect() as conn:
        raised = conn.execute(select(Alert.kind, Alert.subject_type, Alert.subject_id, Alert.threshold)).all()
        keys = conn.execute(select(func.count(func.distinct(Alert.dedupe_key)))).scalar_one()
    assert sorted((tuple(r) for r in raised), key=repr) == expected
    assert keys == len(raised) == len(expected) > 150
