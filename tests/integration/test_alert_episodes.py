"""Warnings that come back: a cause that ends and returns is a new episode and warns again."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from renewals.domain.daily import scan
from tests.factories import make_client, make_user
from tests.integration.alerts_arrange import invoice_due

DAY = date(2026, 3, 2)


@pytest.fixture
def people(session):
    return {"finance": make_user(session, role="finance"), "mina": make_user(session, role="account_manager")}


def scan_day(session, day: date) -> None:
    scan.run_day(session, day)
    session.commit()


def listed(api, user, kind: str) -> list[tuple[str, str]]:
    r = api.get(f"/api/v1/alerts?kind={kind}", user)
    assert r.status_code == 200, r.text
    return sorted((a["dedupe_key"], a["status"]) for a in r.json()["items"])


def pay(api, user, client, amount: str, on: date) -> dict:
    body = {"client_id": client.id, "amount": amount, "currency": "USD", "received_on": on.isoformat()}
    r = api.post("/api/v1/payments", user, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_two_breaches_of_the_credit_limit_give_two_alerts(api, session, people):
    client = make_client(session, owner=people["mina"], credit_limit=Decimal("1000"))
    invoice_due(session, client=client, actor=people["mina"], due=DAY + timedelta(days=10))  # 1,200 owed
    scan_day(session, DAY)
    pay(api, people["finance"], client, "1200.00", DAY)  # back under the limit: the episode ends
    scan_day(session, DAY + timedelta(days=1))
    invoice_due(session, client=client, actor=people["mina"], due=DAY + timedelta(days=40))  # over again
    scan_day(session, DAY + timedelta(days=30))
    scan_day(session, DAY + timedelta(days=31))  # the same breach: nothing new

    base = f"credit_limit:client:{client.id}:100000"
    assert listed(api, people["finance"], "credit_limit") == [(base, "resolved"), (f"{base}:e2", "open")]


def test_a_breach_resolved_by_hand_is_not_raised_again_while_it_lasts(api, session, people):
    client = make_client(session, owner=people["mina"], credit_limit=Decimal("1000"))
    invoice_due(session, client=client, actor=people["mina"], due=DAY + timedelta(days=10))
    scan_day(session, DAY)
    [(key, _)] = listed(api, people["finance"], "credit_limit")
    alert_id = api.get("/api/v1/alerts?kind=credit_limit", people["finance"]).json()["items"][0]["id"]
    assert api.post(f"/api/v1/alerts/{alert_id}/resolve", people["finance"], json={}).status_code == 200

    scan_day(session, DAY + timedelta(days=1))
    assert listed(api, people["finance"], "credit_limit") == [(key, "resolved")]

    # ... but once the client was back under its limit, a new breach warns again.
    pay(api, people["finance"], client, "1200.00", DAY + timedelta(days=1))
    scan_day(session, DAY + timedelta(days=2))
    invoice_due(session, client=client, actor=people["mina"], due=DAY + timedelta(days=40))
    scan_day(session, DAY + timedelta(days=30))
    assert listed(api, people["finance"], "credit_limit") == [(key, "resolved"), (f"{key}:e2", "open")]


def test_an_invoice_reopened_by_a_bounced_payment_is_warned_about_again(api, session, people):
    client = make_client(session, owner=people["mina"])
    invoice = invoice_due(session, client=client, actor=people["mina"], due=DAY)
    scan_day(session, DAY + timedelta(days=1))  # level 1
    payment = pay(api, people["finance"], client, "1200.00", DAY + timedelta(days=2))
    r = api.post(
        f"/api/v1/payments/{payment['id']}/reverse",
        people["finance"],
        json={"reversed_on": (DAY + timedelta(days=5)).isoformat(), "reason": "bounced"},
    )
    assert r.status_code == 200, r.text
    scan_day(session, DAY + timedelta(days=6))

    base = f"invoice_overdue:invoice:{invoice.id}:1"
    assert listed(api, people["finance"], "invoice_overdue") == [(base, "resolved"), (f"{base}:e2", "open")]
