from __future__ import annotations

import pytest
from sqlalchemy import func, select

from renewals.db.models import AuditEntry, Contract
from tests.factories import make_client, make_user


@pytest.fixture
def world(session):
    mina = make_user(session, role="account_manager")
    wei = make_user(session, role="account_manager")
    manager = make_user(session, role="manager")
    finance = make_user(session, role="finance")
    client = make_client(session, owner=mina, currency="USD")
    krw = make_client(session, owner=mina, currency="KRW", language="ko", name="한빛클라우드")
    session.commit()
    return {"mina": mina, "wei": wei, "manager": manager, "finance": finance, "client": client, "krw": krw}


def contract_body(client_id, **over):
    body = {
        "client_id": client_id,
        "number": "CT-1001",
        "title": "Two racks in Frankfurt",
        "kind": "rental",
        "start_date": "2026-01-31",
        "end_date": "2027-01-30",
        "billing_cycle": "monthly",
        "tax_rate": "19",
        "payment_terms_days": 30,
        "notice_period_days": 90,
        "auto_renew": True,
        "renewal_term_months": 12,
        "renewal_uplift_pct": "3.5",
        "status": "active",
        "lines": [
            {"description": "42U rack", "quantity": 2, "monthly_unit_price": "1450.00"},
            {"description": "Cross-connect", "quantity": "1.5", "monthly_unit_price": "95.50"},
        ],
    }
    return body | over


def test_contract_with_lines_is_created_and_read_back(api, world):
    r = api.post("/api/v1/contracts", world["mina"], contract_body(world["client"].id))
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["currency"] == "USD"  # the client's default
    assert c["tax_rate"] == "19"
    assert c["renewal_uplift_pct"] == "3.5"
    assert c["lines"] == [
        {"description": "42U rack", "quantity": "2", "monthly_unit_price": "1450.00"},
        {"description": "Cross-connect", "quantity": "1.5", "monthly_unit_price": "95.50"},
    ]
    again = api.get(f"/api/v1/contracts/{c['id']}", world["mina"]).json()
    assert again == c


def test_first_active_contract_makes_the_client_active_and_sets_its_tier(api, world):
    body = contract_body(
        world["client"].id, lines=[{"description": "Cage", "quantity": 1, "monthly_unit_price": "9000.00"}]
    )
    api.post("/api/v1/contracts", world["mina"], body)
    client = api.get(f"/api/v1/clients/{world['client'].id}", world["mina"]).json()
    assert client["status"] == "active"
    assert client["tier"] == "A"  # 108,000 USD a year ≥ the default 100,000 threshold


def test_krw_prices_have_no_decimals(api, world):
    ok = contract_body(
        world["krw"].id, number="CT-KR-1", lines=[{"description": "랙", "quantity": 1, "monthly_unit_price": "1957500"}]
    )
    r = api.post("/api/v1/contracts", world["mina"], ok)
    assert r.status_code == 201
    assert r.json()["lines"][0]["monthly_unit_price"] == "1957500"
    bad = contract_body(
        world["krw"].id,
        number="CT-KR-2",
        lines=[{"description": "랙", "quantity": 1, "monthly_unit_price": "1957500.50"}],
    )
    r = api.post("/api/v1/contracts", world["mina"], bad)
    assert r.status_code == 422
    assert r.json()["extra"][0]["key"] == "lines[0].monthly_unit_price"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"end_date": "2025-12-31"}, "end_date"),
        ({"currency": "ABC"}, "currency"),
        ({"lines": [{"description": "x", "quantity": "-1", "monthly_unit_price": "1.00"}]}, "lines[0].quantity"),
        ({"lines": [{"description": "x", "quantity": "1", "monthly_unit_price": "1.0.0"}]}, "monthly_unit_price"),
        (
            {"lines": [{"description": "x", "quantity": "1", "monthly_unit_price": "9.999"}]},
            "lines[0].monthly_unit_price",
        ),
        ({"tax_rate": "150"}, "tax_rate"),
        ({"billing_cycle": "weekly"}, "billing_cycle"),
        ({"start_date": "2026-02-30"}, "start_date"),
        ({"payment_terms_days": -1}, "payment_terms_days"),
        ({"lines": []}, "lines"),
    ],
)
def test_bad_contract_input_is_4xx_naming_the_field_and_writes_nothing(api, world, session, override, field):
    r = api.post("/api/v1/contracts", world["mina"], contract_body(world["client"].id, **override))
    assert r.status_code in (400, 422), r.text
    extra = r.json()["extra"]
    assert any(field in e["key"] for e in extra), extra
    assert session.scalar(select(func.count()).select_from(Contract)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_type == "contract")) == 0


def test_duplicate_contract_number_is_409(api, world):
    assert api.post("/api/v1/contracts", world["mina"], contract_body(world["client"].id)).status_code == 201
    other = api.post(
        "/api/v1/clients",
        world["mina"],
        {
            "name": "Other",
            "legal_name": "Other Ltd.",
            "segment": "smb",
            "size": "small",
            "language": "en",
            "currency": "USD",
        },
    ).json()
    r = api.post("/api/v1/contracts", world["mina"], contract_body(other["id"]))
    assert r.status_code == 409
    assert r.json()["extra"]["number"] == "already used"


def test_contract_for_another_managers_client_is_404(api, world):
    r = api.post("/api/v1/contracts", world["wei"], contract_body(world["client"].id))
    assert r.status_code == 404
    created = api.post("/api/v1/contracts", world["mina"], contract_body(world["client"].id)).json()
    assert api.get(f"/api/v1/contracts/{created['id']}", world["wei"]).status_code == 404
    assert api.get("/api/v1/contracts", world["wei"]).json()["total"] == 0
    assert api.get(f"/api/v1/contracts?client_id={world['client'].id}", world["wei"]).json()["total"] == 0
    r = api.post(
        f"/api/v1/contracts/{created['id']}/terminate", world["wei"], {"effective_date": "2026-06-30", "reason": "x"}
    )
    assert r.status_code == 404


def test_stale_contract_version_is_409(api, world):
    c = api.post("/api/v1/contracts", world["mina"], contract_body(world["client"].id)).json()
    ok = api.patch(f"/api/v1/contracts/{c['id']}", world["mina"], {"version": c["version"], "title": "New"})
    assert ok.status_code == 200
    stale = api.patch(f"/api/v1/contracts/{c['id']}", world["mina"], {"version": c["version"], "title": "Old"})
    assert stale.status_code == 409
    assert api.get(f"/api/v1/contracts/{c['id']}", world["mina"]).json()["title"] == "New"


def test_termination_records_date_and_reason_and_is_audited_once(api, world, session):
    c = api.post("/api/v1/contracts", world["mina"], contract_body(world["client"].id)).json()
    r = api.post(
        f"/api/v1/contracts/{c['id']}/terminate",
        world["mina"],
        {"effective_date": "2026-06-30", "reason": "Moved to own data centre"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "terminated"
    assert r.json()["terminated_on"] == "2026-06-30"
    again = api.post(
        f"/api/v1/contracts/{c['id']}/terminate", world["mina"], {"effective_date": "2026-06-30", "reason": "twice"}
    )
    assert again.status_code == 409
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_type == "contract").order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "terminate"]


def test_termination_outside_the_term_names_effective_date(api, world):
    c = api.post("/api/v1/contracts", world["mina"], contract_body(world["client"].id)).json()
    r = api.post(
        f"/api/v1/contracts/{c['id']}/terminate", world["mina"], {"effective_date": "2030-01-01", "reason": "x"}
    )
    assert r.status_code == 422
    assert r.json()["extra"][0]["key"] == "effective_date"


def test_finance_reads_but_cannot_write_contracts(api, world):
    c = api.post("/api/v1/contracts", world["mina"], contract_body(world["client"].id)).json()
    assert api.get(f"/api/v1/contracts/{c['id']}", world["finance"]).status_code == 200
    assert api.patch(f"/api/v1/contracts/{c['id']}", world["finance"], {"version": 1, "title": "x"}).status_code == 403


def test_contract_list_filters_by_end_date_and_status(api, world):
    api.post("/api/v1/contracts", world["mina"], contract_body(world["client"].id))
    api.post(
        "/api/v1/contracts",
        world["mina"],
        contract_body(world["client"].id, number="CT-2", end_date="2026-03-31", status="draft"),
    )
    r = api.get("/api/v1/contracts?end_to=2026-06-30", world["mina"]).json()
    assert [c["number"] for c in r["items"]] == ["CT-2"]
    r = api.get("/api/v1/contracts?status=active", world["mina"]).json()
    assert [c["number"] for c in r["items"]] == ["CT-1001"]
    bad = api.get("/api/v1/contracts?limit=0", world["mina"])
    assert bad.status_code in (400, 422)
    assert bad.json()["extra"][0]["key"] == "limit"
