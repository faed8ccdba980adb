"""Hostile input through HTTP: always a 4xx naming the field, never a 500, nothing half-written."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from renewals.db.models import AuditEntry, Client, Contract, Payment
from renewals.domain.receivables.billing import run_billing
from tests.factories import make_client, make_contract, make_user

HUGE = "100000000000000000000"  # 10^20
BEYOND_INT64 = 2**63 + 7


@pytest.fixture
def world(session):
    mina = make_user(session, role="account_manager")
    finance = make_user(session, role="finance")
    manager = make_user(session, role="manager")
    client = make_client(session, owner=mina, currency="USD")
    contract = make_contract(session, client=client, actor=mina, lines=[("Rack", "1", "1000.00")])
    session.commit()
    run_billing(session, date(2026, 3, 1), None)
    session.commit()
    return {"mina": mina, "finance": finance, "manager": manager, "client": client, "contract": contract}


def counts(session) -> tuple[int, ...]:
    out = tuple(session.scalar(select(func.count()).select_from(m)) for m in (Client, Contract, Payment, AuditEntry))
    session.commit()
    return out


def refused(response, key: str) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert key in [e["key"] for e in response.json()["extra"]], response.json()


def client_body(**overrides):
    body = {
        "name": "Harbour",
        "legal_name": "Harbour Ltd (bad input)",
        "segment": "enterprise",
        "size": "small",
        "language": "en",
        "currency": "USD",
        "credit_limit": "1000",
    }
    return body | overrides


def contract_body(world, **overrides):
    body = {
        "client_id": world["client"].id,
        "number": "CT-BAD-1",
        "title": "Rack",
        "kind": "rental",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "billing_cycle": "monthly",
        "tax_rate": "10",
        "status": "active",
        "lines": [{"description": "Rack", "quantity": 1, "monthly_unit_price": "100.00"}],
    }
    return body | overrides


def test_amounts_of_ten_to_the_twentieth_are_refused_everywhere(api, session, world):
    mina, finance = world["mina"], world["finance"]
    invoice_id = api.get("/api/v1/invoices", finance).json()["items"][0]["id"]
    before = counts(session)

    refused(api.post("/api/v1/clients", mina, json=client_body(credit_limit=HUGE)), "credit_limit")
    version = api.get(f"/api/v1/clients/{world['client'].id}", mina).json()["version"]
    refused(
        api.patch(f"/api/v1/clients/{world['client'].id}", mina, json={"credit_limit": HUGE, "version": version}),
        "credit_limit",
    )
    line = {"description": "Rack", "quantity": 1, "monthly_unit_price": HUGE}
    refused(api.post("/api/v1/contracts", mina, json=contract_body(world, lines=[line])), "lines[0].monthly_unit_price")
    line = {"description": "Rack", "quantity": HUGE, "monthly_unit_price": "1"}
    refused(api.post("/api/v1/contracts", mina, json=contract_body(world, lines=[line])), "lines[0].quantity")
    payment = {"client_id": world["client"].id, "currency": "USD", "received_on": "2026-02-10"}
    payment["method"] = "bank_transfer"
    refused(api.post("/api/v1/payments", finance, json=payment | {"amount": HUGE}), "amount")
    refused(
        api.post(
            "/api/v1/payments",
            finance,
            json=payment | {"amount": "10", "allocations": [{"invoice_id": invoice_id, "amount": HUGE}]},
        ),
        "allocations[0].amount",
    )
    refused(
        api.post(f"/api/v1/invoices/{invoice_id}/credit-notes", finance, json={"amount": HUGE, "reason": "x"}),
        "amount",
    )
    refused(api.post("/api/v1/payments", finance, json=payment | {"amount": "１２３"}), "amount")

    assert counts(session) == before


def test_ids_offsets_and_limits_beyond_64_bits_are_4xx(api, world):
    finance = world["finance"]

    for path in (f"/api/v1/clients/{BEYOND_INT64}", f"/api/v1/invoices/{BEYOND_INT64}", f"/api/v1/jobs/{BEYOND_INT64}"):
        assert api.get(path, finance).status_code == 404, path
    refused(api.get(f"/api/v1/clients?offset={BEYOND_INT64}", finance), "offset")
    refused(api.get(f"/api/v1/invoices?client_id={BEYOND_INT64}", finance), "client_id")
    payment = {"client_id": BEYOND_INT64, "amount": "1", "currency": "USD", "received_on": "2026-02-10"}
    response = api.post("/api/v1/payments", finance, json=payment | {"method": "bank_transfer"})
    assert response.status_code in {404, 422}, response.text


def test_dates_at_the_ends_of_the_calendar_are_4xx(api, world):
    finance = world["finance"]

    refused(api.get("/api/v1/reports/aging?as_of=9999-12-31", finance), "as_of")
    refused(api.get("/api/v1/reports/aging?as_of=0001-01-01", finance), "as_of")
    refused(api.get("/api/v1/renewals?ending_within_days=1000000000", world["mina"]), "ending_within_days")
    refused(api.post("/api/v1/billing/run", finance, json={"through": "9999-12-31"}), "through")


def test_nul_bytes_in_text_are_refused_naming_the_field(api, session, world):
    before = counts(session)

    refused(api.post("/api/v1/clients", world["mina"], json=client_body(name="Har\x00bour")), "name")
    refused(api.get("/api/v1/clients?q=a%00b", world["mina"]), "q")
    line = {"description": "Ra\x00ck", "quantity": 1, "monthly_unit_price": "1"}
    response = api.post("/api/v1/contracts", world["mina"], json=contract_body(world, lines=[line]))
    refused(response, "lines[0].description")

    assert counts(session) == before
