from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from renewals.db.models import AuditEntry, Invoice
from renewals.domain.receivables.billing import run_billing
from tests.factories import make_client, make_contract, make_user


@pytest.fixture
def world(session):
    mina = make_user(session, role="account_manager")
    wei = make_user(session, role="account_manager")
    finance = make_user(session, role="finance")
    manager = make_user(session, role="manager")
    client = make_client(session, owner=mina, currency="USD")
    other = make_client(session, owner=wei, currency="USD")
    make_contract(
        session,
        client=client,
        actor=mina,
        start_date=date(2026, 1, 1),
        lines=[("Rack", "1", "1000.00")],
        payment_terms_days=30,
    )
    make_contract(
        session,
        client=other,
        actor=wei,
        start_date=date(2026, 1, 1),
        lines=[("Bandwidth", "1", "250.00")],
        payment_terms_days=30,
    )
    session.commit()
    return {"mina": mina, "wei": wei, "finance": finance, "manager": manager, "client": client, "other": other}


def bill(session: Session, through: date) -> dict[int, list[Invoice]]:
    run_billing(session, through, None)
    session.commit()
    by_client: dict[int, list[Invoice]] = {}
    for inv in session.scalars(select(Invoice).order_by(Invoice.period_start)):
        by_client.setdefault(inv.client_id, []).append(inv)
    session.commit()  # end the read: on SQLite every transaction holds the write lock
    return by_client


def test_credit_note_reduces_the_balance(api, session, world):
    jan = bill(session, date(2026, 1, 1))[world["client"].id][0]

    r = api.post(
        f"/api/v1/invoices/{jan.id}/credit-notes",
        world["finance"],
        {"amount": "250.00", "reason": "outage on 12 January", "issued_on": "2026-01-20"},
    )

    assert r.status_code == 201, r.text
    assert r.json()["number"].startswith("CN-2026-")
    invoice = api.get(f"/api/v1/invoices/{jan.id}", world["finance"]).json()
    assert (invoice["credited"], invoice["balance"], invoice["status"]) == ("250.00", "750.00", "open")
    assert invoice["credit_notes"][0]["reason"] == "outage on 12 January"


def test_credit_note_for_the_whole_balance_settles_the_invoice(api, session, world):
    jan = bill(session, date(2026, 1, 1))[world["client"].id][0]

    api.post(f"/api/v1/invoices/{jan.id}/credit-notes", world["finance"], {"amount": "1000", "reason": "waived"})

    invoice = api.get(f"/api/v1/invoices/{jan.id}", world["finance"]).json()
    assert (invoice["balance"], invoice["status"]) == ("0.00", "paid")


def test_credit_note_above_the_balance_is_rejected(api, session, world):
    jan = bill(session, date(2026, 1, 1))[world["client"].id][0]

    r = api.post(
        f"/api/v1/invoices/{jan.id}/credit-notes", world["finance"], {"amount": "1000.01", "reason": "too generous"}
    )

    assert r.status_code == 422
    assert r.json()["extra"][0]["key"] == "amount"
    assert api.get(f"/api/v1/invoices/{jan.id}", world["finance"]).json()["balance"] == "1000.00"


def test_account_manager_cannot_issue_credit_notes(api, session, world):
    jan = bill(session, date(2026, 1, 1))[world["client"].id][0]

    r = api.post(f"/api/v1/invoices/{jan.id}/credit-notes", world["mina"], {"amount": "10", "reason": "x"})

    assert r.status_code == 403


def test_write_off_by_finance_is_forbidden(api, session, world):
    jan = bill(session, date(2026, 1, 1))[world["client"].id][0]

    r = api.post(f"/api/v1/invoices/{jan.id}/write-off", world["finance"], {"reason": "client insolvent"})

    assert r.status_code == 403
    assert api.get(f"/api/v1/invoices/{jan.id}", world["finance"]).json()["status"] == "open"


def test_write_off_by_a_manager_closes_the_balance_as_bad_debt(api, session, world):
    jan = bill(session, date(2026, 1, 1))[world["client"].id][0]
    api.post(f"/api/v1/invoices/{jan.id}/credit-notes", world["finance"], {"amount": "100", "reason": "sla"})

    r = api.post(
        f"/api/v1/invoices/{jan.id}/write-off",
        world["manager"],
        {"reason": "client insolvent", "written_off_on": "2026-06-30"},
    )

    assert r.status_code == 200, r.text
    invoice = r.json()
    assert (invoice["status"], invoice["balance"]) == ("written_off", "0.00")
    assert invoice["write_offs"][0]["amount"] == "900.00"
    assert invoice["write_offs"][0]["approved_by"] == world["manager"].id
    again = api.post(f"/api/v1/invoices/{jan.id}/write-off", world["manager"], {"reason": "twice"})
    assert again.status_code == 409


def test_dispute_hold_shows_on_the_invoice_and_is_released(api, session, world):
    jan = bill(session, date(2026, 1, 1))[world["client"].id][0]

    held = api.post(
        f"/api/v1/invoices/{jan.id}/hold",
        world["mina"],
        {"kind": "dispute", "reason": "client says one rack was never delivered"},
    )
    released = api.post(f"/api/v1/invoices/{jan.id}/release", world["finance"], {"reason": "resolved"})

    assert held.status_code == 200, held.text
    assert held.json()["hold"]["kind"] == "dispute"
    assert held.json()["hold"]["reason"] == "client says one rack was never delivered"
    assert released.json()["hold"] is None
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_type == "invoice", AuditEntry.entity_id == jan.id)
    ).all()
    assert sorted(actions) == ["hold", "release"]


def test_promise_to_pay_needs_a_date(api, session, world):
    jan = bill(session, date(2026, 1, 1))[world["client"].id][0]

    missing = api.post(f"/api/v1/invoices/{jan.id}/hold", world["finance"], {"kind": "promise", "reason": "call"})
    promised = api.post(
        f"/api/v1/invoices/{jan.id}/hold",
        world["finance"],
        {"kind": "promise", "until": "2027-01-31", "reason": "CFO promised on the phone"},
    )

    assert missing.status_code == 422
    assert missing.json()["extra"][0]["key"] == "until"
    assert promised.json()["hold"]["until"] == "2027-01-31"


def test_releasing_an_invoice_that_is_not_held_is_a_conflict(api, session, world):
    jan = bill(session, date(2026, 1, 1))[world["client"].id][0]

    r = api.post(f"/api/v1/invoices/{jan.id}/release", world["finance"], {})

    assert r.status_code == 409


def test_invoice_list_filters_by_status_client_and_overdue_date(api, session, world):
    invoices = bill(session, date(2026, 3, 1))
    jan, feb, mar = invoices[world["client"].id]
    api.post(f"/api/v1/invoices/{jan.id}/credit-notes", world["finance"], {"amount": "1000", "reason": "waived"})

    settled = api.get("/api/v1/invoices", world["finance"], params={"status": "paid"}).json()
    mine = api.get("/api/v1/invoices", world["finance"], params={"client_id": world["client"].id}).json()
    overdue = api.get(
        "/api/v1/invoices", world["finance"], params={"overdue_as_of": "2026-03-05", "client_id": world["client"].id}
    ).json()

    assert [i["id"] for i in settled["items"]] == [jan.id]
    assert mine["total"] == 3
    assert set(mine["items"][0]) >= {
        "id",
        "number",
        "client_id",
        "contract_id",
        "period_start",
        "period_end",
        "issue_date",
        "due_date",
        "currency",
        "net",
        "tax",
        "total",
        "paid",
        "credited",
        "balance",
        "status",
        "dunning_level",
        "hold",
    }
    # Feb is due 3 March (1 Feb + 30 days): overdue on the 5th; March is due in April; January is settled.
    assert [i["id"] for i in overdue["items"]] == [feb.id]
    assert mar.id not in [i["id"] for i in overdue["items"]]


def test_unknown_status_filter_is_rejected(api, session, world):
    r = api.get("/api/v1/invoices", world["finance"], params={"status": "settled"})

    assert r.status_code == 422
    assert r.json()["extra"][0]["key"] == "status"


def test_account_manager_gets_404_for_other_managers_invoices(api, session, world):
    invoices = bill(session, date(2026, 1, 1))
    foreign = invoices[world["other"].id][0]

    direct = api.get(f"/api/v1/invoices/{foreign.id}", world["mina"])
    listed = api.get("/api/v1/invoices", world["mina"]).json()
    filtered = api.get("/api/v1/invoices", world["mina"], params={"client_id": world["other"].id}).json()
    hold = api.post(f"/api/v1/invoices/{foreign.id}/hold", world["mina"], {"kind": "dispute", "reason": "x"})
    # Writes her role could never make are 404 too: another manager's invoice is not hers to know of.
    credit = api.post(f"/api/v1/invoices/{foreign.id}/credit-notes", world["mina"], {"amount": "1", "reason": "x"})
    write_off = api.post(f"/api/v1/invoices/{foreign.id}/write-off", world["mina"], {"reason": "x"})

    assert direct.status_code == 404
    assert {i["client_id"] for i in listed["items"]} == {world["client"].id}
    assert filtered["total"] == 0
    assert (hold.status_code, credit.status_code, write_off.status_code) == (404, 404, 404)
    assert api.get(f"/api/v1/invoices/{foreign.id}", world["finance"]).json()["credited"] == "0.00"


def test_billing_run_over_http_needs_finance_or_a_manager(api, session, world):
    refused = api.post("/api/v1/billing/run", world["mina"], {"through": "2026-02-01"})
    done = api.post("/api/v1/billing/run", world["finance"], {"through": "2026-02-01"})
    again = api.post("/api/v1/billing/run", world["manager"], {"through": "2026-02-01"})

    assert refused.status_code == 403
    assert done.status_code == 200, done.text
    assert (done.json()["invoices_issued"], again.json()["invoices_issued"]) == (4, 0)


def test_billing_run_rejects_a_malformed_date(api, session, world):
    r = api.post("/api/v1/billing/run", world["finance"], {"through": "2026-02-30"})

    assert r.status_code in {400, 422}
    assert [(e["key"], e["source"]) for e in r.json()["extra"]] == [("through", "body")]


def test_debt_reopened_by_a_bounced_payment_can_be_written_off_again(api, session, world):
    jan = bill(session, date(2026, 1, 1))[world["client"].id][0]
    paid = api.post(
        "/api/v1/payments",
        world["finance"],
        {"client_id": world["client"].id, "amount": "400.00", "currency": "USD", "received_on": "2026-02-10"},
    ).json()
    first = api.post(
        f"/api/v1/invoices/{jan.id}/write-off",
        world["manager"],
        {"reason": "client insolvent", "written_off_on": "2026-06-30"},
    )
    assert first.json()["write_offs"][0]["amount"] == "600.00"

    bounced = api.post(
        f"/api/v1/payments/{paid['id']}/reverse",
        world["finance"],
        {"reversed_on": "2026-07-05", "reason": "cheque bounced"},
    )
    assert bounced.status_code in (200, 201), bounced.text
    assert api.get(f"/api/v1/invoices/{jan.id}", world["finance"]).json()["balance"] == "400.00"

    second = api.post(
        f"/api/v1/invoices/{jan.id}/write-off",
        world["manager"],
        {"reason": "bounced after the first write-off", "written_off_on": "2026-07-31"},
    )

    assert second.status_code == 200, second.text
    assert (second.json()["status"], second.json()["balance"]) == ("written_off", "0.00")
    assert [w["amount"] for w in second.json()["write_offs"]] == ["600.00", "400.00"]
