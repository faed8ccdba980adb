"""Every operation that names an object, asked by an account manager about another manager's
object, answers 404 and shows nothing of it; built from the OpenAPI document, so a new endpoint
is covered the day it appears."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from renewals.db.models import Alert, Invoice, Renewal
from renewals.db.models.jobs import Job
from renewals.db.models.notices import Notice, NoticeBatch, NoticeLink
from renewals.domain.clients.schemas import ContactIn
from renewals.domain.clients.service import add_contact
from renewals.domain.daily import scan
from renewals.domain.receivables.billing import run_billing
from renewals.domain.receivables.payments import record_payment
from renewals.domain.receivables.schemas import PaymentIn
from tests.factories import make_client, make_contract, make_user
from tests.integration.conftest import Api

DAY = date(2026, 6, 1)
# A well-formed body for each operation that takes one, so that only ownership can refuse it.
BODIES: dict[tuple[str, str], Any] = {
    ("post", "/api/v1/clients/{client_id}/contacts"): {"name": "Someone"},
    ("patch", "/api/v1/clients/{client_id}"): {"version": 1, "name": "Renamed"},
    ("patch", "/api/v1/contracts/{contract_id}"): {"version": 1, "title": "Renamed"},
    ("post", "/api/v1/contracts/{contract_id}/terminate"): {"effective_date": "2026-07-01", "reason": "moving"},
    ("post", "/api/v1/renewals/{renewal_id}/activities"): {"kind": "call", "text": "hello"},
    ("patch", "/api/v1/renewals/{renewal_id}"): {"version": 1, "next_action_date": "2026-06-10"},
    ("post", "/api/v1/renewals/{renewal_id}/transitions"): {"to": "contacted"},
    ("post", "/api/v1/alerts/{alert_id}/acknowledge"): {},
    ("post", "/api/v1/alerts/{alert_id}/resolve"): {},
    ("post", "/api/v1/invoices/{invoice_id}/credit-notes"): {"amount": "1", "reason": "goodwill"},
    ("post", "/api/v1/invoices/{invoice_id}/hold"): {"kind": "dispute", "reason": "wrong rate"},
    ("post", "/api/v1/invoices/{invoice_id}/release"): {},
    ("post", "/api/v1/invoices/{invoice_id}/write-off"): {"reason": "insolvent"},
    ("post", "/api/v1/payments/{payment_id}/reverse"): {"reason": "bounced"},
    ("post", "/api/v1/notices/{notice_id}/link"): {},
    ("post", "/api/v1/notices/{notice_id}/link/{link_id}/revoke"): {},
    ("post", "/api/v1/notices/{notice_id}/send"): {},
}
NOT_ABOUT_A_CLIENT = {"/api/v1/users/{user_id}"}  # admins' business: 403 for every other role


@pytest.fixture
def theirs(session: Session) -> dict[str, Any]:
    """Everything an account manager can own, belonging to Wei; Mina is the other manager."""
    manager = make_user(session, role="manager")
    finance = make_user(session, role="finance")
    wei = make_user(session, role="account_manager", name="Wei")
    mina = make_user(session, role="account_manager", name="Mina")
    client = make_client(session, owner=wei, name="Wei's client")
    contact = add_contact(session, wei, client.id, ContactIn(name="Signer", email="s@example.test", is_signatory=True))
    contract = make_contract(
        session, client=client, actor=wei, start_date=DAY - timedelta(days=300), end_date=DAY + timedelta(days=30)
    )
    run_billing(session, DAY, None)
    scan.run_day(session, DAY)
    session.flush()
    invoice = session.scalars(select(Invoice).where(Invoice.client_id == client.id).order_by(Invoice.id)).first()
    payment, _ = record_payment(
        session,
        finance,
        PaymentIn(client_id=client.id, amount="10", currency="USD", received_on=DAY, method="bank_transfer"),
        None,
        DAY,
    )
    batch = NoticeBatch(owner_id=wei.id, within_days=60, as_of=DAY, status="queued")
    session.add(batch)
    session.flush()
    notice = Notice(kind="statement", client_id=client.id, language="en", params={"as_of": DAY.isoformat()})
    job = Job(kind="scan", status="queued", params={"as_of": DAY.isoformat()}, requested_by=manager.id)
    session.add_all([notice, job])
    session.flush()
    link = NoticeLink(
        id="matrix-link-0001", notice_id=notice.id, expires_at=datetime(2026, 7, 1, tzinfo=UTC), created_by=wei.id
    )
    session.add(link)
    session.flush()
    ids = {
        "client_id": client.id,
        "contract_id": contract.id,
        "renewal_id": session.scalars(select(Renewal.id).where(Renewal.contract_id == contract.id)).one(),
        "alert_id": session.scalars(select(Alert.id).where(Alert.client_id == client.id)).first(),
        "invoice_id": invoice.id if invoice else None,
        "payment_id": payment["id"],
        "notice_id": notice.id,
        "link_id": link.id,
        "batch_id": batch.id,
        "job_id": job.id,
        "contact_id": contact.id,
    }
    session.commit()
    assert all(v is not None for v in ids.values()), ids
    return {"wei": wei, "mina": mina, "ids": ids}


def operations(api: Api) -> list[tuple[str, str]]:
    document = api.get("/schema/openapi.json").json()
    return [
        (method, path)
        for path, item in document["paths"].items()
        if path.startswith("/api/v1/") and "{" in path and path not in NOT_ABOUT_A_CLIENT
        for method in item
        if method in {"get", "post", "patch", "put", "delete"}
    ]


def test_another_managers_objects_are_404_on_every_operation_that_names_one(api: Api, theirs) -> None:
    ops = operations(api)
    answers = {}
    for method, template in ops:
        path = re.sub(r"\{(\w+)\}", lambda m: str(theirs["ids"][m[1]]), template)
        body = BODIES.get((method, template))
        response = api.client.request(
            method.upper(),
            path,
            json=body if method in {"post", "patch", "put"} else None,
            headers={"Authorization": f"Bearer {api.token(theirs['mina'])}"},
        )
        answers[(method, template)] = response.status_code
        assert "Wei" not in response.text

    assert len(ops) >= 25
    assert {op: status for op, status in answers.items() if status != 404} == {}


def test_the_owner_reaches_the_same_objects(api: Api, theirs) -> None:
    for template in ("/api/v1/clients/{client_id}", "/api/v1/invoices/{invoice_id}", "/api/v1/alerts/{alert_id}"):
        path = re.sub(r"\{(\w+)\}", lambda m: str(theirs["ids"][m[1]]), template)
        assert api.get(path, theirs["wei"]).status_code == 200, template
