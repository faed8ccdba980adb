"""When the scheduler sends each daily run: local times in the organisation's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from renewals.jobs.scheduler import Run, due_runs

SCHEDULE = {"billing": time(5, 0), "scan": time(6, 0), "digest": time(7, 0)}
SEOUL = ZoneInfo("Asia/Seoul")


def test_nothing_is_due_before_the_first_run_of_the_day() -> None:
    assert due_runs(datetime(2026, 3, 2, 4, 59, tzinfo=SEOUL), SCHEDULE) == []


def test_runs_become_due_at_their_times_earliest_first() -> None:
    assert due_runs(datetime(2026, 3, 2, 5, 0, tzinfo=SEOUL), SCHEDULE) == [Run("billing", date(2026, 3, 2))]
    assert [r.kind for r in due_runs(datetime(2026, 3, 2, 6, 30, tzinfo=SEOUL), SCHEDULE)] == ["billing", "scan"]
    assert [r.kind for r in due_runs(datetime(2026, 3, 2, 23, 59, tzinfo=SEOUL), SCHEDULE)] == [
        "billing",
        "scan",
        "digest",
    ]


def test_the_day_is_the_local_date_not_the_utc_date() -> None:
    utc_evening = datetime(2026, 2, 28, 21, 30, tzinfo=UTC)  # 06:30 on 1 March in Seoul

    runs = due_runs(utc_evening.astimezone(SEOUL), SCHEDULE)

    assert [(r.kind, r.day) for r in runs] == [("billing", date(2026, 3, 1)), ("scan", date(2026, 3, 1))]


def test_each_run_carries_its_date_as_the_jobs_parameter_and_dedupe_key() -> None:
    assert Run("scan", date(2028, 2, 29)).params == {"as_of": "2028-02-29"}
    assert Run("billing", date(2028, 2, 29)).params == {"through": "2028-02-29"}
    assert Run("digest", date(2028, 2, 29)).dedupe_key == "digest:2028-02-29"
