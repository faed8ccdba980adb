"""`renewals run` keeps serving when a child dies: it restarts the child, and no queued work is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from renewals import embedded_redis
from tests.e2e.test_run import call, descendants, wait_ready

pytestmark = pytest.mark.e2e

HANG_GUARD = 120.0  # seconds; far beyond the restart back-off, only to fail a hung run


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


def child_pid(root: int, *, has: str, lacks: str | None = None) -> int | None:
    for pid in sorted(descendants(root)):
        argv = cmdline(pid)
        if any(has in a for a in argv) and not (lacks and any(lacks in a for a in argv)):
            return pid
    return None


def wait_for(what: str, check, timeout: float = HANG_GUARD):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.2)
    raise AssertionError(f"hung: {what} not seen within {timeout:.0f} s")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path, str]]:
    """`renewals run` on SQLite with the embedded Redis, no demo book, and one admin."""
    port = embedded_redis.free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "RENEWALS_SECRET_KEY"}}
    env.update(
        RENEWALS_DATA_DIR=str(tmp_path / "var"), RENEWALS_PORT=str(port), RENEWALS_HOST="127.0.0.1", RENEWALS_DEMO="0"
    )
    cli = [sys.executable, "-m", "renewals.cli"]
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*cli, "admin", "create", "--email", "ops@example.test", "--password", "a long admin passphrase"],
        env=env,
        check=True,
        capture_output=True,
    )
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([*cli, "run"], env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, proc)
            status, body = call(
                base,
                "POST",
                "/api/v1/auth/token",
                body={"email": "ops@example.test", "password": "a long admin passphrase"},
            )
            assert status == 201, body
            yield base, proc, log_path, body["access_token"]
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def finished_scan(base: str, token: str, job_id: int):  # type: ignore[no-untyped-def]
    status, job = call(base, "GET", f"/api/v1/jobs/{job_id}", token)
    return job if status == 200 and job["status"] in {"done", "failed"} else None


def test_killed_worker_is_restarted_while_the_api_keeps_answering(running) -> None:  # type: ignore[no-untyped-def]
    base, proc, log, token = running
    worker = wait_for("the worker", lambda: child_pid(proc.pid, has="worker", lacks="pdf"))

    os.kill(worker, signal.SIGKILL)
    health_seen: list[int] = []

    def restarted() -> int | None:
        health_seen.append(call(base, "GET", "/health")[0])
        new = child_pid(proc.pid, has="worker", lacks="pdf")
        return new if new not in {None, worker} else None

    wait_for("a new worker", restarted)
    assert set(health_seen) == {200}, "the API answered throughout"
    assert proc.poll() is None
    assert "worker exited with -9; restarting in" in log.read_text()
    status, job = call(base, "POST", "/api/v1/scans/run", token, {"as_of": "2026-11-27"})
    assert status == 202, job
    assert wait_for("the scan to finish", lambda: finished_scan(base, token, job["id"]))["status"] == "done"


def test_work_queued_before_redis_dies_is_done_after_its_restart(running) -> None:  # type: ignore[no-untyped-def]
    base, proc, log, token = running
    worker = wait_for("the worker", lambda: child_pid(proc.pid, has="worker", lacks="pdf"))
    redis = wait_for("redis-server", lambda: child_pid(proc.pid, has="redis-server"))

    os.kill(worker, signal.SIGSTOP)  # nobody consumes: the message waits in Redis
    try:
        status, job = call(base, "POST", "/api/v1/scans/run", token, {"as_of": "2026-11-27"})
        assert status == 202, job
        time.sleep(2.5)  # past the append-only file's one-second flush
        os.kill(redis, signal.SIGKILL)
        new_redis = wait_for(
            "a new redis-server", lambda: (p := child_pid(proc.pid, has="redis-server")) not in {None, redis} and p
        )
        assert new_redis
        assert call(base, "GET", "/health")[0] == 200
    finally:
        os.kill(worker, signal.SIGCONT)

    wait_for("ready again", lambda: call(base, "GET", "/ready")[0] == 200)
    assert wait_for("the scan to finish", lambda: finished_scan(base, token, job["id"]))["status"] == "done"
    assert proc.poll() is None
    assert "redis exited with -9; restarting in" in log.read_text()
