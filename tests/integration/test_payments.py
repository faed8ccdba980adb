from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renewals.db.models import Allocation, AuditEntry, CreditNote, Invoice, Payment, User, WriteOff
from renewals.domain.receivables.billing import run_billing
from renewals.domain.receivables.invoices import issue_credit_note
from renewals.domain.receivables.payments import record_payment, reverse_payment
from renewals.domain.receivables.schemas import CreditNoteIn, PaymentIn, ReversalIn
from tests.factories import make_client, make_contract, make_user
from tests.threads import run_at_once


@pytest.fixture
def world(session):
    mina = make_user(session, role="account_manager")
    wei = make_user(session, role="account_manager")
    finance = make_user(session, role="finance")
    manager = make_user(session, role="manager")
    client = make_client(session, owner=mina, currency="USD")
    contract = make_contract(
        session,
        client=client,
        actor=mina,
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
        lines=[("Rack", "1", "1000.00")],
        payment_terms_days=30,
    )
    session.commit()
    return {"mina": mina, "wei": wei, "finance": finance, "manager": manager, "client": client, "contract": contract}


def bill(session: Session, through: date) -> list[Invoice]:
    run_billing(session, through, None)
    session.commit()
    invoices = list(session.scalars(select(Invoice).order_by(Invoice.period_start)))
    session.commit()  # end the read: on SQLite every transaction holds the write lock
    return invoices


def invoice_json(api, user, invoice_id):
    return api.get(f"/api/v1/invoices/{invoice_id}", user).json()


def pay(api, world, amount, key=None, **extra):
    headers = {"Idempotency-Key": key} if key else None
    body = {
        "client_id": world["client"].id,
        "amount": amount,
        "currency": "USD",
        "received_on": "2026-03-05",
        "method": "bank_transfer",
        "reference": "TT-1",
    } | extra
    return api.post("/api/v1/payments", world["finance"], body, headers=headers)


def test_payment_pays_the_oldest_due_invoices_first(api, session, world):
    jan, feb, mar = bill(session, date(2026, 3, 1))

    r = pay(api, world, "1500.00")

    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) >= {
        "id",
        "client_id",
        "amount",
        "currency",
        "received_on",
        "method",
        "reference",
        "unapplied",
        "allocations",
        "reversed",
    }
    assert body["amount"] == "1500.00"
    assert body["unapplied"] == "0.00"
    assert body["allocations"] == [
        {"invoice_id": jan.id, "amount": "1000.00"},
        {"invoice_id": feb.id, "amount": "500.00"},
    ]
    assert invoice_json(api, world["finance"], jan.id)["status"] == "paid"
    feb_now = invoice_json(api, world["finance"], feb.id)
    assert (feb_now["status"], feb_now["paid"], feb_now["balance"]) == ("partially_paid", "500.00", "500.00")
    assert invoice_json(api, world["finance"], mar.id)["status"] == "open"


def test_payment_retried_with_the_same_key_returns_the_first_answer_and_records_nothing(api, session, world):
    bill(session, date(2026, 3, 1))
    first = pay(api, world, "1500.00", key="pay-2026-03-05-TT-1")

    again = pay(api, world, "1500.00", key="pay-2026-03-05-TT-1")

    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert session.scalar(select(func.count()).select_from(Payment)) == 1
    assert session.scalar(select(func.count()).select_from(Allocation)) == 2
    assert session.scalar(select(func.sum(Invoice.paid_minor))) == 150000


def test_same_key_with_a_different_body_is_refused_naming_the_key(api, session, world):
    bill(session, date(2026, 3, 1))
    pay(api, world, "1500.00", key="pay-42")

    r = pay(api, world, "1200.00", key="pay-42")

    assert r.status_code == 409
    assert "pay-42" in r.json()["detail"]
    assert session.scalar(select(func.count()).select_from(Payment)) == 1


def test_bounced_payment_reopens_what_it_paid(api, session, world):
    jan, feb, _ = bill(session, date(2026, 3, 1))
    payment = pay(api, world, "1500.00").json()

    r = api.post(f"/api/v1/payments/{payment['id']}/reverse", world["finance"], {"reversed_on": "2026-03-09"})

    assert r.status_code == 200, r.text
    assert r.json()["reversed"] is True
    for inv in (jan, feb):
        now = invoice_json(api, world["finance"], inv.id)
        assert (now["status"], now["paid"], now["balance"]) == ("open", "0.00", "1000.00")
    allocations = session.scalars(select(Allocation)).all()
    assert {a.reversed_on for a in allocations} == {date(2026, 3, 9)}


def test_reversing_a_payment_twice_is_a_conflict(api, session, world):
    bill(session, date(2026, 3, 1))
    payment = pay(api, world, "1500.00").json()
    api.post(f"/api/v1/payments/{payment['id']}/reverse", world["finance"], {"reversed_on": "2026-03-09"})

    r = api.post(f"/api/v1/payments/{payment['id']}/reverse", world["finance"], {"reversed_on": "2026-03-10"})

    assert r.status_code == 409
    assert session.scalar(select(func.sum(Invoice.balance_minor))) == 300000


def test_reversal_dated_before_receipt_is_rejected(api, session, world):
    bill(session, date(2026, 1, 1))
    payment = pay(api, world, "100.00").json()

    r = api.post(f"/api/v1/payments/{payment['id']}/reverse", world["finance"], {"reversed_on": "2026-03-01"})

    assert r.status_code == 422
    assert r.json()["extra"][0]["key"] == "reversed_on"


def test_overpayment_stays_as_credit_and_pays_the_next_billing_runs_invoice(api, session, world):
    (jan,) = bill(session, date(2026, 1, 1))
    payment = pay(api, world, "1500.00", received_on="2026-01-20").json()
    assert payment["unapplied"] == "500.00"

    invoices = bill(session, date(2026, 2, 1))

    feb = invoices[1]
    feb_now = invoice_json(api, world["finance"], feb.id)
    assert (feb_now["status"], feb_now["paid"], feb_now["balance"]) == ("partially_paid", "500.00", "500.00")
    assert feb_now["allocations"][0]["applied_on"] == "2026-02-01"  # the later of receipt and issue
    credits = api.get("/api/v1/payments", world["finance"], params={"client_id": world["client"].id}).json()
    assert credits["items"][0]["unapplied"] == "0.00"
    assert credits["items"][0]["allocations"] == [
        {"invoice_id": jan.id, "amount": "1000.00"},
        {"invoice_id": feb.id, "amount": "500.00"},
    ]


def test_explicit_allocations_pay_only_the_named_invoices(api, session, world):
    jan, feb, _ = bill(session, date(2026, 3, 1))

    r = pay(api, world, "800.00", allocations=[{"invoice_id": feb.id, "amount": "700.00"}])

    assert r.status_code == 201, r.text
    assert r.json()["unapplied"] == "100.00"
    assert invoice_json(api, world["finance"], jan.id)["balance"] == "1000.00"
    assert invoice_json(api, world["finance"], feb.id)["balance"] == "300.00"


def test_explicit_allocation_above_the_balance_names_the_field_and_records_nothing(api, session, world):
    _, feb, _ = bill(session, date(2026, 3, 1))

    r = pay(api, world, "2000.00", allocations=[{"invoice_id": feb.id, "amount": "1200.00"}])

    assert r.status_code == 422
    assert r.json()["extra"][0]["key"] == "allocations[0].amount"
    assert session.scalar(select(func.count()).select_from(Payment)) == 0


def test_disputed_invoice_is_skipped_by_automatic_allocation(api, session, world):
    jan, feb, _ = bill(session, date(2026, 3, 1))
    api.post(f"/api/v1/invoices/{jan.id}/hold", world["finance"], {"kind": "dispute", "reason": "wrong rack count"})

    body = pay(api, world, "1000.00").json()

    assert body["allocations"] == [{"invoice_id": feb.id, "amount": "1000.00"}]


@pytest.mark.parametrize("amount", [0, "-5.00", "12.345", "abc"])
def test_bad_amounts_are_rejected_naming_the_amount(api, session, world, amount):
    r = pay(api, world, amount)

    assert r.status_code == 422
    assert r.json()["extra"][0]["key"] == "amount"


def test_float_amount_is_a_client_error_not_a_crash(api, session, world):
    r = pay(api, world, 12.5)

    assert r.status_code in {400, 422}
    assert [e["key"] for e in r.json()["extra"]] == ["amount"]


def test_account_manager_cannot_record_payments(api, session, world):
    r = api.post(
        "/api/v1/payments", world["mina"], {"client_id": world["client"].id, "amount": "10.00", "currency": "USD"}
    )

    assert r.status_code == 403


def test_account_manager_sees_only_their_clients_payments(api, session, world):
    bill(session, date(2026, 1, 1))
    payment = pay(api, world, "100.00").json()

    mine = api.get("/api/v1/payments", world["mina"]).json()
    foreign = api.get("/api/v1/payments", world["wei"]).json()
    direct = api.get(f"/api/v1/payments/{payment['id']}", world["wei"])
    filtered = api.get("/api/v1/payments", world["wei"], params={"client_id": world["client"].id}).json()
    reverse = api.post(f"/api/v1/payments/{payment['id']}/reverse", world["wei"], {})

    assert mine["total"] == 1
    assert (foreign["total"], filtered["total"]) == (0, 0)
    assert direct.status_code == 404
    assert reverse.status_code == 404
    assert api.get(f"/api/v1/payments/{payment['id']}", world["finance"]).json()["reversed"] is False


def test_payments_filter_by_date_range_and_reversal(api, session, world):
    bill(session, date(2026, 3, 1))
    early = pay(api, world, "100.00", received_on="2026-01-10").json()
    pay(api, world, "100.00", received_on="2026-02-10")
    api.post(f"/api/v1/payments/{early['id']}/reverse", world["finance"], {"reversed_on": "2026-01-12"})

    february = api.get(
        "/api/v1/payments", world["finance"], params={"received_from": "2026-02-01", "received_to": "2026-02-28"}
    ).json()
    bounced = api.get("/api/v1/payments", world["finance"], params={"reversed": "true"}).json()

    assert [p["received_on"] for p in february["items"]] == ["2026-02-10"]
    assert [p["id"] for p in bounced["items"]] == [early["id"]]


def test_payment_and_reversal_are_audited_once_each(api, session, world):
    bill(session, date(2026, 1, 1))
    payment = pay(api, world, "100.00", key="k-1").json()
    pay(api, world, "100.00", key="k-1")
    api.post(f"/api/v1/payments/{payment['id']}/reverse", world["finance"], {})

    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_type == "payment", AuditEntry.entity_id == payment["id"])
    ).all()

    assert sorted(actions) == ["create", "reverse"]


# ---- properties over random payment sequences, against the real database -------------------

operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(min_value=1, max_value=400_000)),
        st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=20)),
        st.tuples(st.just("credit"), st.integers(min_value=1, max_value=50_000)),
        st.tuples(st.just("bill"), st.just(0)),
    ),
    min_size=1,
    max_size=12,
)


def check_ledger(session: Session, client_id: int) -> None:
    invoices = session.scalars(select(Invoice).where(Invoice.client_id == client_id)).all()
    payments = session.scalars(select(Payment).where(Payment.client_id == client_id)).all()
    live = {}
    for a in session.scalars(select(Allocation).join(Payment).where(Payment.client_id == client_id)):
        if a.reversed_on is None:
            live.setdefault(a.payment_id, []).append(a)
    for p in payments:
        applied = sum(a.amount_minor for a in live.get(p.id, []))
        assert applied <= p.amount_minor, "allocations exceed the payment"
        assert p.unapplied_minor == (0 if p.reversed else p.amount_minor - applied)
    credited = {inv.id: 0 for inv in invoices}
    for c in session.scalars(select(CreditNote).where(CreditNote.client_id == client_id)):
        credited[c.invoice_id] += c.amount_minor
    written = {inv.id: 0 for inv in invoices}
    for w in session.scalars(select(WriteOff).where(WriteOff.client_id == client_id)):
        written[w.invoice_id] += w.amount_minor
    paid = {inv.id: 0 for inv in invoices}
    for allocations in live.values():
        for a in allocations:
            paid[a.invoice_id] += a.amount_minor
    for inv in invoices:
        assert inv.balance_minor >= 0, f"invoice {inv.number} has a negative balance"
        assert inv.balance_minor == inv.total_minor - paid[inv.id] - credited[inv.id] - written[inv.id]
    assert sum(i.balance_minor for i in invoices) == (
        sum(i.total_minor for i in invoices) - sum(paid.values()) - sum(credited.values()) - sum(written.values())
    )


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_random_payment_sequences_keep_the_ledger_consistent(session, world, ops):
    finance, owner = world["finance"], world["mina"]
    client = make_client(session, owner=owner, currency="USD")
    make_contract(
        session,
        client=client,
        actor=owner,
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
        lines=[("Rack", "1", "1000.00")],
    )
    through = date(2026, 1, 1)
    run_billing(session, through, None)
    payment_ids: list[int] = []
    for kind, value in ops:
        if kind == "pay":
            body, _ = record_payment(
                session,
                finance,
                PaymentIn(
                    client_id=client.id, amount=str(Decimal(value) / 100), currency="USD", received_on=date(2026, 6, 1)
                ),
                None,
                date(2026, 6, 1),
            )
            payment_ids.append(body["id"])
        elif kind == "reverse" and payment_ids:
            target = session.get_one(Payment, payment_ids[value % len(payment_ids)])
            if not target.reversed:
                reverse_payment(session, finance, target.id, ReversalIn(), date(2026, 6, 2))
        elif kind == "credit":
            open_invoice = session.scalar(
                select(Invoice).where(Invoice.client_id == client.id, Invoice.balance_minor >= value)
            )
            if open_invoice is not None:
                issue_credit_note(
                    session,
                    finance,
                    open_invoice.id,
                    CreditNoteIn(amount=str(Decimal(value) / 100), reason="goodwill"),
                    date(2026, 6, 1),
                )
        elif kind == "bill" and through < date(2026, 12, 1):
            through = date(2026, through.month + 1, 1)
            run_billing(session, through, None)
        session.flush()
        check_ledger(session, client.id)
    session.rollback()


def test_two_simultaneous_requests_with_one_key_record_one_payment(sessions, session, world):
    bill(session, date(2026, 3, 1))

    def post() -> dict:
        with sessions() as own:
            finance = own.get_one(User, world["finance"].id)
            body, _ = record_payment(
                own,
                finance,
                PaymentIn(client_id=world["client"].id, amount="1500.00", currency="USD", received_on=date(2026, 3, 5)),
                "same-key",
                date(2026, 3, 5),
            )
            own.commit()
            return body

    answers = run_at_once(post)

    assert answers[0] == answers[1]
    assert session.scalar(select(func.count()).select_from(Payment)) == 1
    assert session.scalar(select(func.sum(Invoice.paid_minor))) == 150000


def test_idempotency_keys_belong_to_the_user_who_sent_them(api, session, world):
    bill(session, date(2026, 3, 1))
    other_clerk = make_user(session, role="finance")
    session.commit()
    body = {
        "client_id": world["client"].id,
        "currency": "USD",
        "received_on": "2026-03-05",
        "method": "bank_transfer",
    }
    headers = {"Idempotency-Key": "batch-2026-03-05-1"}

    first = api.post("/api/v1/payments", world["finance"], body | {"amount": "100.00"}, headers=headers)
    second = api.post("/api/v1/payments", other_clerk, body | {"amount": "250.00"}, headers=headers)

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert second.json()["amount"] == "250.00"
    assert session.scalar(select(func.count()).select_from(Payment)) == 2
