"""The aging report: open balances by days past due as of a date, per currency, with DSO."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from renewals import clock
from renewals.domain.receivables.reports import aging
from tests.factories import make_client, make_user
from tests.integration.receivables_arrange import bounce, credit, invoice, invoice_due, pay, write_off

AS_OF = date(2026, 9, 30)


@pytest.fixture
def finance(session):
    return make_user(session, role="finance")


@pytest.fixture
def manager(session):
    return make_user(session, role="account_manager", name="Mina Park")


def test_each_invoice_lands_in_the_bucket_its_days_past_due_name(session, finance, manager):
    client = make_client(session, owner=manager)
    # monthly price n → an invoice of 12 n, so each bucket's figure tells which invoices it holds
    for days_late, monthly in [
        (-5, "1"),
        (0, "2"),
        (1, "4"),
        (30, "8"),
        (31, "16"),
        (60, "32"),
        (61, "64"),
        (90, "128"),
        (91, "256"),
        (180, "512"),
        (181, "1024"),
    ]:
        invoice_due(session, client=client, actor=manager, due=AS_OF - timedelta(days=days_late), monthly=monthly)

    report = aging(session, finance, AS_OF)

    [usd] = report.currencies
    assert report.buckets == ["current", "1-30", "31-60", "61-90", "91-180", "180+"]
    assert usd.totals == {
        "current": Decimal(12 * (1 + 2)),
        "1-30": Decimal(12 * (4 + 8)),
        "31-60": Decimal(12 * (16 + 32)),
        "61-90": Decimal(12 * (64 + 128)),
        "91-180": Decimal(12 * (256 + 512)),
        "180+": Decimal(12 * 1024),
    }
    assert usd.total == Decimal(12 * 2047)


def test_invoices_issued_after_the_date_do_not_count(session, finance, manager):
    client = make_client(session, owner=manager)
    invoice(session, client=client, actor=manager, issued=AS_OF)
    invoice(session, client=client, actor=manager, issued=AS_OF + timedelta(days=1))

    [usd] = aging(session, finance, AS_OF).currencies

    assert usd.total == Decimal("1200.00")


def test_a_voided_invoice_counts_until_the_day_it_was_voided(session, finance, manager):
    client = make_client(session, owner=manager)
    voided = invoice(session, client=client, actor=manager, issued=date(2026, 8, 1))
    voided.voided_on, voided.status = date(2026, 9, 15), "void"
    session.flush()

    assert aging(session, finance, date(2026, 9, 14)).currencies[0].total == Decimal("1200.00")
    assert aging(session, finance, date(2026, 9, 15)).currencies == []


def test_payments_credits_and_write_offs_count_from_their_own_dates(session, finance, manager):
    boss = make_user(session, role="manager")
    client = make_client(session, owner=manager)
    first = invoice(session, client=client, actor=manager, issued=date(2026, 5, 1))
    second = invoice(session, client=client, actor=manager, issued=date(2026, 6, 1))
    cheque = pay(session, client=client, actor=finance, amount="1000.00", on=date(2026, 6, 10))
    credit(session, invoice=first, actor=finance, amount="50.00", on=date(2026, 6, 20))
    bounce(session, payment=cheque, actor=finance, on=date(2026, 7, 1))
    write_off(session, invoice=second, actor=boss, on=date(2026, 8, 1))

    def total(day: date) -> Decimal:
        return aging(session, finance, day).currencies[0].total

    assert total(date(2026, 6, 9)) == Decimal("2400.00")
    assert total(date(2026, 6, 10)) == Decimal("1400.00")
    assert total(date(2026, 6, 20)) == Decimal("1350.00")
    assert total(date(2026, 7, 1)) == Decimal("2350.00")
    # the write-off closes the second invoice's balance; the first stays open
    assert total(date(2026, 8, 1)) == Decimal("1150.00")


def test_group_by_client_names_each_client_with_its_own_buckets(session, finance, manager):
    acme = make_client(session, owner=manager, name="Acme")
    bolt = make_client(session, owner=manager, name="Bolt")
    invoice_due(session, client=acme, actor=manager, due=AS_OF - timedelta(days=45))
    invoice_due(session, client=bolt, actor=manager, due=AS_OF, monthly="50.00")

    [usd] = aging(session, finance, AS_OF, "client").currencies

    assert [(g.key, g.name, g.total) for g in usd.groups] == [
        (acme.id, "Acme", Decimal("1200.00")),
        (bolt.id, "Bolt", Decimal("600.00")),
    ]
    assert usd.groups[0].buckets["31-60"] == Decimal("1200.00")
    assert usd.groups[1].buckets["current"] == Decimal("600.00")


def test_group_by_owner_adds_up_each_account_managers_clients(session, finance, manager):
    other = make_user(session, role="account_manager", name="Leo Chen")
    for owner, monthly in [(manager, "100.00"), (manager, "200.00"), (other, "50.00")]:
        client = make_client(session, owner=owner)
        invoice_due(session, client=client, actor=owner, due=AS_OF - timedelta(days=3), monthly=monthly)

    [usd] = aging(session, finance, AS_OF, "owner").currencies

    assert [(g.key, g.name, g.buckets["1-30"]) for g in usd.groups] == [
        (manager.id, "Mina Park", Decimal("3600.00")),
        (other.id, "Leo Chen", Decimal("600.00")),
    ]


def test_group_by_segment_keys_groups_by_the_segment(session, finance, manager):
    for segment, monthly in [("government", "10.00"), ("finance", "20.00"), ("government", "30.00")]:
        client = make_client(session, owner=manager, segment=segment)
        invoice_due(session, client=client, actor=manager, due=AS_OF + timedelta(days=10), monthly=monthly)

    [usd] = aging(session, finance, AS_OF, "segment").currencies

    assert [(g.key, g.name, g.total) for g in usd.groups] == [
        ("government", "government", Decimal("480.00")),
        ("finance", "finance", Decimal("240.00")),
    ]


def test_currencies_are_never_summed_together(session, finance, manager):
    seoul = make_client(session, owner=manager, currency="KRW")
    boston = make_client(session, owner=manager, currency="USD")
    invoice_due(session, client=seoul, actor=manager, due=AS_OF, monthly="1500000")
    invoice_due(session, client=boston, actor=manager, due=AS_OF, monthly="100.00")
    invoice_due(session, client=boston, actor=manager, due=AS_OF, monthly="100.00", currency="EUR")

    report = aging(session, finance, AS_OF)

    assert [(c.currency, c.total) for c in report.currencies] == [
        ("EUR", Decimal("1200.00")),
        ("KRW", Decimal("18000000")),
        ("USD", Decimal("1200.00")),
    ]
    assert [g.key for g in report.currencies[1].groups] == [seoul.id]


def test_dso_divides_open_receivables_by_the_trailing_window_of_invoicing(session, finance, manager):
    client = make_client(session, owner=manager)
    invoice(session, client=client, actor=manager, issued=AS_OF - timedelta(days=100))
    invoice(session, client=client, actor=manager, issued=AS_OF - timedelta(days=10))

    # 2400 open; 1200 invoiced in the 90 days to AS_OF → 2400 / 1200 × 90
    assert aging(session, finance, AS_OF).currencies[0].dso == Decimal("180.0")
    # 2400 invoiced in the 120 days to AS_OF → 2400 / 2400 × 120
    assert aging(session, finance, AS_OF, dso_days=120).currencies[0].dso == Decimal("120.0")
    # nothing invoiced in the 5 days to AS_OF: DSO means nothing
    assert aging(session, finance, AS_OF, dso_days=5).currencies[0].dso is None


def test_report_over_http_has_the_pinned_shape_with_amounts_as_strings(api, session, finance, manager):
    client = make_client(session, owner=manager, name="Acme")
    invoice_due(session, client=client, actor=manager, due=date(2026, 9, 20), monthly="100.25")
    session.commit()

    r = api.get("/api/v1/reports/aging", finance, params={"as_of": "2026-09-30"})

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["as_of"] == "2026-09-30"
    assert body["buckets"] == ["current", "1-30", "31-60", "61-90", "91-180", "180+"]
    [usd] = body["currencies"]
    assert usd["currency"] == "USD"
    assert usd["total"] == "1203.00"
    assert usd["totals"]["1-30"] == "1203.00"
    assert usd["totals"]["current"] == "0.00"
    assert usd["dso"] == "90.0"
    assert usd["groups"] == [
        {
            "key": client.id,
            "name": "Acme",
            "total": "1203.00",
            "buckets": {
                "current": "0.00",
                "1-30": "1203.00",
                "31-60": "0.00",
                "61-90": "0.00",
                "91-180": "0.00",
                "180+": "0.00",
            },
        }
    ]


def test_account_manager_sees_only_their_own_clients(api, session, manager):
    other = make_user(session, role="account_manager")
    mine = make_client(session, owner=manager, name="Mine")
    theirs = make_client(session, owner=other, name="Theirs")
    invoice_due(session, client=mine, actor=manager, due=AS_OF, monthly="100.00")
    invoice_due(session, client=theirs, actor=other, due=AS_OF, monthly="900.00")
    session.commit()

    for group_by in ("client", "owner", "segment"):
        r = api.get("/api/v1/reports/aging", manager, params={"as_of": AS_OF.isoformat(), "group_by": group_by})
        assert r.status_code == 200, r.text
        [usd] = r.json()["currencies"]
        assert usd["total"] == "1200.00", group_by
        assert "Theirs" not in r.text


def test_unknown_group_by_is_rejected_naming_the_field(api, session, finance):
    session.commit()

    r = api.get("/api/v1/reports/aging", finance, params={"group_by": "region"})

    assert r.status_code == 422
    assert [e["key"] for e in r.json()["extra"]] == ["group_by"]


def test_malformed_as_of_is_rejected_naming_the_field(api, session, finance):
    session.commit()

    r = api.get("/api/v1/reports/aging", finance, params={"as_of": "30/09/2026"})

    assert r.status_code == 400
    assert [(e["key"], e["source"]) for e in r.json()["extra"]] == [("as_of", "query")]


def test_as_of_defaults_to_today_in_the_organisation_time_zone(api, session, finance, settings):
    session.commit()

    r = api.get("/api/v1/reports/aging", finance)

    assert r.status_code == 200, r.text
    assert r.json()["as_of"] == clock.today(settings.timezone).isoformat()
