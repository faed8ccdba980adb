"""`/health`, `/ready` and `/metrics` of the API process as uvicorn runs it, with the database and
the broker reachable, and with one of them pointed at a loopback port where nothing listens."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from renewals import embedded_redis
from renewals.supervisor import api_command
from tests.integration.cli_support import SECRET
from tests.integration.jobs_support import wait_until

# What /ready reports for a dependency that refuses connections (the driver's exception type).
UNREACHABLE = {"database": "unreachable: OperationalError", "broker": "unreachable: ConnectionError"}


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound by this test (so nobody else takes it)
    but never listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def fetch(url: str) -> tuple[int, str, str]:
    """(status, content type, body) of a GET, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 — loopback only
            return resp.status, resp.headers.get("content-type", ""), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("content-type", ""), err.read().decode()


def answers(url: str) -> bool:
    try:
        return fetch(url)[0] == 200
    except OSError:
        return False


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[str, str], str]]:
    """Start the API (`supervisor.api_command`: uvicorn and `served_app`, as `renewals run` does) on
    the given database and Redis; return its base URL. Stopped at the end of the test."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(database_url: str, redis_url: str) -> str:
        port = embedded_redis.free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "RENEWALS_DATA_DIR": str(tmp_path),
            "RENEWALS_SECRET_KEY": SECRET,
            "RENEWALS_QUEUE_NAMESPACE": f"renewals-test-{uuid.uuid4().hex[:12]}",
        }
        log = (tmp_path / f"api-{len(procs)}.log").open("wb")
        argv = api_command("127.0.0.1", port)
        procs.append(subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT))
        log.close()
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(base + "/health") or procs[-1].poll() is not None, 60)
        assert procs[-1].poll() is None, (tmp_path / f"api-{len(procs) - 1}.log").read_text()
        return base

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=20)


def test_health_ready_and_metrics_answer_when_the_database_and_broker_are_up(
    serve: Callable[[str, str], str], db_backend: str, redis_url: str
) -> None:
    base = serve(db_backend, redis_url)

    health = fetch(base + "/health")
    ready = fetch(base + "/ready")
    metrics = fetch(base + "/metrics")

    assert health[0] == 200
    assert json.loads(health[2]) == {"status": "ok"}
    assert ready[0] == 200
    assert json.loads(ready[2]) == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert metrics[0] == 200
    assert metrics[1].startswith("text/plain")
    assert 'path="/ready"' in metrics[2]  # the probe just made is counted


@pytest.mark.parametrize("down", ["database", "broker"])
def test_ready_is_503_naming_what_is_down_while_health_and_metrics_still_answer(
    serve: Callable[[str, str], str], db_backend: str, redis_url: str, closed_port: int, down: str
) -> None:
    if down == "database":
        base = serve(f"postgresql+psycopg://renewals@127.0.0.1:{closed_port}/renewals", redis_url)
    else:
        base = serve(db_backend, f"redis://127.0.0.1:{closed_port}/0")

    status, content_type, body = fetch(base + "/ready")

    assert status == 503
    assert content_type.startswith("application/json")
    checks = {"database": "ok", "broker": "ok", down: UNREACHABLE[down]}
    assert json.loads(body) == {"status": "unavailable", "checks": checks}
    assert fetch(base + "/health")[0] == 200
    assert fetch(base + "/metrics")[0] == 200
