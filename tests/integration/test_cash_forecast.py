"""GET /reports/cash-forecast: receipts per currency and ISO week, at each client's own pace."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from renewals.domain.receivables.billing import run_billing
from tests.factories import make_client, make_contract, make_user
from tests.integration.receivables_arrange import invoice, pay

AS_OF = date(2026, 10, 7)  # a Wednesday: its ISO week runs 5 … 11 October
PATH = "/api/v1/reports/cash-forecast"


@pytest.fixture
def people(session):
    return {
        "finance": make_user(session, role="finance"),
        "mina": make_user(session, role="account_manager"),
        "omar": make_user(session, role="account_manager"),
    }


def paid_late(session, client, actor, *, count: int, days_late: int) -> None:
    """`count` invoices of 1,200.00 from early 2026, each paid `days_late` days after its due date."""
    for month in range(1, count + 1):
        issued = date(2026, month, 1)
        pay(session, client=client, actor=actor, amount="1200.00", on=issued + timedelta(days=30 + days_late))


def arrange_invoice(session, client, actor, *, due: date, monthly: str = "100.00"):
    return invoice(session, client=client, actor=actor, issued=due - timedelta(days=30), monthly=monthly)


def forecast(api, user, **query):
    r = api.get(PATH, user, params={"as_of": AS_OF.isoformat(), **query})
    assert r.status_code == 200, r.text
    return r.json()


def nonzero(currency: dict, column: str = "expected") -> dict[str, str]:
    return {w["start"]: w[column] for w in currency["weeks"] if w[column] not in ("0.00", "0")}


def test_a_client_paying_ten_days_late_is_forecast_ten_days_after_its_due_dates(api, session, people):
    client = make_client(session, owner=people["mina"])
    for month in (1, 2, 3):
        arrange_invoice(session, client, people["mina"], due=date(2026, month, 1) + timedelta(days=30))
    paid_late(session, client, people["finance"], count=3, days_late=10)
    arrange_invoice(session, client, people["mina"], due=date(2026, 10, 22), monthly="50.00")  # → 1 November
    arrange_invoice(session, client, people["mina"], due=date(2026, 10, 2), monthly="10.00")  # → 12 October
    session.commit()

    [usd] = forecast(api, people["finance"])["currencies"]

    assert nonzero(usd) == {"2026-10-12": "120.00", "2026-10-26": "600.00"}
    assert nonzero(usd, "by_due_date") == {"2026-10-19": "600.00"}
    assert usd["overdue"] == "0.00"
    assert usd["held"] == "0.00"


def test_fewer_than_three_paid_invoices_means_no_delay(api, session, people):
    client = make_client(session, owner=people["mina"])
    for month in (1, 2):
        arrange_invoice(session, client, people["mina"], due=date(2026, month, 1) + timedelta(days=30))
    paid_late(session, client, people["finance"], count=2, days_late=10)
    arrange_invoice(session, client, people["mina"], due=date(2026, 10, 22), monthly="50.00")
    arrange_invoice(session, client, people["mina"], due=date(2026, 10, 2), monthly="10.00")
    session.commit()

    [usd] = forecast(api, people["finance"])["currencies"]

    assert nonzero(usd) == nonzero(usd, "by_due_date") == {"2026-10-19": "600.00"}
    assert usd["overdue"] == "120.00"


def test_held_invoices_are_listed_apart(api, session, people):
    client = make_client(session, owner=people["mina"])
    disputed = arrange_invoice(session, client, people["mina"], due=date(2026, 10, 22), monthly="50.00")
    arrange_invoice(session, client, people["mina"], due=date(2026, 10, 23), monthly="10.00")
    session.commit()
    r = api.post(
        f"/api/v1/invoices/{disputed.id}/hold", people["finance"], json={"kind": "dispute", "reason": "wrong racks"}
    )
    assert r.status_code == 200, r.text

    [usd] = forecast(api, people["finance"])["currencies"]

    assert usd["held"] == "600.00"
    assert nonzero(usd) == {"2026-10-19": "120.00"}


def test_invoices_the_schedule_will_issue_appear_in_their_weeks(api, session, people):
    client = make_client(session, owner=people["mina"])
    make_contract(
        session,
        client=client,
        actor=people["mina"],
        start_date=date(2026, 10, 1),
        end_date=date(2027, 9, 30),
        lines=[("Cloud capacity", "1", "100.00")],
    )
    run_billing(session, AS_OF, None)  # October is invoiced (due 31 Oct); November onwards is not yet
    session.commit()

    body = forecast(api, people["finance"])
    [usd] = body["currencies"]

    assert body["weeks"][-1] == {"start": "2026-12-28", "end": "2027-01-03"}
    # due 31 Oct (open), 1 Dec and 31 Dec (scheduled); January's is due 31 Jan, beyond the horizon
    assert nonzero(usd) == {"2026-10-26": "100.00", "2026-11-30": "100.00", "2026-12-28": "100.00"}


def test_weeks_run_monday_to_sunday_across_a_year_end_and_29_february(api, session, people):
    client = make_client(session, owner=people["mina"])
    as_of = date(2027, 12, 29)
    # a Sunday, then the Monday after (one-year terms across 29 February are prorated: read the totals)
    sunday = arrange_invoice(session, client, people["mina"], due=date(2028, 1, 2), monthly="1.00")
    monday = arrange_invoice(session, client, people["mina"], due=date(2028, 1, 3), monthly="2.00")
    totals = [f"{i.total_minor / 100:.2f}" for i in (sunday, monday)]
    # issued after as_of: forecast from the schedule, due 29 February 2028 (a Tuesday)
    make_contract(
        session,
        client=client,
        actor=people["mina"],
        start_date=date(2028, 1, 30),
        end_date=date(2029, 1, 29),
        billing_cycle="annual",
        lines=[("Bandwidth", "1", "4.00")],
    )
    session.commit()

    r = api.get(PATH, people["finance"], params={"as_of": as_of.isoformat(), "weeks": "10"})
    assert r.status_code == 200, r.text
    body = r.json()

    assert body["as_of"] == "2027-12-29"
    assert body["weeks"][0] == {"start": "2027-12-27", "end": "2028-01-02"}
    assert len(body["weeks"]) == 10
    assert body["weeks"][9] == {"start": "2028-02-28", "end": "2028-03-05"}
    [usd] = body["currencies"]
    assert nonzero(usd) == {"2027-12-27": totals[0], "2028-01-03": totals[1], "2028-02-28": "48.00"}


def test_an_account_manager_forecasts_only_their_own_clients(api, session, people):
    arrange_invoice(session, make_client(session, owner=people["mina"]), people["mina"], due=date(2026, 10, 22))
    session.commit()

    assert forecast(api, people["omar"])["currencies"] == []
    assert len(forecast(api, people["mina"])["currencies"]) == 1


@pytest.mark.parametrize("weeks", ["0", "105", "x"])
def test_a_horizon_out_of_range_names_weeks(api, session, people, weeks):
    session.commit()

    r = api.get(PATH, people["finance"], params={"weeks": weeks})

    assert r.status_code in (400, 422)
    assert [e["key"] for e in r.json()["extra"]] == ["weeks"]


def test_the_forecast_counts_only_what_was_paid_by_as_of(api, session, people):
    client = make_client(session, owner=people["mina"])
    arrange_invoice(session, client, people["mina"], due=date(2026, 10, 22))  # 1,200.00
    pay(session, client=client, actor=people["finance"], amount="200.00", on=AS_OF - timedelta(days=2))
    pay(session, client=client, actor=people["finance"], amount="500.00", on=AS_OF + timedelta(days=3))
    session.commit()

    [usd] = forecast(api, people["finance"])["currencies"]

    assert nonzero(usd) == {"2026-10-19": "1000.00"}  # the partial payment before as_of, not the later one


def test_the_forecast_answers_csv_with_a_row_per_currency_and_week(api, session, people):
    arrange_invoice(session, make_client(session, owner=people["mina"]), people["mina"], due=date(2026, 10, 22))
    session.commit()

    r = api.get(
        PATH, people["finance"], params={"as_of": AS_OF.isoformat(), "weeks": "3"}, headers={"Accept": "text/csv"}
    )

    assert r.status_code == 200, r.text
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "as_of,currency,week_start,week_end,expected,by_due_date"
    assert lines[1:] == [
        "2026-10-07,USD,2026-10-05,2026-10-11,0.00,0.00",
        "2026-10-07,USD,2026-10-12,2026-10-18,0.00,0.00",
        "2026-10-07,USD,2026-10-19,2026-10-25,1200.00,1200.00",
        "2026-10-07,USD,overdue,,0.00,",
        "2026-10-07,USD,held,,0.00,",
    ]
