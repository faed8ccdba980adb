"""How long a daily scan takes to recover when the worker holding its messages is SIGKILLed.

    python -m bench.recovery [--runs 3] [--contracts 300] [--database-url URL] [--redis-url URL]

Each run queues a scan whose chunks (one message per few contracts) are fetched by a
`renewals worker` process and blocked mid-transaction on the job row; the worker is SIGKILLed
while it holds them, a second worker is started at once, and the time from the kill until the
job is `done` is measured: the broker's dead-worker detection and requeue (see
docs/operations.md, "Redelivery when a worker dies") plus the rest of the scan. SQLite in a
temporary folder and an embedded redis-server unless URLs are given; prints each run and the
median. Not part of the test suite: the suite only guards against a hang.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import dramatiq
import redis
from sqlalchemy import text

from bench.common import AS_OF, Database, stop_process
from bench.generate import generate
from renewals import embedded_redis
from renewals.db.models.jobs import Job
from renewals.db.uow import unit_of_work
from renewals.domain.jobrecords import service as jobs
from renewals.jobs import actors, runtime
from renewals.jobs import broker as broker_mod
from renewals.settings import load

SECRET = "bench-secret-key-not-for-production"  # noqa: S105 — a throw-away database's key


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


class Workers:
    """`renewals worker` processes on the bench database and namespace, logging to files."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env, self.folder = env, folder
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = self.folder / f"worker-{len(self.procs)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "renewals.cli", "worker", "--threads", "2"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.procs.append(proc)
        wait_for(lambda: "renewals worker:" in log.read_text(errors="replace"), 60, "a worker to start")
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            stop_process(proc, 20)
        self.procs.clear()


def one_run(db: Database, workers: Workers, broker: dramatiq.Broker, client: redis.Redis) -> tuple[float, int]:
    """Kill a worker that holds the scan's chunk messages; return (seconds until done, chunks)."""
    with unit_of_work(db.sessions) as session:
        job, _ = jobs.request(session, "scan", {"as_of": AS_OF.isoformat()})
    broker.flush_all()  # the request's own message: the scan is planned by hand below
    actors.scans_run(job_id=job.id, as_of=AS_OF.isoformat())  # prepare and plan; the chunks are queued
    with db.sessions() as session:
        chunks = session.get_one(Job, job.id).chunks_total or 0

    with db.engine.connect() as blocker:
        blocker.begin()
        # Hold the job row: every chunk blocks on it mid-transaction, keeping its message unacked.
        if db.dialect == "postgresql":
            blocker.execute(text("SELECT id FROM jobs WHERE id = :id FOR UPDATE"), {"id": job.id})
        else:
            blocker.execute(text("UPDATE jobs SET chunks_done = chunks_done WHERE id = :id"), {"id": job.id})
        doomed = workers.start()
        acks = f"{broker.namespace}:__acks__.*"
        wait_for(lambda: any(client.scard(k) for k in client.scan_iter(match=acks)), 30, "chunks to be fetched")
        time.sleep(0.5)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
        killed_at = time.monotonic()
        blocker.rollback()

    workers.start()

    def done() -> bool:
        with db.sessions() as session:
            return session.get_one(Job, job.id).status in {"done", "failed"}

    wait_for(done, 600, "the scan to finish after the kill")
    seconds = time.monotonic() - killed_at
    workers.stop()
    with db.sessions() as session:
        status = session.get_one(Job, job.id).status
    if status != "done":
        raise SystemExit(f"scan job {job.id} ended {status}")
    return seconds, chunks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--contracts", type=int, default=300, help="size of the generated book (default 300)")
    parser.add_argument("--chunk-size", type=int, default=20, help="ids per scan chunk (default 20)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"), help="a PostgreSQL server")
    parser.add_argument("--redis-url", help="a Redis server (default: an embedded redis-server)")
    args = parser.parse_args(argv)

    db = Database("postgresql" if args.database_url else "sqlite", args.database_url)
    folder = Path(tempfile.mkdtemp(prefix="renewals-recovery-"))
    redis_proc = None
    redis_url = args.redis_url
    if not redis_url:
        port = embedded_redis.free_port()
        redis_proc = embedded_redis.start(port, folder / "redis", stdout=subprocess.DEVNULL)
        redis_url = f"redis://127.0.0.1:{port}/0"
    namespace = f"renewals-bench-{uuid.uuid4().hex[:12]}"
    os.environ[broker_mod.NAMESPACE_ENV] = namespace
    os.environ["RENEWALS_SCAN_CHUNK_SIZE"] = str(args.chunk_size)
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "REDIS_URL": redis_url,
        "RENEWALS_DATA_DIR": str(folder),
        "RENEWALS_SECRET_KEY": SECRET,
        "RENEWALS_DEMO": "0",
    }
    os.environ.setdefault("RENEWALS_SECRET_KEY", SECRET)
    settings = replace(load(), database_url=db.url, redis_url=redis_url, data_dir=folder, demo=False)
    runtime.configure(settings, db.engine)
    broker = broker_mod.install(redis_url, namespace)
    client = redis.Redis.from_url(redis_url)
    workers = Workers(env, folder)
    try:
        generate(db.engine, args.contracts, seed=1)
        print(f"{db.version()}, {args.contracts} contracts, chunks of {args.chunk_size} ids", flush=True)
        times = []
        for n in range(1, args.runs + 1):
            seconds, chunks = one_run(db, workers, broker, client)
            times.append(seconds)
            print(f"  run {n}: {chunks} chunks; done {seconds:.1f} s after the SIGKILL", flush=True)
        print(f"median {statistics.median(times):.1f} s, max {max(times):.1f} s over {len(times)} runs")
    finally:
        workers.stop()
        keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
        runtime._runtime = None  # the engine is the Database's; it disposes it
        db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
