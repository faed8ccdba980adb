"""`renewals worker`: one process running the project's actors on N threads until SIGTERM/SIGINT.

On a stop signal the worker finishes the messages it is running (up to STOP_GRACE_MS), puts the
prefetched ones back on their queues and exits 0. A worker killed outright (SIGKILL, power loss)
leaves its messages to the broker's dead-worker recovery (see jobs.broker).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import dramatiq

from renewals import logs
from renewals.jobs import runtime
from renewals.jobs.broker import install

# Under the supervisor's 15 s grace period, so `renewals run` stops its worker cleanly.
STOP_GRACE_MS = 10_000


def run(threads: int, queues: set[str] | None = None, ready: threading.Event | None = None) -> int:
    """Consume the queues (all declared ones when None) until a stop signal arrives; return 0."""
    logs.configure()
    broker = install()
    runtime.current()
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    worker = dramatiq.Worker(broker, queues=queues, worker_threads=threads, worker_timeout=1000)
    worker.start()
    names = ", ".join(sorted(queues or broker.get_declared_queues()))
    print(f"renewals worker: {threads} threads on queues {names} ({broker.namespace})", flush=True)
    if ready is not None:
        ready.set()
    stop.wait()
    print("renewals worker: stopping", flush=True)
    worker.stop(timeout=STOP_GRACE_MS)
    runtime.dispose()
    print("renewals worker: stopped", flush=True)
    return 0
