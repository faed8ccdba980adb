"""The concurrency tests' helper fails when a thread hangs or raises, instead of passing quietly."""

from __future__ import annotations

import threading

import pytest

from tests.threads import run_at_once


def test_every_threads_result_is_returned_in_order() -> None:
    counter = iter(range(100))
    lock = threading.Lock()

    def take() -> int:
        with lock:
            return next(counter)

    assert sorted(run_at_once(take, n=3)) == [0, 1, 2]


def test_a_thread_still_running_after_the_timeout_fails_the_test() -> None:
    release = threading.Event()
    try:
        with pytest.raises(AssertionError, match="still running"):
            run_at_once(release.wait, n=2, timeout=0.2)
    finally:
        release.set()


def test_a_thread_that_raised_fails_the_test_with_its_exception() -> None:
    def boom() -> None:
        raise RuntimeError("deadlock detected")

    with pytest.raises(AssertionError, match="2 of 2 threads raised") as failure:
        run_at_once(boom)

    assert isinstance(failure.value.__cause__, RuntimeError)
