"""Page forms go through the same services as the API: a client payment (once per form, however
often it is posted), its reversal, and the refusals a clerk reads on the page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from renewals import clock
from renewals.api.app import create_app
from renewals.db.models import Client, Payment, Renewal, User
from renewals.domain.receivables.billing import run_billing
from renewals.domain.renewals.records import open_renewals
from tests.factories import PASSWORD, make_client, make_contract, make_user

TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


@pytest.fixture
def book(session):
    today = clock.today("UTC")
    finance = make_user(session, role="finance")
    owner = make_user(session, role="account_manager")
    client = make_client(session, owner=owner)
    make_contract(
        session,
        client=client,
        actor=owner,
        start_date=today - timedelta(days=100),
        end_date=today + timedelta(days=265),
    )
    run_billing(session, today, finance)
    session.commit()
    return finance, client


def signed_in(client: TestClient, email: str) -> str:
    form = client.get("/login").text
    token = TOKEN.search(form).group(1)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.url.path == "/today", response.text[-800:]
    return TOKEN.search(client.get("/today").text).group(1)


def test_a_client_payment_posted_twice_is_recorded_once_and_can_be_reversed(settings, engine, sessions, book):
    finance, customer = book
    with TestClient(create_app(settings, engine)) as client:
        token = signed_in(client, finance.email)
        form = {"csrf_token": token, "idempotency_key": "page-abc-client", "amount": "150.00", "currency": "USD"}
        first = client.post(f"/clients/{customer.id}/payments", data=form, follow_redirects=False)
        again = client.post(f"/clients/{customer.id}/payments", data=form, follow_redirects=False)
        assert (first.status_code, again.status_code) == (303, 303)
        with sessions() as s:
            payments = s.scalars(select(Payment).where(Payment.client_id == customer.id)).all()
        assert [p.amount_minor for p in payments] == [15000]

        page = client.get(f"/clients/{customer.id}")
        assert "This payment was already recorded" in page.text
        reverse = client.post(
            f"/payments/{payments[0].id}/reverse",
            data={"csrf_token": token, "reason": "bounced"},
            follow_redirects=False,
        )
        assert reverse.status_code == 303
        with sessions() as s:
            assert s.get_one(Payment, payments[0].id).reversed is True


def test_a_payment_the_service_refuses_comes_back_with_its_reason_and_records_nothing(settings, engine, sessions, book):
    finance, customer = book
    with TestClient(create_app(settings, engine)) as client:
        token = signed_in(client, finance.email)
        form = {"csrf_token": token, "amount": "-10", "currency": "USD"}
        posted = client.post(f"/clients/{customer.id}/payments", data=form, follow_redirects=False)
        assert posted.status_code == 303
        response = client.get(posted.headers["location"])
        assert "Not done:" in response.text
        assert re.search(r"Not done: amount: must (not be negative|be positive)", response.text)
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_manager_hands_a_client_over_and_the_former_owner_then_gets_404(settings, engine, session, book):
    _, customer = book
    manager = make_user(session, role="manager")
    successor = make_user(session, role="account_manager")
    session.commit()
    former = customer.owner_id
    with TestClient(create_app(settings, engine)) as client:
        token = signed_in(client, manager.email)
        form = {"csrf_token": token, "version": str(customer.version), "owner_id": str(successor.id)}
        assert client.post(f"/clients/{customer.id}/owner", data=form, follow_redirects=False).status_code == 303
    session.expire_all()
    assert session.get_one(Client, customer.id).owner_id == successor.id
    former_email = session.get_one(User, former).email
    session.commit()  # end the read, so the app may write
    with TestClient(create_app(settings, engine)) as client:
        signed_in(client, former_email)
        response = client.get(f"/clients/{customer.id}", follow_redirects=False)
        assert response.status_code == 404, response.headers


def test_an_account_manager_takes_a_renewal_through_signature_to_renewed(settings, engine, session):
    today = clock.today("UTC")
    owner = make_user(session, role="account_manager")
    customer = make_client(session, owner=owner)
    contract = make_contract(
        session,
        client=customer,
        actor=owner,
        start_date=today - timedelta(days=300),
        end_date=today + timedelta(days=60),
    )
    open_renewals(session, today, contract_ids=[contract.id])
    renewal = session.scalars(select(Renewal).where(Renewal.contract_id == contract.id)).one()
    session.commit()
    with TestClient(create_app(settings, engine)) as client:
        token = signed_in(client, owner.email)
        page = client.get(f"/renewals/{renewal.id}").text
        assert 'value="awaiting_signature"' in page
        assert 'value="renewed"' in page
        moves = [
            {"to": "awaiting_signature", "sent_for_signature_on": today.isoformat()},
            {"to": "renewed", "signed_on": today.isoformat(), "signed_by": "김민준", "seal_received": "yes"},
        ]
        for move in moves:
            version = re.search(r'name="version" value="(\d+)"', client.get(f"/renewals/{renewal.id}").text).group(1)
            form = {"csrf_token": token, "version": version, **move}
            response = client.post(f"/renewals/{renewal.id}/transition", data=form)
            assert "Renewal moved." in response.text, re.findall(r"flash[^>]*>([^<]*)<", response.text)
        assert "Successor contract" in response.text
    session.expire_all()
    done = session.get_one(Renewal, renewal.id)
    assert (done.status, done.signed_by, done.seal_received) == ("renewed", "김민준", True)
    assert done.successor_contract_id is not None


def test_a_form_value_with_a_nul_character_is_refused_naming_the_field(settings, engine, sessions, book):
    finance, customer = book
    with TestClient(create_app(settings, engine)) as client:
        token = signed_in(client, finance.email)
        form = {"csrf_token": token, "amount": "10", "currency": "USD", "reference": "A\x00B"}
        response = client.post(f"/clients/{customer.id}/payments", data=form)
        assert "Not done: reference: must not contain NUL characters" in response.text
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_list_page_downloads_as_the_apis_csv_with_the_same_scope(settings, engine, session):
    mine = make_user(session, role="account_manager")
    other = make_user(session, role="account_manager")
    make_client(session, owner=mine, name="제주데이터")
    make_client(session, owner=other, name="Someone Else's")
    session.commit()
    with TestClient(create_app(settings, engine)) as client:
        signed_in(client, mine.email)
        page = client.get("/clients")
        assert re.search(r'href="/clients\?[^"]*format=csv"[^>]*>Download CSV', page.text)
        response = client.get("/clients", params={"format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeffid,name,legal_name,")
    assert "제주데이터" in body
    assert "Someone Else" not in body
