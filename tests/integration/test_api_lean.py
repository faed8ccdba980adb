"""The API's lean paths (issue 10): the caller's user kept for seconds and dropped the moment it
changes, one query per resource with its lines, and a payment written without reading back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, event, func, select, update

from renewals import clock
from renewals.api.callers import Callers, Tokens
from renewals.db.models import Allocation, Invoice, Payment, User
from renewals.domain.access.users import UserPatch, issue_token, token_claims, update_user
from renewals.domain.receivables.billing import run_billing
from renewals.errors import NotAuthenticated
from tests.factories import make_client, make_contract, make_user


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, _params, _context, _many):
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def selects(seen: list[str]) -> list[str]:
    return [s for s in seen if s.upper().startswith("SELECT")]


@pytest.fixture
def world(session):
    admin = make_user(session, role="admin")
    manager = make_user(session, role="manager")
    mina = make_user(session, role="account_manager")
    wei = make_user(session, role="account_manager")
    finance = make_user(session, role="finance")
    client = make_client(session, owner=mina)
    contract = make_contract(
        session,
        client=client,
        actor=mina,
        lines=[("Rack", "2", "1000.00"), ("Power", "1", "250.50"), ("Cross-connect", "3", "75.00")],
        payment_terms_days=30,
    )
    session.commit()
    return {
        "admin": admin,
        "manager": manager,
        "mina": mina,
        "wei": wei,
        "finance": finance,
        "client": client,
        "contract": contract,
    }


def test_a_contract_is_one_query_with_its_lines_and_the_caller_comes_from_memory(api, engine, world):
    path = f"/api/v1/contracts/{world['contract'].id}"
    api.token(world["mina"])  # signed in before counting
    with statements(engine) as first:
        assert api.get(path, world["mina"]).status_code == 200
    with statements(engine) as second:
        r = api.get(path, world["mina"])

    assert r.status_code == 200
    assert [(ln["description"], ln["monthly_unit_price"]) for ln in r.json()["lines"]] == [
        ("Rack", "1000.00"),
        ("Power", "250.50"),
        ("Cross-connect", "75.00"),
    ]
    assert r.json()["number"] == world["contract"].number
    assert len(selects(first)) == 2  # the caller, then the contract
    assert any("FROM users" in s for s in selects(first))
    [read] = selects(second)
    assert "contract_lines" in read
    assert "clients" in read


def test_another_managers_contract_is_404_in_that_one_query(api, engine, world):
    path = f"/api/v1/contracts/{world['contract'].id}"
    assert api.get("/api/v1/contracts/999999", world["wei"]).status_code == 404  # the caller is now kept
    with statements(engine) as seen:
        r = api.get(path, world["wei"])

    assert r.status_code == 404
    assert "contract" in r.json()["detail"]
    assert len(selects(seen)) == 1
    assert api.get(path, world["manager"]).status_code == 200


def test_an_invoice_and_its_lines_are_one_query(api, engine, session, world):
    run_billing(session, date(2026, 1, 1), None)
    session.commit()
    invoice_id = session.scalar(select(Invoice.id))
    session.commit()
    assert api.get(f"/api/v1/invoices/{invoice_id}", world["finance"]).status_code == 200
    with statements(engine) as seen:
        r = api.get(f"/api/v1/invoices/{invoice_id}", world["finance"])

    assert r.status_code == 200
    assert len(r.json()["lines"]) == 3
    reads = selects(seen)
    with_lines = [s for s in reads if "invoice_lines" in s]
    assert len(with_lines) == 1
    assert "FROM invoices" in with_lines[0]
    # The invoice with its lines, then its credit notes, allocations and write-offs.
    assert len(reads) == 4
    assert api.get(f"/api/v1/invoices/{invoice_id}", world["wei"]).status_code == 404


def test_deactivating_a_kept_caller_through_any_session_ends_their_token_at_once(api, session, world):
    finance = world["finance"]
    assert api.get("/api/v1/invoices", finance).status_code == 200
    assert api.get("/api/v1/invoices", finance).status_code == 200  # answered from the kept copy

    update_user(session, world["admin"], finance.id, UserPatch(active=False))
    session.commit()

    assert api.get("/api/v1/invoices", finance).status_code == 401


def test_a_new_password_ends_a_kept_callers_old_token_at_once(api, world):
    finance = world["finance"]
    old = api.token(finance)
    assert api.get("/api/v1/invoices", finance).status_code == 200

    changed = api.patch(f"/api/v1/users/{finance.id}", world["admin"], json={"password": "another long passphrase"})

    assert changed.status_code == 200
    assert api.client.get("/api/v1/invoices", headers={"Authorization": f"Bearer {old}"}).status_code == 401


def test_a_role_change_applies_to_a_kept_caller_at_once(api, world):
    path = f"/api/v1/contracts/{world['contract'].id}"
    manager = world["manager"]
    assert api.get(path, manager).status_code == 200

    demoted = api.patch(f"/api/v1/users/{manager.id}", world["admin"], json={"role": "account_manager"})

    assert demoted.status_code == 200
    assert api.get(path, manager).status_code == 404


def test_a_change_flushed_before_a_rolled_back_savepoint_still_drops_the_copy(api, session, world):
    finance = world["finance"]
    assert api.get("/api/v1/invoices", finance).status_code == 200
    update_user(session, world["admin"], finance.id, UserPatch(name="Never committed"))
    session.rollback()
    assert api.get("/api/v1/invoices", finance).status_code == 200

    user = session.get_one(User, finance.id)
    with session.begin_nested():
        user.active = False
        user.token_generation += 1
    with pytest.raises(RuntimeError), session.begin_nested():
        raise RuntimeError("a later savepoint rolled back")
    session.commit()

    assert api.get("/api/v1/invoices", finance).status_code == 401


def test_a_change_no_event_announced_is_seen_once_the_copy_is_dropped_or_expired(engine, sessions, world):
    finance = world["finance"]
    kept, fresh = Callers(), Callers(ttl=0.0)
    for callers in (kept, fresh):
        with sessions() as s:
            assert callers.user(s, finance.id, 0).id == finance.id
    # Another process (here: a statement under the ORM's events) deactivates the user.
    with engine.begin() as conn:
        conn.execute(update(User.__table__).where(User.id == finance.id).values(active=False, token_generation=1))

    with sessions() as s:
        with pytest.raises(NotAuthenticated):
            fresh.user(s, finance.id, 0)
        assert kept.user(s, finance.id, 0).active  # within its few seconds
    kept.forget([finance.id])
    with sessions() as s, pytest.raises(NotAuthenticated):
        kept.user(s, finance.id, 0)


def test_a_kept_caller_joins_the_session_without_a_query(engine, sessions, world):
    callers = Callers()
    with sessions() as s:
        callers.user(s, world["finance"].id, 0)
    with sessions() as s, statements(engine) as seen:
        user = callers.user(s, world["finance"].id, 0)
        assert s.get(User, user.id) is user
        user.name = "Changed in this session"
        s.commit()

    assert [q for q in seen if "users" in q and q.upper().startswith("SELECT")] == []
    assert len(callers) == 0  # the commit that changed the user dropped the copy
    with sessions() as s:
        assert s.get_one(User, world["finance"].id).name == "Changed in this session"


def test_a_payment_is_written_without_a_savepoint_or_reading_back(api, engine, session, world):
    run_billing(session, date(2026, 2, 1), None)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Invoice)) == 2
    session.commit()
    body = {"client_id": world["client"].id, "amount": "4000.00", "currency": "USD", "received_on": "2026-03-05"}
    assert api.get("/api/v1/payments", world["finance"]).status_code == 200  # the caller is now kept

    with statements(engine) as seen:
        r = api.post("/api/v1/payments", world["finance"], body, headers={"Idempotency-Key": "lean-1"})
    again = api.post("/api/v1/payments", world["finance"], body, headers={"Idempotency-Key": "lean-1"})

    assert r.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == r.json()
    assert len(r.json()["allocations"]) == 2
    assert not any("SAVEPOINT" in s.upper() for s in seen)
    assert len([s for s in seen if s.upper().startswith("INSERT INTO ALLOCATIONS")]) == 1
    assert not any(s.upper().startswith("SELECT") and "FROM allocations" in s for s in seen)
    assert len([s for s in seen if s.upper().startswith("INSERT INTO PAYMENTS")]) == 1
    stored = session.scalars(select(Payment)).one()
    assert stored.first_response == r.json()
    assert stored.unapplied_minor == 400000 - sum(
        a.amount_minor for a in session.scalars(select(Allocation).where(Allocation.payment_id == stored.id))
    )


def test_a_verified_token_is_kept_until_it_expires_and_nothing_else_is_kept(settings, world):
    tokens = Tokens()
    secret = settings.secret_key
    good = issue_token(world["finance"], secret, 1, clock.now())
    expired = issue_token(world["finance"], secret, 1, clock.now() - timedelta(hours=2))
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")

    assert tokens.subject(good, secret) == (world["finance"].id, 0)
    assert tokens.subject(good, secret) == (world["finance"].id, 0)
    for bad in (expired, forged, good + "x"):
        with pytest.raises(NotAuthenticated):
            tokens.subject(bad, secret)
    # A kept token past its expiry is verified again, and refused.
    user_id, generation, _ = token_claims(good, secret)
    tokens._tokens[expired] = (user_id, generation, 0)
    with pytest.raises(NotAuthenticated):
        tokens.subject(expired, secret)
