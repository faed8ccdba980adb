"""`renewals run`: migrate, then run Redis (when embedded), the API, a worker and the scheduler
as child processes in the foreground.

A child that dies is started again after a back-off (1 s, doubling to 30 s, back to 1 s once it
has stayed up for a minute), so a crashed worker or Redis never takes the API down with it.
Only Ctrl-C or SIGTERM stops everything, leaving no orphan."""

from __future__ import annotations

import ctypes
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

from renewals import embedded_redis
from renewals.settings import Settings

PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 15.0
RESTART_BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
STABLE_AFTER = 60.0  # a child up this long is healthy again: its next crash restarts at once
API_APP = "renewals.api.app:served_app"  # the factory uvicorn serves


def api_command(host: str, port: int, app: str = API_APP) -> list[str]:
    """How the API is served: one uvicorn process building the app from its factory (the
    benchmarks serve their apps with the same command)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        host,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def _die_with_parent() -> None:
    """In the child: ask Linux to send SIGTERM if the supervisor dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0  # crashes in a row, each within STABLE_AFTER of its start
    restart_at: float | None = None


@dataclass
class Supervisor:
    settings: Settings
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    children: list[Child] = field(default_factory=list)
    stopping: bool = False

    def spawn(self, name: str, argv: list[str], wait: Callable[[], None] | None = None) -> Child:
        child = Child(name, argv)
        self.children.append(child)
        self.launch(child)
        if wait is not None:
            wait()
        return child

    def launch(self, child: Child) -> None:
        child.proc = subprocess.Popen(child.argv, env=self.env, preexec_fn=_die_with_parent)  # noqa: S603
        child.started_at = time.monotonic()
        child.restart_at = None

    def start_redis(self) -> None:
        if self.settings.redis_url:
            return
        port = int(self.env.get("RENEWALS_REDIS_PORT") or embedded_redis.free_port())
        argv = embedded_redis.redis_command(port, self.settings.data_dir / "redis")
        self.spawn("redis", argv, wait=lambda: embedded_redis.wait_for_port(port))
        self.env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        print(f"  redis      embedded redis-server on 127.0.0.1:{port}", flush=True)

    def start_services(self) -> None:
        py = sys.executable
        host, port = self.settings.host, self.settings.port
        self.spawn(
            "api",
            api_command(host, port),
            wait=lambda: embedded_redis.wait_for_port(port, timeout=30, host=host),
        )
        print(f"  api        http://{host}:{port}/api/v1   (OpenAPI page: http://{host}:{port}/schema)", flush=True)
        for name, args in self.extra_processes():
            self.spawn(name, [py, "-m", "renewals.cli", *args])
            print(f"  {name:<10} started", flush=True)

    def extra_processes(self) -> list[tuple[str, list[str]]]:
        """Worker and scheduler, once the jobs layer exists."""
        if importlib.util.find_spec("renewals.jobs.broker") is None:
            return []
        from renewals.jobs.actors import ACTORS
        from renewals.jobs.notices import PDF_QUEUE

        # Notice rendering gets a process of its own: it is CPU-bound and serialised behind the
        # renderer's lock, so sharing the worker's threads could hold up scans and deliveries.
        others = sorted({queue for _, queue, _ in ACTORS.values()} - {PDF_QUEUE})
        return [
            ("worker", ["worker", "--queues", ",".join(others)]),
            ("pdf-worker", ["worker", "--queues", PDF_QUEUE, "--threads", "1"]),
            ("scheduler", ["scheduler"]),
        ]

    def stop(self) -> None:
        """Stop children newest first: SIGTERM, then SIGKILL after a grace period."""
        self.stopping = True
        for child in reversed(self.children):
            if child.proc and child.proc.poll() is None:
                child.proc.terminate()
            deadline = time.monotonic() + STOP_TIMEOUT
            while child.proc and child.proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if child.proc and child.proc.poll() is None:
                child.proc.kill()
                child.proc.wait()

    def watch(self) -> int:
        """Restart children that die until a signal arrives; then return 0."""
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                if self.stopping or child.proc is None:
                    continue
                if child.restart_at is None and child.proc.poll() is not None:
                    self.schedule_restart(child, now)
                elif child.restart_at is not None and now >= child.restart_at:
                    print(f"renewals: restarting {child.name}", flush=True)
                    self.launch(child)
            time.sleep(0.2)
        return 0

    def schedule_restart(self, child: Child, now: float) -> None:
        code = child.proc.returncode if child.proc else None
        if now - child.started_at >= STABLE_AFTER:
            child.failures = 0
        delay = RESTART_BACKOFF[min(child.failures, len(RESTART_BACKOFF) - 1)]
        child.failures += 1
        child.restart_at = now + delay
        print(
            f"renewals: {child.name} exited with {code}; restarting in {delay:.0f} s",
            flush=True,
        )


def run(settings: Settings, prepare: Callable[[], None]) -> int:
    """Prepare (migrate, demo), start everything, and block until stopped."""
    sup = Supervisor(settings)

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        sup.stopping = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        prepare()
        print("renewals is starting:", flush=True)
        sup.start_redis()
        sup.start_services()
        print("Press Ctrl-C to stop.", flush=True)
        code = sup.watch()
    finally:
        sup.stop()
    print("renewals stopped.", flush=True)
    return code
