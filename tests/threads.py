"""Run the same work in several threads released at the same instant, for concurrency tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def run_at_once(work: Callable[[], T], n: int = 2, timeout: float = 120) -> list[T]:
    """Start `n` threads that call `work()` together (behind a barrier) and return each one's result.

    The test fails if any thread is still running after `timeout` seconds (a hung thread, which a
    bare `join(timeout)` would let pass) or if any thread raised instead of returning.
    """
    barrier = threading.Barrier(n)
    results: dict[int, T] = {}
    errors: dict[int, BaseException] = {}

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[index] = work()
        except BaseException as exc:
            errors[index] = exc

    # Daemon threads: a hung one fails the test below instead of keeping the test process alive.
    threads = [threading.Thread(target=run, args=(i,), name=f"at-once-{i}", daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))

    hung = [thread.name for thread in threads if thread.is_alive()]
    assert hung == [], f"still running after {timeout:.0f} s: {hung}"
    if errors:
        first = errors[min(errors)]
        raise AssertionError(f"{len(errors)} of {n} threads raised: {list(errors.values())!r}") from first
    assert sorted(results) == list(range(n)), "a thread ended without a result"
    return [results[i] for i in range(n)]
