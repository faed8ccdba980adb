"""Money that cannot be mis-entered: payment guards, partial write-offs, the credit-note list,
aging buckets per request and /today's overdue invoices grouped by client."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from renewals import clock
from tests.factories import make_client, make_user
from tests.integration.receivables_arrange import credit, invoice

ISSUED = date(2026, 1, 1)  # each invoice: 1,200.00 issued 1 January 2026, due 31 January


@pytest.fixture
def world(session):
    mina = make_user(session, role="account_manager")
    omar = make_user(session, role="account_manager")
    people = {
        "mina": mina,
        "omar": omar,
        "finance": make_user(session, role="finance"),
        "manager": make_user(session, role="manager"),
    }
    people["minas"] = make_client(session, owner=mina, currency="USD", name="Northwind")
    people["omars"] = make_client(session, owner=omar, currency="USD", name="Contoso")
    return people


def payments_total(api, user) -> int:
    return api.get("/api/v1/payments", user).json()["total"]


def test_a_payment_received_after_today_is_refused_naming_received_on(api, session, world, settings):
    invoice(session, client=world["minas"], actor=world["mina"], issued=ISSUED)
    session.commit()
    tomorrow = clock.today(settings.timezone) + timedelta(days=1)

    r = api.post(
        "/api/v1/payments",
        world["finance"],
        json={"client_id": world["minas"].id, "amount": "100.00", "currency": "USD", "received_on": str(tomorrow)},
    )

    assert r.status_code == 422, r.text
    assert [e["key"] for e in r.json()["extra"]] == ["received_on"]
    assert payments_total(api, world["finance"]) == 0


@pytest.mark.parametrize(
    ("path", "field"),
    [("credit-notes", "issued_on"), ("write-off", "written_off_on")],
)
def test_credit_notes_and_write_offs_dated_after_today_are_refused(api, session, world, settings, path, field):
    bad = invoice(session, client=world["minas"], actor=world["mina"], issued=ISSUED)
    session.commit()
    tomorrow = clock.today(settings.timezone) + timedelta(days=1)

    r = api.post(
        f"/api/v1/invoices/{bad.id}/{path}",
        world["manager"],
        json={"reason": "x", "amount": "1.00", field: str(tomorrow)},
    )

    assert r.status_code == 422, r.text
    assert [e["key"] for e in r.json()["extra"]] == [field]
    assert api.get(f"/api/v1/invoices/{bad.id}", world["manager"]).json()["balance"] == "1200.00"


def test_a_reversal_dated_after_today_is_refused(api, session, world, settings):
    invoice(session, client=world["minas"], actor=world["mina"], issued=ISSUED)
    session.commit()
    paid = api.post(
        "/api/v1/payments",
        world["finance"],
        json={"client_id": world["minas"].id, "amount": "100.00", "currency": "USD", "received_on": "2026-02-01"},
    ).json()
    tomorrow = clock.today(settings.timezone) + timedelta(days=1)

    r = api.post(f"/api/v1/payments/{paid['id']}/reverse", world["finance"], json={"reversed_on": str(tomorrow)})

    assert r.status_code == 422, r.text
    assert [e["key"] for e in r.json()["extra"]] == ["reversed_on"]
    assert api.get(f"/api/v1/payments/{paid['id']}", world["finance"]).json()["reversed"] is False


def test_a_currency_the_client_is_neither_billed_nor_invoiced_in_is_refused(api, session, world):
    invoice(session, client=world["minas"], actor=world["mina"], issued=ISSUED)
    session.commit()

    r = api.post(
        "/api/v1/payments",
        world["finance"],
        json={"client_id": world["minas"].id, "amount": "30000.00", "currency": "HKD", "received_on": "2026-02-01"},
    )

    assert r.status_code == 422, r.text
    assert [e["key"] for e in r.json()["extra"]] == ["currency"]
    assert payments_total(api, world["finance"]) == 0


def test_a_currency_the_client_was_invoiced_in_is_accepted(api, session, world):
    eur = invoice(session, client=world["minas"], actor=world["mina"], issued=ISSUED, currency="EUR")
    session.commit()

    r = api.post(
        "/api/v1/payments",
        world["finance"],
        json={"client_id": world["minas"].id, "amount": "1200.00", "currency": "EUR", "received_on": "2026-02-01"},
    )

    assert r.status_code == 201, r.text
    assert r.json()["allocations"] == [{"invoice_id": eur.id, "amount": "1200.00"}]


def test_a_partial_write_off_leaves_the_rest_open_and_in_aging(api, session, world):
    bad = invoice(session, client=world["minas"], actor=world["mina"], issued=ISSUED)
    session.commit()

    r = api.post(
        f"/api/v1/invoices/{bad.id}/write-off",
        world["manager"],
        json={"reason": "settled in court for the rest", "amount": "200.00", "written_off_on": "2026-06-01"},
    )

    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["balance"], body["written_off"]) == ("open", "1000.00", "200.00")
    [usd] = api.get("/api/v1/reports/aging?as_of=2026-06-30", world["finance"]).json()["currencies"]
    assert usd["total"] == "1000.00"
    assert api.get("/api/v1/reports/aging?as_of=2026-05-31", world["finance"]).json()["currencies"][0]["total"] == (
        "1200.00"
    )


def test_a_write_off_without_amount_closes_the_whole_balance(api, session, world):
    bad = invoice(session, client=world["minas"], actor=world["mina"], issued=ISSUED)
    session.commit()

    r = api.post(
        f"/api/v1/invoices/{bad.id}/write-off",
        world["manager"],
        json={"reason": "insolvent", "written_off_on": "2026-06-01"},
    )

    assert (r.json()["status"], r.json()["balance"]) == ("written_off", "0.00")


@pytest.mark.parametrize("amount", ["0", "1200.01", "-5", "12.345"])
def test_a_write_off_amount_outside_the_balance_names_amount_and_changes_nothing(api, session, world, amount):
    bad = invoice(session, client=world["minas"], actor=world["mina"], issued=ISSUED)
    session.commit()

    r = api.post(f"/api/v1/invoices/{bad.id}/write-off", world["manager"], json={"reason": "x", "amount": amount})

    assert r.status_code == 422, r.text
    assert [e["key"] for e in r.json()["extra"]] == ["amount"]
    assert api.get(f"/api/v1/invoices/{bad.id}", world["manager"]).json()["balance"] == "1200.00"


def test_credit_notes_are_listed_filtered_paginated_and_scoped(api, session, world):
    minas = invoice(session, client=world["minas"], actor=world["mina"], issued=ISSUED)
    omars = invoice(session, client=world["omars"], actor=world["omar"], issued=ISSUED)
    first = credit(session, invoice=minas, actor=world["finance"], amount="10.00", on=date(2026, 1, 5))
    credit(session, invoice=omars, actor=world["finance"], amount="20.00", on=date(2026, 1, 6))
    session.commit()

    everything = api.get("/api/v1/credit-notes", world["finance"]).json()
    assert (everything["total"], [n["amount"] for n in everything["items"]]) == (2, ["20.00", "10.00"])
    page = api.get("/api/v1/credit-notes?limit=1&offset=1", world["finance"]).json()
    assert (page["total"], page["limit"], page["offset"], [n["id"] for n in page["items"]]) == (2, 1, 1, [first.id])
    by_invoice = api.get(f"/api/v1/credit-notes?invoice_id={minas.id}", world["finance"]).json()
    assert [n["id"] for n in by_invoice["items"]] == [first.id]
    assert by_invoice["items"][0]["client_id"] == world["minas"].id
    mine = api.get("/api/v1/credit-notes", world["mina"]).json()
    assert [n["id"] for n in mine["items"]] == [first.id]
    foreign = api.get(f"/api/v1/credit-notes?client_id={world['omars'].id}", world["mina"]).json()
    assert foreign["items"] == []


def test_aging_takes_its_buckets_from_the_request(api, session, world):
    invoice(session, client=world["minas"], actor=world["mina"], issued=ISSUED)  # due 31 January
    session.commit()

    r = api.get("/api/v1/reports/aging?as_of=2026-04-15&buckets=0,30,60,90", world["finance"])

    assert r.status_code == 200, r.text
    report = r.json()
    assert report["buckets"] == ["current", "1-30", "31-60", "61-90", "90+"]
    assert report["currencies"][0]["totals"]["61-90"] == "1200.00"


@pytest.mark.parametrize("buckets", ["0,60,30", "30,60", "0,x", "", "0,,30", "0,99999"])
def test_bad_aging_buckets_name_the_parameter(api, session, world, buckets):
    session.commit()

    r = api.get(f"/api/v1/reports/aging?buckets={buckets}", world["finance"])

    assert r.status_code == 422, r.text
    assert r.json()["extra"] == [{"key": "buckets", "message": r.json()["extra"][0]["message"], "source": "query"}]


def test_today_groups_overdue_invoices_by_client_with_the_highest_level_and_total(api, session, world):
    as_of = date(2026, 6, 1)
    levels = {date(2026, 1, 1): 4, date(2026, 3, 1): 2, date(2026, 4, 1): 1}
    for issued, level in levels.items():
        invoice(session, client=world["minas"], actor=world["mina"], issued=issued).dunning_level = level
    invoice(session, client=world["omars"], actor=world["omar"], issued=date(2026, 2, 1)).dunning_level = 3
    session.commit()

    first = api.get(f"/api/v1/today?as_of={as_of}&limit=1", world["finance"]).json()
    second = api.get(f"/api/v1/today?as_of={as_of}&limit=1&offset=1", world["finance"]).json()

    assert (first["overdue_clients"]["total"], first["counts"]["overdue_invoices"]) == (2, 4)
    [northwind] = first["overdue_clients"]["items"]
    assert (northwind["client_name"], northwind["invoice_count"], northwind["total"]) == ("Northwind", 3, "3600.00")
    assert (northwind["dunning_level"], northwind["oldest_due_date"], northwind["days_overdue"]) == (
        4,
        "2026-01-31",
        121,
    )
    assert [i["dunning_level"] for i in northwind["invoices"]] == [4, 2, 1]
    assert [(c["client_name"], c["dunning_level"]) for c in second["overdue_clients"]["items"]] == [("Contoso", 3)]
    mina = api.get(f"/api/v1/today?as_of={as_of}", world["mina"]).json()["overdue_clients"]
    assert [c["client_name"] for c in mina["items"]] == ["Northwind"]
