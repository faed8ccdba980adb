"""`renewals run`: migrate, then run Redis (when embedded), the API, a worker and the scheduler
as child processes in the foreground; Ctrl-C or SIGTERM stops them all, leaving no orphan."""

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


@dataclass
class Supervisor:
    settings: Settings
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    children: list[Child] = field(default_factory=list)
    stopping: bool = False

    def spawn(self, name: str, argv: list[str], wait: Callable[[], None] | None = None) -> Child:
        child = Child(name, argv)
        child.proc = subprocess.Popen(argv, env=self.env, preexec_fn=_die_with_parent)  # noqa: S603
        self.children.append(child)
        if wait is not None:
            wait()
        return child

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
            [
                py,
                "-m",
                "uvicorn",
                "renewals.api.app:create_app",
                "--factory",
                "--host",
                host,
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
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
        """Wait until a signal arrives or a child dies; then stop the rest."""
        while not self.stopping:
            for child in self.children:
                if child.proc and child.proc.poll() is not None:
                    print(f"renewals: {child.name} exited with {child.proc.returncode}; stopping", flush=True)
                    self.stop()
                    return 1
            time.sleep(0.2)
        return 0


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
