"""Settings read from the environment, and "today" as the organisation's time zone sees it.

The clock is set through its one seam, `renewals.clock.now`, to an instant on which UTC and Seoul
are on different dates; everything else (database, broker, app, scheduler) is real.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import dramatiq
import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from renewals import clock
from renewals import settings as settings_mod
from renewals.api.app import create_app
from renewals.db.models import Invoice, User
from renewals.db.models.jobs import Job
from renewals.jobs import runtime, scheduler
from renewals.settings import Settings, load
from tests.factories import make_client, make_contract, make_user
from tests.integration.cli_support import CliRun
from tests.integration.conftest import Api
from tests.integration.jobs_support import wait_until

# 20:30 UTC on 1 March is 05:30 on 2 March in Seoul (UTC+9): after the billing run's 05:00,
# before the scan's 06:00.
INSTANT = datetime(2026, 3, 1, 20, 30, tzinfo=UTC)
DAY_IN = {"UTC": date(2026, 3, 1), "Asia/Seoul": date(2026, 3, 2)}


@pytest.fixture
def freeze_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[], datetime]:
    """Set the clock to INSTANT from now on (sign in first: tokens are dated by the clock)."""

    def freeze() -> datetime:
        monkeypatch.setattr(clock, "now", lambda: INSTANT)
        return INSTANT

    return freeze


@pytest.fixture
def frozen_clock(freeze_clock: Callable[[], datetime]) -> datetime:
    return freeze_clock()


# --- settings.load() -----------------------------------------------------------------------


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A clean environment whose data directory does not exist yet; return that directory."""
    for name in list(os.environ):
        if name.startswith("RENEWALS_") or name in {"DATABASE_URL", "REDIS_URL"}:
            monkeypatch.delenv(name)
    data_dir = tmp_path / "var"
    monkeypatch.setenv("RENEWALS_DATA_DIR", str(data_dir))
    return data_dir


def test_the_secret_key_is_generated_once_into_the_data_dir_and_kept(environment: Path) -> None:
    first = load()
    second = load()

    key_file = environment / "secret_key"
    assert first.secret_key == second.secret_key == key_file.read_text()
    assert len(first.secret_key) >= 48
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # readable by the service's user only


def test_a_secret_key_from_the_environment_wins_and_nothing_is_written(
    environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RENEWALS_SECRET_KEY", "from-the-vault")

    assert load().secret_key == "from-the-vault"
    assert not (environment / "secret_key").exists()


def test_defaults_put_everything_in_the_data_dir_in_utc_with_the_demo(environment: Path) -> None:
    loaded = load()

    assert loaded.database_url == f"sqlite:///{environment / 'renewals.db'}"
    assert (loaded.redis_url, loaded.timezone, loaded.demo) == (None, "UTC", True)
    assert (loaded.host, loaded.port) == ("127.0.0.1", 8000)


def test_renewals_demo_0_turns_the_demo_off(environment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENEWALS_DEMO", "0")

    assert load().demo is False


def test_an_unknown_time_zone_is_refused_naming_the_variable(
    environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RENEWALS_TIMEZONE", "Mars/Olympus_Mons")

    with pytest.raises(ValueError, match="RENEWALS_TIMEZONE"):
        load()


def test_today_is_the_date_in_the_time_zone(frozen_clock: datetime) -> None:
    assert {zone: clock.today(zone) for zone in DAY_IN} == DAY_IN


# --- the API -------------------------------------------------------------------------------


@pytest.fixture
def api_in() -> Iterator[Callable[[Settings, Engine, str], Api]]:
    """Open the real app with the settings' time zone replaced; closed at the end of the test."""
    clients: list[TestClient[object]] = []

    def open_app(settings: Settings, engine: Engine, zone: str) -> Api:
        client = TestClient(create_app(replace(settings, timezone=zone), engine), raise_server_exceptions=False)
        clients.append(client.__enter__())
        return Api(client)

    yield open_app
    for client in clients:
        client.__exit__(None, None, None)


def signed_in(apis: dict[str, Api], user: User) -> dict[str, Api]:
    for api in apis.values():
        api.token(user)
    return apis


def test_the_api_answers_for_today_in_the_organisations_time_zone(
    settings: Settings,
    engine: Engine,
    session: Session,
    freeze_clock: Callable[[], datetime],
    api_in: Callable[..., Api],
) -> None:
    mina = make_user(session, role="account_manager")
    session.commit()
    apis = signed_in({zone: api_in(settings, engine, zone) for zone in DAY_IN}, mina)
    freeze_clock()

    days = {zone: api.get("/api/v1/today", mina).json()["as_of"] for zone, api in apis.items()}

    assert days == {"UTC": "2026-03-01", "Asia/Seoul": "2026-03-02"}


def test_a_payment_reversed_without_a_date_is_reversed_on_the_local_today(
    settings: Settings,
    engine: Engine,
    session: Session,
    freeze_clock: Callable[[], datetime],
    api_in: Callable[..., Api],
) -> None:
    finance = make_user(session, role="finance")
    client = make_client(session, owner=make_user(session), currency="USD")
    session.commit()
    body = {"client_id": client.id, "amount": "100.00", "currency": "USD", "received_on": "2026-02-27"}
    apis = signed_in({zone: api_in(settings, engine, zone) for zone in DAY_IN}, finance)
    freeze_clock()

    reversed_on = {}
    for zone, api in apis.items():
        payment = api.post("/api/v1/payments", finance, body, headers={"Idempotency-Key": zone}).json()
        reversed_on[zone] = api.post(f"/api/v1/payments/{payment['id']}/reverse", finance, {}).json()["reversed_on"]

    assert reversed_on == {"UTC": "2026-03-01", "Asia/Seoul": "2026-03-02"}


# --- the jobs ------------------------------------------------------------------------------


def test_renewals_scan_without_a_date_scans_the_local_today(
    run_cli: Callable[..., CliRun], frozen_clock: datetime, engine: Engine
) -> None:
    ran = {zone: run_cli("scan", "--sync", RENEWALS_TIMEZONE=zone) for zone in DAY_IN}

    assert [r.code for r in ran.values()] == [0, 0]
    assert {zone: json.loads(r.out)["as_of"] for zone, r in ran.items()} == {
        "UTC": "2026-03-01",
        "Asia/Seoul": "2026-03-02",
    }


def test_renewals_billing_run_without_a_date_bills_through_the_local_today(
    run_cli: Callable[..., CliRun], frozen_clock: datetime, session: Session
) -> None:
    owner = make_user(session)
    client = make_client(session, owner=owner)
    make_contract(session, client=client, actor=owner, start_date=date(2026, 3, 2), end_date=date(2027, 3, 1))
    session.commit()

    in_utc = run_cli("billing", "run", RENEWALS_TIMEZONE="UTC")
    issued_in_utc = session.scalars(select(Invoice.issue_date)).all()
    session.rollback()  # end the read: SQLite transactions here take the write lock
    in_seoul = run_cli("billing", "run", RENEWALS_TIMEZONE="Asia/Seoul")

    assert (in_utc.code, in_seoul.code) == (0, 0)
    assert issued_in_utc == []  # 2 March has not begun in UTC
    assert session.scalars(select(Invoice.issue_date)).all() == [date(2026, 3, 2)]


@pytest.mark.parametrize(
    ("zone", "runs"),
    [
        ("UTC", ["billing:2026-03-01", "digest:2026-03-01", "scan:2026-03-01"]),  # 20:30: all three are due
        ("Asia/Seoul", ["billing:2026-03-02"]),  # 05:30: only the billing run (05:00) is due
    ],
)
def test_the_scheduler_sends_the_runs_due_on_the_local_date(
    zone: str,
    runs: list[str],
    frozen_clock: datetime,
    queues: dramatiq.Broker,
    job_settings: Settings,
    engine: Engine,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("RENEWALS_BILLING_AT", "RENEWALS_SCAN_AT", "RENEWALS_DIGEST_AT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REDIS_URL", job_settings.redis_url or "")
    settings_mod.get.cache_clear()  # the scheduler finds the broker through the process settings
    runtime.configure(replace(job_settings, timezone=zone), engine)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}

    def a_run_was_sent() -> bool:
        with sessions() as s:
            return s.scalar(select(Job.id).limit(1)) is not None

    def stop_once_a_run_is_sent() -> None:
        # The scheduler sends every due run in one tick before it looks at the stop flag.
        try:
            wait_until(a_run_was_sent, 60)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # the scheduler's own handler stops it

    stopper = threading.Thread(target=stop_once_a_run_is_sent, daemon=True)
    try:
        stopper.start()
        code = scheduler.run(tick=0.2)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        runtime._runtime = None
        settings_mod.get.cache_clear()
    stopper.join(timeout=10)
    assert not stopper.is_alive()

    with sessions() as s:
        sent = sorted(s.scalars(select(Job.dedupe_key)).all())
    assert code == 0
    assert sent == runs
