"""The statement of account: opening balance, the period's entries with a running balance,
closing balance and the aging as of the period's end, one section per currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from renewals.domain.receivables.reports import account_balances, statement
from tests.factories import make_client, make_user
from tests.integration.receivables_arrange import bounce, credit, invoice, pay, write_off

JULY = (date(2026, 7, 1), date(2026, 7, 31))


@pytest.fixture
def people(session):
    return {
        "owner": make_user(session, role="account_manager"),
        "finance": make_user(session, role="finance"),
        "manager": make_user(session, role="manager"),
    }


@pytest.fixture
def july_with_a_bounce_and_a_credit(session, people):
    """June's invoice paid in June; in July a new invoice, an overpayment, June's payment bounces,
    and a credit note on June's invoice."""
    owner, finance = people["owner"], people["finance"]
    client = make_client(session, owner=owner, name="Acme")
    june = invoice(session, client=client, actor=owner, issued=date(2026, 6, 1))
    cheque = pay(session, client=client, actor=finance, amount="1200.00", on=date(2026, 6, 20), reference="CHQ-1")
    invoice(session, client=client, actor=owner, issued=date(2026, 7, 1))
    pay(session, client=client, actor=finance, amount="1500.00", on=date(2026, 7, 5), reference="TT-2")
    bounce(session, payment=cheque, actor=finance, on=date(2026, 7, 10))
    credit(session, invoice=june, actor=finance, amount="100.00", on=date(2026, 7, 20))
    session.commit()
    return client


def test_statement_lists_the_periods_entries_with_a_running_balance(session, people, july_with_a_bounce_and_a_credit):
    client = july_with_a_bounce_and_a_credit

    result = statement(session, people["finance"], client.id, *JULY)

    [usd] = result.currencies
    assert usd.opening_balance == Decimal("0.00")
    assert [(e.date.day, e.kind, e.reference, e.amount, e.balance) for e in usd.entries] == [
        (1, "invoice", usd.entries[0].reference, Decimal("1200.00"), Decimal("1200.00")),
        (5, "payment", "TT-2", Decimal("-1500.00"), Decimal("-300.00")),
        (10, "payment_reversal", "CHQ-1", Decimal("1200.00"), Decimal("900.00")),
        (20, "credit_note", usd.entries[3].reference, Decimal("-100.00"), Decimal("800.00")),
    ]
    assert usd.entries[0].reference.startswith("INV-2026-")
    assert usd.entries[3].reference.startswith("CN-2026-")
    assert usd.closing_balance == Decimal("800.00")


def test_closing_balance_is_the_aging_total_less_unapplied_credit(session, people, july_with_a_bounce_and_a_credit):
    client = july_with_a_bounce_and_a_credit

    [usd] = statement(session, people["finance"], client.id, *JULY).currencies

    # June's invoice is open again after the bounce, less the credit note, and 30 days late;
    # July's invoice was paid by the overpayment, which left 300.00 unapplied.
    assert usd.aging.as_of == date(2026, 7, 31)
    assert usd.aging.buckets["1-30"] == Decimal("1100.00")
    assert usd.aging.total == Decimal("1100.00")
    assert usd.unapplied_credit == Decimal("300.00")
    assert usd.closing_balance == usd.aging.total - usd.unapplied_credit
    assert usd.opening_balance + sum(e.amount for e in usd.entries) == usd.closing_balance


def test_opening_balance_carries_everything_before_the_period(session, people, july_with_a_bounce_and_a_credit):
    client = july_with_a_bounce_and_a_credit

    [usd] = statement(session, people["finance"], client.id, date(2026, 7, 15), date(2026, 8, 15)).currencies

    assert usd.opening_balance == Decimal("900.00")
    assert [e.kind for e in usd.entries] == ["credit_note"]
    assert usd.closing_balance == Decimal("800.00")


def test_a_write_off_lowers_the_balance_on_its_date(session, people):
    owner = people["owner"]
    client = make_client(session, owner=owner)
    bad = invoice(session, client=client, actor=owner, issued=date(2026, 3, 1))
    pay(session, client=client, actor=people["finance"], amount="200.00", on=date(2026, 4, 1))
    write_off(session, invoice=bad, actor=people["manager"], on=date(2026, 7, 15))
    session.commit()

    [usd] = statement(session, people["finance"], client.id, *JULY).currencies

    assert usd.opening_balance == Decimal("1000.00")
    assert [(e.kind, e.amount, e.balance) for e in usd.entries] == [("write_off", Decimal("-1000.00"), Decimal("0.00"))]
    assert usd.aging.total == Decimal("0.00")


def test_each_currency_has_its_own_section(session, people):
    owner = people["owner"]
    client = make_client(session, owner=owner, currency="USD")
    invoice(session, client=client, actor=owner, issued=date(2026, 7, 3))
    invoice(session, client=client, actor=owner, issued=date(2026, 7, 4), currency="KRW", monthly="250000")
    pay(session, client=client, actor=people["finance"], amount="1000000", currency="KRW", on=date(2026, 7, 9))
    session.commit()

    krw, usd = statement(session, people["finance"], client.id, *JULY).currencies

    assert (krw.currency, krw.closing_balance, krw.aging.total) == ("KRW", Decimal("2000000"), Decimal("2000000"))
    assert [e.kind for e in krw.entries] == ["invoice", "payment"]
    assert (usd.currency, usd.closing_balance, usd.aging.total) == ("USD", Decimal("1200.00"), Decimal("1200.00"))


def test_closing_balance_matches_the_account_balance_recomputed_at_the_end(
    session, people, july_with_a_bounce_and_a_credit
):
    client = july_with_a_bounce_and_a_credit

    [usd] = statement(session, people["finance"], client.id, *JULY).currencies

    assert account_balances(session, client.id, JULY[1]) == {"USD": 80000}
    assert usd.closing_balance == Decimal("800.00")


def test_statement_over_http_names_the_period_and_carries_amounts_as_strings(
    api, session, people, july_with_a_bounce_and_a_credit
):
    client = july_with_a_bounce_and_a_credit

    r = api.get(
        f"/api/v1/clients/{client.id}/statement", people["owner"], params={"from": "2026-07-01", "to": "2026-07-31"}
    )

    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["client_id"], body["client_name"], body["from"], body["to"]) == (
        client.id,
        "Acme",
        "2026-07-01",
        "2026-07-31",
    )
    [usd] = body["currencies"]
    assert (usd["opening_balance"], usd["closing_balance"], usd["unapplied_credit"]) == ("0.00", "800.00", "300.00")
    assert usd["entries"][2] == {
        "date": "2026-07-10",
        "kind": "payment_reversal",
        "reference": "CHQ-1",
        "description": "bank_transfer",
        "amount": "1200.00",
        "balance": "900.00",
    }
    assert usd["aging"]["buckets"]["1-30"] == "1100.00"


def test_another_managers_client_is_not_found(api, session, people, july_with_a_bounce_and_a_credit):
    stranger = make_user(session, role="account_manager")
    session.commit()

    r = api.get(
        f"/api/v1/clients/{july_with_a_bounce_and_a_credit.id}/statement",
        stranger,
        params={"from": "2026-07-01", "to": "2026-07-31"},
    )

    assert r.status_code == 404
    assert "Acme" not in r.text


def test_a_period_ending_before_it_starts_is_rejected_naming_to(api, session, people, july_with_a_bounce_and_a_credit):
    r = api.get(
        f"/api/v1/clients/{july_with_a_bounce_and_a_credit.id}/statement",
        people["finance"],
        params={"from": "2026-07-31", "to": "2026-07-01"},
    )

    assert r.status_code == 422
    assert [e["key"] for e in r.json()["extra"]] == ["to"]
