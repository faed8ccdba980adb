"""The worker and scheduler processes: billing as a job on a real worker, two schedulers at once
doubling nothing, a clean stop on SIGTERM, and `renewals scan` queued or in-process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import dramatiq
import redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from renewals.db.models import Invoice
from renewals.db.models.jobs import Job
from renewals.db.uow import unit_of_work
from renewals.domain.jobrecords import service as jobs
from tests.factories import make_client, make_contract, make_user
from tests.integration.jobs_support import SECRET, WorkerProcess, alert_keys, arrange_book, wait_for_job, wait_until

AS_OF = date(2026, 3, 2)


def _env(db_backend: str, redis_url: str, namespace: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_backend,
        "REDIS_URL": redis_url,
        "RENEWALS_QUEUE_NAMESPACE": namespace,
        "RENEWALS_DATA_DIR": str(tmp_path),
        "RENEWALS_SECRET_KEY": SECRET,
        "RENEWALS_DEMO": "0",
        **extra,
    }


def test_billing_job_on_a_worker_process_issues_the_invoices_once(
    session: Session,
    sessions: sessionmaker[Session],
    start_worker: Callable[..., WorkerProcess],
) -> None:
    owner = make_user(session, role="account_manager")
    client = make_client(session, owner=owner)
    make_contract(session, client=client, actor=owner, start_date=date(2026, 1, 1), end_date=date(2026, 12, 31))
    session.commit()
    start_worker(threads=2)

    with unit_of_work(sessions) as s:
        first, _ = jobs.request(s, "billing", {"through": "2026-03-01"})
    billed = wait_for_job(sessions, first.id, timeout=60)
    with unit_of_work(sessions) as s:
        second, _ = jobs.request(s, "billing", {"through": "2026-03-01"})
    rebilled = wait_for_job(sessions, second.id, timeout=60)

    with sessions() as s:
        invoices = s.execute(select(func.count()).select_from(Invoice)).scalar_one()
    assert billed.status == "done", billed.error
    assert billed.result is not None
    assert billed.result["invoices_issued"] == invoices == 3  # January, February, March
    assert billed.result["through"] == "2026-03-01"
    assert rebilled.status == "done"
    assert rebilled.result is not None
    assert rebilled.result["invoices_issued"] == 0


def test_two_schedulers_started_at_once_send_one_job_per_kind_and_day(
    session: Session,
    sessions: sessionmaker[Session],
    queues: dramatiq.Broker,
    db_backend: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    make_user(session, role="admin")
    session.commit()
    env = _env(
        db_backend,
        redis_url,
        queues.namespace,
        tmp_path,  # type: ignore[attr-defined]
        RENEWALS_BILLING_AT="00:00",
        RENEWALS_SCAN_AT="00:00",
        RENEWALS_DIGEST_AT="00:00",
    )
    argv = [sys.executable, "-m", "renewals.cli", "scheduler", "--tick", "0.5"]
    schedulers = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    try:

        def three_jobs() -> bool:
            with sessions() as s:
                return s.execute(select(func.count()).select_from(Job)).scalar_one() >= 3

        wait_until(three_jobs, 30)
        time.sleep(2)  # several more ticks of both schedulers
    finally:
        for proc in schedulers:
            proc.send_signal(signal.SIGTERM)
        outputs = [proc.communicate(timeout=20)[0].decode() for proc in schedulers]

    with sessions() as s:
        keys = sorted(s.execute(select(Job.dedupe_key)).scalars())
    kinds = [k.split(":")[0] for k in keys]
    assert kinds == ["billing", "digest", "scan"], outputs
    assert len({k.split(":")[1] for k in keys}) == 1
    messages = redis.Redis.from_url(redis_url)
    namespace = queues.namespace  # type: ignore[attr-defined]
    assert messages.llen(f"{namespace}:scans") == 1, outputs
    assert messages.llen(f"{namespace}:billing") == 1
    assert all(proc.returncode == 0 for proc in schedulers), outputs


def test_a_worker_stops_cleanly_on_sigterm(start_worker: Callable[..., WorkerProcess]) -> None:
    worker = start_worker(threads=2)

    worker.proc.send_signal(signal.SIGTERM)
    code = worker.proc.wait(timeout=30)

    assert code == 0
    assert "renewals worker: stopped" in worker.output()


def test_renewals_scan_waits_for_the_queued_job_and_prints_its_result(
    session: Session,
    engine: Engine,
    start_worker: Callable[..., WorkerProcess],
    queues: dramatiq.Broker,
    db_backend: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    arrange_book(session, AS_OF, clients=2)
    start_worker(threads=2)
    env = _env(db_backend, redis_url, queues.namespace, tmp_path)  # type: ignore[attr-defined]

    done = subprocess.run(
        [sys.executable, "-m", "renewals.cli", "scan", "--as-of", "2026-03-02", "--timeout", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    printed = json.loads(done.stdout)
    assert printed["status"] == "done"
    assert printed["result"]["counts"]["raised"] == 2
    assert len(alert_keys(engine)) == 2


def test_renewals_scan_sync_runs_in_process_without_redis(
    session: Session,
    engine: Engine,
    db_backend: str,
    tmp_path: Path,
) -> None:
    arrange_book(session, AS_OF, clients=2)
    env = {k: v for k, v in _env(db_backend, "", "", tmp_path).items() if k != "REDIS_URL"}

    done = subprocess.run(
        [sys.executable, "-m", "renewals.cli", "scan", "--as-of", "2026-03-02", "--sync"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["counts"]["raised"] == 2
    assert len(alert_keys(engine)) == 2
