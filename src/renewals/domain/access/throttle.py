"""Sign-in throttling: repeated failures for one account or from one address slow further tries.

Failures are counted in a sliding window, per account and per client address; past the limit
every try (right or wrong) is refused until the oldest counted failure leaves the window, so a
guesser learns nothing more. A success clears the account's failures. State lives in the API
process's memory: `renewals run` starts one API process, and a restart forgetting the counts
only gives a guesser one more window.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from renewals.errors import TooManyAttempts

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5  # failures per account in the window
ADDRESS_LIMIT = 20  # failures per client address in the window (many accounts, one guesser)


@dataclass
class LoginThrottle:
    window: timedelta = WINDOW
    account_limit: int = ACCOUNT_LIMIT
    address_limit: int = ADDRESS_LIMIT
    _failures: dict[str, deque[datetime]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, email: str, address: str, at: datetime) -> None:
        """Raise TooManyAttempts when the account or the address is over its limit at `at`."""
        with self._lock:
            waits = [
                self._wait(f"account:{email.strip().lower()}", self.account_limit, at),
                self._wait(f"address:{address}", self.address_limit, at),
            ]
        if wait := max(waits):
            raise TooManyAttempts(wait)

    def failed(self, email: str, address: str, at: datetime) -> None:
        with self._lock:
            for key in (f"account:{email.strip().lower()}", f"address:{address}"):
                self._failures.setdefault(key, deque()).append(at)

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._failures.pop(f"account:{email.strip().lower()}", None)

    def _wait(self, key: str, limit: int, at: datetime) -> int:
        """Seconds until `key` is under its limit again (0: it is now); forgets expired failures."""
        times = self._failures.get(key)
        if not times:
            return 0
        while times and times[0] <= at - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0
        if len(times) < limit:
            return 0
        oldest_counted = times[len(times) - limit]
        return max(1, int((oldest_counted + self.window - at).total_seconds()) + 1)
