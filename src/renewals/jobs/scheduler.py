"""`renewals scheduler`: sends the daily billing run, scan and digest at their local times.

The scheduler only sends. Each run is a job with the dedupe key `<kind>:<date>`, inserted with
ON CONFLICT DO NOTHING, so two schedulers (or a restarted one) create exactly one job per kind and
day; the job is sent only by the scheduler whose insert won, after its transaction commits. A
scheduler started after a run's time still sends that day's run (catch-up within the day).

Nothing is lost to a day without a scheduler: started after a gap, it first runs the billing and
the scan of every missed day (at most `CATCH_UP_DAYS`), each with that day's date, in order —
a run is sent only once the one before it finished, so day 2's scan sees day 2's invoices and
never day 3's — and then today's runs. The digest is not caught up: yesterday's digest is news
nobody needs today.
"""

from __future__ import annotations

import signal
import threading
import time as monotonic_clock
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import FrameType
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from renewals import clock, logs
from renewals.db.uow import unit_of_work
from renewals.domain.daily.sweep import LOST_AFTER, sweep
from renewals.domain.jobrecords import service as jobs
from renewals.jobs import config as config_mod
from renewals.jobs import runtime
from renewals.jobs.broker import install

TICK_SECONDS = 20.0
CATCH_UP_KINDS = ("billing", "scan")
CATCH_UP_DAYS = 31
SWEEP_EVERY = 300.0  # seconds between sweeps for lost work (see renewals.domain.daily.sweep)


@dataclass(frozen=True)
class Run:
    kind: str
    day: date

    @property
    def params(self) -> dict[str, str]:
        return {"through": self.day.isoformat()} if self.kind == "billing" else {"as_of": self.day.isoformat()}

    @property
    def dedupe_key(self) -> str:
        return f"{self.kind}:{self.day.isoformat()}"


def due_runs(local_now: datetime, schedule: dict[str, time], last_day: date | None = None) -> list[Run]:
    """The runs to send, in order: billing and scan of each day after `last_day` (the last day
    already scheduled) before today, at most `CATCH_UP_DAYS` back, then today's runs whose time
    of day has come, earliest first."""
    today = local_now.date()
    runs: list[Run] = []
    if last_day is not None:
        kinds = [kind for _, kind in sorted((at, kind) for kind, at in schedule.items() if kind in CATCH_UP_KINDS)]
        day = max(last_day + timedelta(days=1), today - timedelta(days=CATCH_UP_DAYS))
        while day < today:
            runs.extend(Run(kind, day) for kind in kinds)
            day += timedelta(days=1)
    due = [(at, kind) for kind, at in schedule.items() if local_now.time() >= at]
    return runs + [Run(kind, today) for _, kind in sorted(due)]


def send_due(
    sessions: sessionmaker[Session], local_now: datetime, schedule: dict[str, time], sent: set[Run]
) -> list[int]:
    """Request every due run not yet seen by this scheduler; return the ids of jobs it created.

    A missed day's run that has not finished yet stops the round: the next one is sent on a
    later tick, once it has. Today's runs go out as their times come, as before."""
    created_ids = []
    with sessions() as session:
        last_day = jobs.last_scheduled_day(session, CATCH_UP_KINDS)
    for run in due_runs(local_now, schedule, last_day):
        if run in sent:
            continue
        with unit_of_work(sessions) as session:
            # A job whose first send was lost is sent again by the sweep below, not here.
            job, created = jobs.request(session, run.kind, run.params, dedupe_key=run.dedupe_key)
            finished = job.status in {"done", "failed"}
        if created:
            created_ids.append(job.id)
            print(f"renewals scheduler: sent {run.kind} for {run.day} (job {job.id})", flush=True)
        if run.day < local_now.date() and not finished:
            break
        sent.add(run)
    return created_ids


def resend_lost_work(sessions: sessionmaker[Session], lost_after: timedelta = LOST_AFTER) -> None:
    """One sweep: send again the jobs, chunks and notices whose messages look lost (no progress
    for `lost_after`, RENEWALS_SWEEP_LOST_AFTER)."""
    try:
        with unit_of_work(sessions) as session:
            swept = sweep(session, clock.now(), lost_after)
    except Exception as exc:
        print(f"renewals scheduler: sweep failed ({type(exc).__name__}: {exc}); retrying later", flush=True)
        return
    if any(swept.values()):
        resent = ", ".join(f"{count} {kind}" for kind, count in swept.items() if count)
        print(f"renewals scheduler: sent lost work again: {resent}", flush=True)


def run(tick: float = TICK_SECONDS) -> int:
    """Send due runs every `tick` seconds until SIGTERM/SIGINT; return 0."""
    logs.configure()
    install()
    rt = runtime.current()
    cfg = config_mod.load()
    schedule = {"billing": cfg.billing_at, "scan": cfg.scan_at, "digest": cfg.digest_at}
    zone = ZoneInfo(rt.settings.timezone)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    times = ", ".join(f"{kind} at {at:%H:%M}" for kind, at in schedule.items())
    print(f"renewals scheduler: {times} ({rt.settings.timezone})", flush=True)
    sent: set[Run] = set()
    next_sweep = 0.0
    while not stop.is_set():
        try:
            send_due(rt.sessions, clock.now().astimezone(zone), schedule, sent)
        except Exception as exc:
            print(f"renewals scheduler: could not send ({type(exc).__name__}: {exc}); retrying", flush=True)
        if monotonic_clock.monotonic() >= next_sweep:
            next_sweep = monotonic_clock.monotonic() + SWEEP_EVERY
            resend_lost_work(rt.sessions, cfg.sweep_lost_after)
        stop.wait(tick)
    runtime.dispose()
    print("renewals scheduler: stopped", flush=True)
    return 0
