"""Fixtures and helpers for the jobs tests: a private queue namespace on the real Redis, real
Dramatiq workers (a thread in this process, or a `renewals worker` subprocess), and a book of
contracts and invoices that gives the scan something to raise.

Import the fixtures into a test module by name (pytest finds fixtures in the module's globals).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from renewals.db.models import Alert, Base, User
from renewals.db.models.jobs import Job
from renewals.jobs import broker as broker_mod
from renewals.jobs import runtime
from renewals.settings import Settings
from tests.factories import make_client, make_contract, make_user

SECRET = "test-secret-key-not-for-production"


@pytest.fixture(scope="session")
def jobs_broker(redis_url: str) -> Iterator[dramatiq.Broker]:
    """This test process's broker on a namespace of its own, so concurrent test runs sharing one
    Redis never see each other's messages; its keys are deleted at the end."""
    namespace = f"renewals-test-{uuid.uuid4().hex[:12]}"
    os.environ[broker_mod.NAMESPACE_ENV] = namespace
    broker = broker_mod.install(redis_url, namespace)
    yield broker
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def queues(jobs_broker: dramatiq.Broker) -> dramatiq.Broker:
    """The broker with every queue emptied (messages left by earlier tests are dropped)."""
    jobs_broker.flush_all()
    return jobs_broker


@pytest.fixture
def job_settings(settings: Settings, redis_url: str) -> Settings:
    return replace(settings, redis_url=redis_url)


@pytest.fixture
def actor_runtime(job_settings: Settings, engine: Engine) -> Iterator[runtime.Runtime]:
    """Actors called in this process use the test database and settings."""
    configured = runtime.configure(job_settings, engine)
    yield configured
    runtime._runtime = None  # the engine belongs to the test session; leave it open


@pytest.fixture
def worker_thread(queues: dramatiq.Broker, actor_runtime: runtime.Runtime) -> Iterator[dramatiq.Worker]:
    """A real Dramatiq worker (threads in this process) consuming the test namespace's queues."""
    worker = dramatiq.Worker(queues, worker_threads=4, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop(timeout=10_000)


@dataclass
class WorkerProcess:
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def start_worker(
    queues: dramatiq.Broker, db_backend: str, redis_url: str, tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start `renewals worker` subprocesses on the test database and namespace; each is stopped
    (SIGTERM, then SIGKILL) at the end of the test."""
    started: list[WorkerProcess] = []

    def start(threads: int = 2, **extra_env: str) -> WorkerProcess:
        env = {
            **os.environ,
            "DATABASE_URL": db_backend,
            "REDIS_URL": redis_url,
            broker_mod.NAMESPACE_ENV: queues.namespace,  # type: ignore[attr-defined]
            "RENEWALS_DATA_DIR": str(tmp_path),
            "RENEWALS_SECRET_KEY": SECRET,
            "RENEWALS_DEMO": "0",
            **extra_env,
        }
        log = tmp_path / f"worker-{len(started)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "renewals.cli", "worker", "--threads", str(threads)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(proc, log)
        started.append(worker)
        wait_until(lambda: "renewals worker:" in worker.output() or proc.poll() is not None, 30)
        assert proc.poll() is None, worker.output()
        return worker

    yield start
    for worker in started:
        if worker.proc.poll() is None:
            worker.proc.terminate()
            try:
                worker.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait()


def wait_until(condition: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """Poll until the condition is truthy; return its value, or fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout:.0f} s")
        time.sleep(interval)


def job_status(sessions: sessionmaker[Session], job_id: int) -> Job:
    with sessions() as session:
        job = session.get_one(Job, job_id)
        session.expunge(job)
        return job


def wait_for_job(sessions: sessionmaker[Session], job_id: int, timeout: float = 60) -> Job:
    """The job once it is done or failed."""
    return wait_until(lambda: (j := job_status(sessions, job_id)).status in {"done", "failed"} and j, timeout)


@dataclass
class Book:
    manager: User
    account_manager: User
    finance: User
    as_of: date


def arrange_book(session: Session, as_of: date, *, clients: int = 3) -> Book:
    """Clients, each with a contract ending in 30 days (a `renewal_due` alert on `as_of`) and one
    ending in 200 days (nothing yet); committed so that workers see it."""
    manager = make_user(session, role="manager")
    account_manager = make_user(session, role="account_manager")
    finance = make_user(session, role="finance")
    for _ in range(clients):
        client = make_client(session, owner=account_manager)
        make_contract(
            session,
            client=client,
            actor=account_manager,
            start_date=as_of - timedelta(days=335),
            end_date=as_of + timedelta(days=30),
        )
        make_contract(
            session,
            client=client,
            actor=account_manager,
            start_date=as_of - timedelta(days=165),
            end_date=as_of + timedelta(days=200),
        )
    session.commit()
    return Book(manager, account_manager, finance, as_of)


def alert_keys(engine: Engine) -> list[tuple[str, str, int, int | None]]:
    """Every alert as (kind, subject type, subject id, threshold), sorted."""
    with engine.connect() as conn:
        rows = conn.execute(select(Alert.kind, Alert.subject_type, Alert.subject_id, Alert.threshold))
        return sorted((r[0], r[1], r[2], r[3]) for r in rows)


def expected_alert_keys(sessions: sessionmaker[Session], as_of: date) -> list[tuple[str, str, int, int | None]]:
    """What the scan raises on `as_of`, found by running it in one transaction that is rolled back."""
    from renewals.domain.daily import scan

    with sessions() as session:
        scan.run_day(session, as_of)
        rows = session.execute(select(Alert.kind, Alert.subject_type, Alert.subject_id, Alert.threshold)).all()
        session.rollback()
    return sorted((r[0], r[1], r[2], r[3]) for r in rows)


def database_rows(engine: Engine, skip: frozenset[str] = frozenset()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table in primary-key order: two equal answers mean nothing changed."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in skip:
                continue
            order = ", ".join(c.name for c in table.primary_key.columns)
            out[table.name] = [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table.name} ORDER BY {order}"))]
    return out
