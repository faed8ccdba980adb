"""Start the service the way the README does (`renewals run`) and use it over HTTP.

Each test runs on the embedded defaults (SQLite in the data directory, a private redis-server)
and, when TEST_DATABASE_URL and TEST_REDIS_URL are set, again on a fresh PostgreSQL database and
that Redis (under a queue namespace of its own).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from renewals import embedded_redis
from tests.conftest import _drop_postgres, _fresh_postgres

pytestmark = pytest.mark.e2e

SERVERS = ["embedded"] + (
    ["postgresql+redis"] if os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL") else []
)


def call(base: str, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310 — loopback only
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def descendants(pid: int) -> set[int]:
    """All live descendants of a process, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"renewals run exited early with {proc.returncode}")
        try:
            status, body = call(base, "GET", "/ready")
            if status == 200 and body["status"] == "ok":
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.3)
    raise AssertionError("the service did not become ready")


@pytest.fixture(params=SERVERS)
def servers(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The environment naming the database and Redis: none (embedded), or a throw-away
    PostgreSQL database and TEST_REDIS_URL with a namespace of its own, cleaned up afterwards."""
    if request.param == "embedded":
        yield {}
        return
    name = f"renewals_e2e_{uuid.uuid4().hex[:10]}"
    url, admin = _fresh_postgres(name)
    namespace = f"renewals-e2e-{uuid.uuid4().hex[:12]}"
    try:
        yield {"DATABASE_URL": url, "REDIS_URL": os.environ["TEST_REDIS_URL"], "RENEWALS_QUEUE_NAMESPACE": namespace}
    finally:
        client = redis.Redis.from_url(os.environ["TEST_REDIS_URL"])
        keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
        _drop_postgres(admin, name)


@dataclass
class Service:
    base: str
    proc: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def start_service(tmp_path: Path, servers: dict[str, str]) -> Iterator[Callable[..., Service]]:
    """`renewals run` in a session of its own (as a terminal runs it: Ctrl-C reaches its whole
    process group, not the tests), on the servers' database and Redis plus any extra environment."""
    started: list[Service] = []

    def start(**extra_env: str) -> Service:
        port = embedded_redis.free_port()
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "RENEWALS_SECRET_KEY"}}
        env.update(RENEWALS_DATA_DIR=str(tmp_path / "var"), RENEWALS_PORT=str(port), RENEWALS_HOST="127.0.0.1")
        env.update(servers, **extra_env)
        path = tmp_path / "run.log"
        with path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "renewals.cli", "run"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        service = Service(f"http://127.0.0.1:{port}", proc, path)
        started.append(service)
        wait_ready(service.base, proc)
        # Every child is started once the supervisor says how to stop it.
        deadline = time.monotonic() + 60
        while "Press Ctrl-C to stop." not in path.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        return service

    yield start
    for service in started:
        if service.proc.poll() is None:
            os.killpg(service.proc.pid, signal.SIGKILL)
            service.proc.wait()


def wait_gone(pids: set[int], timeout: float = 10) -> list[int]:
    """The processes among `pids` still alive after up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.1)
    return [pid for pid in pids if alive(pid)]


def test_run_serves_the_demo_book_and_stops_without_orphans(start_service: Callable[..., Service]) -> None:
    service = start_service()
    base, proc, log = service.base, service.proc, service.log
    children = descendants(proc.pid)
    assert len(children) >= 2, "expected at least redis-server and the API as children"
    assert "password 'renewals-demo'" in log.read_text(), "sign-in details are printed on first start"

    status, body = call(
        base, "POST", "/api/v1/auth/token", body={"email": "mina@demo.renewals", "password": "renewals-demo"}
    )
    assert status == 201
    mina = body["access_token"]
    _, body = call(base, "POST", "/api/v1/auth/token", body={"email": "wei@demo.renewals", "password": "renewals-demo"})
    wei = body["access_token"]

    status, client = call(
        base,
        "POST",
        "/api/v1/clients",
        mina,
        {
            "name": "제주데이터",
            "legal_name": "제주데이터 주식회사 (e2e)",
            "segment": "enterprise",
            "size": "medium",
            "language": "ko",
            "currency": "KRW",
            "credit_limit": "50000000",
        },
    )
    assert status == 201, client
    status, contract = call(
        base,
        "POST",
        "/api/v1/contracts",
        mina,
        {
            "client_id": client["id"],
            "number": "CT-E2E-1",
            "title": "랙 2대",
            "kind": "rental",
            "start_date": "2026-01-31",
            "end_date": "2027-01-30",
            "billing_cycle": "monthly",
            "tax_rate": "10",
            "status": "active",
            "lines": [{"description": "42U 랙", "quantity": 2, "monthly_unit_price": "1957500"}],
        },
    )
    assert status == 201, contract

    assert call(base, "GET", f"/api/v1/clients/{client['id']}", mina)[1]["status"] == "active"
    assert (
        call(base, "GET", f"/api/v1/contracts/{contract['id']}", mina)[1]["lines"][0]["monthly_unit_price"] == "1957500"
    )
    assert call(base, "GET", f"/api/v1/clients/{client['id']}", wei)[0] == 404
    assert call(base, "GET", f"/api/v1/contracts/{contract['id']}", wei)[0] == 404

    # The same process serves the pages: `/` leads to the sign-in form, its assets come from the app.
    with urllib.request.urlopen(f"{base}/", timeout=10) as page:  # noqa: S310 — loopback only
        assert page.url.endswith("/login")
        assert b'name="csrf_token"' in page.read()
    with urllib.request.urlopen(f"{base}/static/pages.css", timeout=10) as css:  # noqa: S310
        assert css.status == 200

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert wait_gone(children) == [], "children left running after SIGTERM"


def test_a_first_start_with_renewals_demo_0_loads_no_demo_and_ctrl_c_stops_every_child(
    start_service: Callable[..., Service],
) -> None:
    service = start_service(RENEWALS_DEMO="0")
    children = descendants(service.proc.pid)

    status, _ = call(
        service.base, "POST", "/api/v1/auth/token", body={"email": "mina@demo.renewals", "password": "renewals-demo"}
    )
    assert status == 401
    assert "Demo book loaded" not in service.log.read_text()
    assert len(children) >= 4, "expected redis-server, the API, the workers and the scheduler"

    # Ctrl-C in a terminal sends SIGINT to the whole foreground process group at once.
    os.killpg(service.proc.pid, signal.SIGINT)

    assert service.proc.wait(timeout=60) == 0, service.log.read_text()[-2000:]
    assert wait_gone(children) == [], "children left running after Ctrl-C"
    assert "renewals stopped." in service.log.read_text()
