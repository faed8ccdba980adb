from __future__ import annotations

import pytest
from sqlalchemy import func, select

from renewals.db.models import AuditEntry, Client
from tests.factories import make_client, make_user


@pytest.fixture
def people(session):
    people = {
        "admin": make_user(session, role="admin"),
        "manager": make_user(session, role="manager"),
        "mina": make_user(session, role="account_manager", name="Mina Park"),
        "wei": make_user(session, role="account_manager", name="Chen Wei"),
        "finance": make_user(session, role="finance"),
    }
    session.commit()
    return people


def new_client(**over):
    body = {
        "name": "Northwind",
        "legal_name": "Northwind Hosting Ltd.",
        "segment": "channel",
        "size": "large",
        "language": "en",
        "currency": "USD",
        "credit_limit": "25000.00",
    }
    return body | over


def test_account_manager_creates_a_client_they_own(api, people):
    r = api.post("/api/v1/clients", people["mina"], new_client())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["owner_id"] == people["mina"].id
    assert body["credit_limit"] == "25000.00"
    assert body["status"] == "prospect"
    assert body["tier"] == "C"
    assert body["version"] == 1


def test_account_managers_list_never_contains_another_managers_clients(api, people, session):
    for i in range(3):
        make_client(session, owner=people["mina"], name=f"Mina {i}")
    for i in range(2):
        make_client(session, owner=people["wei"], name=f"Wei {i}")
    session.commit()
    r = api.get("/api/v1/clients?limit=100", people["mina"])
    assert r.status_code == 200
    assert r.json()["total"] == 3
    assert {c["owner_id"] for c in r.json()["items"]} == {people["mina"].id}
    # Filtering by the other manager's id shows nothing either.
    r = api.get(f"/api/v1/clients?owner_id={people['wei'].id}", people["mina"])
    assert r.json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
    # Finance and managers see everything.
    assert api.get("/api/v1/clients", people["finance"]).json()["total"] == 5


def test_another_managers_client_answers_404_everywhere(api, people, session):
    theirs = make_client(session, owner=people["wei"])
    session.commit()
    mina = people["mina"]
    assert api.get(f"/api/v1/clients/{theirs.id}", mina).status_code == 404
    assert api.patch(f"/api/v1/clients/{theirs.id}", mina, {"version": 1, "name": "x"}).status_code == 404
    assert api.get(f"/api/v1/clients/{theirs.id}/contacts", mina).status_code == 404
    assert api.post(f"/api/v1/clients/{theirs.id}/contacts", mina, {"name": "Eve"}).status_code == 404
    assert api.get(f"/api/v1/clients/{theirs.id}", people["wei"]).status_code == 200


def test_stale_version_gets_409_and_changes_nothing(api, people):
    created = api.post("/api/v1/clients", people["mina"], new_client()).json()
    first = api.patch(f"/api/v1/clients/{created['id']}", people["mina"], {"version": 1, "name": "Northwind A"})
    assert first.status_code == 200
    assert first.json()["version"] == 2
    stale = api.patch(f"/api/v1/clients/{created['id']}", people["mina"], {"version": 1, "name": "Northwind B"})
    assert stale.status_code == 409
    assert stale.json()["extra"]["current_version"] == 2
    assert api.get(f"/api/v1/clients/{created['id']}", people["mina"]).json()["name"] == "Northwind A"


@pytest.mark.parametrize(
    ("legal_name"),
    ["NORTHWIND HOSTING LTD.", "northwind  hosting ltd.", "ＮｏｒｔｈｗｉｎｄＨｏｓｔｉｎｇ　Ｌｔｄ．"],
)
def test_duplicate_legal_name_is_409_naming_the_owner_only(api, people, legal_name):
    assert api.post("/api/v1/clients", people["wei"], new_client()).status_code == 201
    r = api.post("/api/v1/clients", people["mina"], new_client(name="Other", legal_name=legal_name))
    assert r.status_code == 409
    body = r.json()
    assert "Chen Wei" in body["detail"]
    assert body["extra"]["owner"]["name"] == "Chen Wei"
    assert "credit_limit" not in r.text
    assert "25000" not in r.text


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "usd"}, "currency"),
        ({"credit_limit": "12.345"}, "credit_limit"),
        ({"credit_limit": "lots"}, "credit_limit"),
        ({"credit_limit": "-5"}, "credit_limit"),
        ({"language": "fr"}, "language"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_client_input_is_4xx_naming_the_field(api, people, session, override, field):
    r = api.post("/api/v1/clients", people["mina"], new_client(**override))
    assert r.status_code in (400, 422), r.text
    body = r.json()
    assert set(body) == {"status_code", "detail", "extra"}
    assert any(field in (e.get("key") or "") or field in e.get("message", "") for e in body["extra"]), body
    assert session.scalar(select(func.count()).select_from(Client)) == 0


def test_finance_cannot_create_clients(api, people):
    r = api.post("/api/v1/clients", people["finance"], new_client(owner_id=people["mina"].id))
    assert r.status_code == 403


def test_only_managers_reassign_clients(api, people):
    created = api.post("/api/v1/clients", people["mina"], new_client()).json()
    r = api.patch(f"/api/v1/clients/{created['id']}", people["mina"], {"version": 1, "owner_id": people["wei"].id})
    assert r.status_code == 403
    r = api.patch(f"/api/v1/clients/{created['id']}", people["manager"], {"version": 1, "owner_id": people["wei"].id})
    assert r.status_code == 200
    assert r.json()["owner_id"] == people["wei"].id
    assert api.get(f"/api/v1/clients/{created['id']}", people["mina"]).status_code == 404


def test_each_change_writes_exactly_one_audit_row(api, people, session):
    created = api.post("/api/v1/clients", people["mina"], new_client()).json()
    api.patch(f"/api/v1/clients/{created['id']}", people["mina"], {"version": 1, "segment": "finance"})
    api.post(f"/api/v1/clients/{created['id']}/contacts", people["mina"], {"name": "Ann", "is_billing": True})
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type.in_(["client", "contact"])).order_by(AuditEntry.id)
    ).all()
    assert [(r.entity_type, r.action) for r in rows] == [
        ("client", "create"),
        ("client", "update"),
        ("contact", "create"),
    ]
    update = rows[1]
    assert update.actor_id == people["mina"].id
    assert update.before["segment"] == "channel"
    assert update.after["segment"] == "finance"


def test_audit_log_is_for_managers_and_admins(api, people):
    api.post("/api/v1/clients", people["mina"], new_client())
    assert api.get("/api/v1/audit", people["mina"]).status_code == 403
    assert api.get("/api/v1/audit", people["finance"]).status_code == 403
    r = api.get("/api/v1/audit?entity_type=client", people["manager"])
    assert r.status_code == 200
    assert r.json()["total"] == 1
    assert r.json()["items"][0]["after"]["legal_name"] == "Northwind Hosting Ltd."


def test_contacts_are_listed_with_their_flags(api, people):
    created = api.post("/api/v1/clients", people["mina"], new_client()).json()
    url = f"/api/v1/clients/{created['id']}/contacts"
    r = api.post(
        url,
        people["mina"],
        {"name": "김민준", "email": "Kim@Example.test", "birthday": "1990-02-28", "is_signatory": True},
    )
    assert r.status_code == 201, r.text
    assert r.json()["email"] == "kim@example.test"
    listed = api.get(url, people["mina"]).json()
    assert listed["total"] == 1
    assert listed["items"][0]["is_signatory"] is True
    assert listed["items"][0]["birthday"] == "1990-02-28"
