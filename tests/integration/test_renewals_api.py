"""The renewal workflow through the API: state machine, successor contracts, dunning rule, worklist."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from renewals import clock
from renewals.db.models import Activity, AuditEntry, Contract
from renewals.domain.renewals.risk import refresh_all
from tests.factories import make_client, make_user
from tests.integration.renewals_arrange import contract_ending, open_invoice

AS_OF = date(2026, 6, 1)


@pytest.fixture
def book(session):
    mina = make_user(session, role="account_manager", name="Mina")
    wei = make_user(session, role="account_manager", name="Wei")
    manager = make_user(session, role="manager")
    finance = make_user(session, role="finance")
    acme = make_client(session, owner=mina, name="Acme")
    globex = make_client(session, owner=wei, name="Globex")
    session.commit()
    return {"mina": mina, "wei": wei, "manager": manager, "finance": finance, "acme": acme, "globex": globex}


def renewal_for(session, book, *, end=date(2026, 9, 30), client="acme", **terms):
    client = book[client] if isinstance(client, str) else client
    owner = book["mina"] if client.owner_id == book["mina"].id else book["wei"]
    contract, renewal = contract_ending(session, client=client, actor=owner, end=end, **terms)
    session.commit()
    return contract, renewal


def move(api, user, renewal_id, to, **body):
    return api.post(f"/api/v1/renewals/{renewal_id}/transitions", user, {"to": to, **body})


def test_contract_created_inside_the_horizon_gets_its_renewal_at_once(api, book):
    today = clock.today("UTC")
    body = {
        "client_id": book["acme"].id,
        "title": "Racks",
        "kind": "rental",
        "billing_cycle": "monthly",
        "status": "active",
        "lines": [{"description": "Rack", "quantity": 1, "monthly_unit_price": "900.00"}],
    }
    near = api.post(
        "/api/v1/contracts",
        book["mina"],
        body
        | {
            "number": "NEAR",
            "start_date": (today - timedelta(days=300)).isoformat(),
            "end_date": (today + timedelta(days=60)).isoformat(),
        },
    ).json()
    far = api.post(
        "/api/v1/contracts",
        book["mina"],
        body
        | {"number": "FAR", "start_date": today.isoformat(), "end_date": (today + timedelta(days=400)).isoformat()},
    )
    assert far.status_code == 201

    items = api.get("/api/v1/renewals", book["mina"]).json()["items"]

    assert [(r["contract_id"], r["status"], r["end_date"], r["owner_id"]) for r in items] == [
        (near["id"], "upcoming", near["end_date"], book["mina"].id)
    ]


def test_renewal_walks_the_pipeline_with_one_activity_and_one_audit_row_per_step(api, book, session):
    _, renewal = renewal_for(session, book)
    today = clock.today("UTC")

    for step in ("contacted", "proposal_sent", "awaiting_signature"):
        r = move(api, book["mina"], renewal.id, step, note=f"now {step}")
        assert r.status_code == 200, r.text

    shown = api.get(f"/api/v1/renewals/{renewal.id}", book["mina"]).json()
    assert shown["status"] == "awaiting_signature"
    assert shown["sent_for_signature_on"] == today.isoformat()
    assert [a["text"] for a in shown["activities"]] == [
        "proposal_sent → awaiting_signature: now awaiting_signature",
        "contacted → proposal_sent: now proposal_sent",
        "upcoming → contacted: now contacted",
    ]
    assert all(a["author_id"] == book["mina"].id and a["kind"] == "note" for a in shown["activities"])
    audits = session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_type == "renewal", AuditEntry.entity_id == renewal.id)
    ).all()
    assert audits == ["transition"] * 3


def test_illegal_transition_is_409_listing_the_allowed_targets(api, book, session):
    _, renewal = renewal_for(session, book)

    r = move(api, book["mina"], renewal.id, "auto_renewed")

    assert r.status_code == 409
    assert r.json()["extra"]["allowed"] == ["contacted", "proposal_sent", "awaiting_signature", "renewed", "lost"]
    assert api.get(f"/api/v1/renewals/{renewal.id}", book["mina"]).json()["status"] == "upcoming"
    unknown = move(api, book["mina"], renewal.id, "signed")
    assert unknown.status_code == 422
    assert unknown.json()["extra"][0]["key"] == "to"


def test_renewed_creates_the_successor_contract_with_the_uplift(api, book, session):
    old, renewal = renewal_for(
        session,
        book,
        end=date(2027, 1, 30),
        number="CT-1001",
        renewal_uplift_pct=Decimal("3.5"),
        lines=[("42U rack", "2", "1450.00"), ("Cross-connect", "1.5", "95.50")],
    )

    r = move(
        api,
        book["mina"],
        renewal.id,
        "renewed",
        note="signed and sealed",
        signed_on="2026-06-01",
        signed_by="Kim Jisoo, CFO",
        seal_received=True,
    )

    assert r.status_code == 200, r.text
    shown = r.json()
    assert shown["status"] == "renewed"
    assert (shown["signed_on"], shown["signed_by"], shown["seal_received"]) == ("2026-06-01", "Kim Jisoo, CFO", True)
    successor = api.get(f"/api/v1/contracts/{shown['successor_contract_id']}", book["mina"]).json()
    assert successor["number"] == "CT-1001-R1"
    assert successor["predecessor_id"] == old.id
    assert (successor["start_date"], successor["end_date"]) == ("2027-01-31", "2028-01-30")
    assert successor["status"] == "active"
    assert successor["lines"] == [
        {"description": "42U rack", "quantity": "2", "monthly_unit_price": "1500.75"},
        {"description": "Cross-connect", "quantity": "1.5", "monthly_unit_price": "98.84"},  # 98.8425 half-up
    ]
    assert api.get(f"/api/v1/contracts/{old.id}", book["mina"]).json()["status"] == "renewed"
    contract_audits = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_type == "contract")
        .where(AuditEntry.action != "create")
        .order_by(AuditEntry.id)
    ).all()
    assert contract_audits == ["renew"]
    assert (
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.entity_type == "contract", AuditEntry.entity_id == successor["id"])
        )
        == 1
    )


@pytest.mark.parametrize(
    ("old_end", "term_months", "start", "end"),
    [
        (date(2027, 1, 30), 1, "2027-01-31", "2027-02-27"),  # anchored on the 31st: next anchor is 28 Feb
        (date(2028, 2, 28), 12, "2028-02-29", "2029-02-27"),  # starts on 29 February
        (date(2028, 1, 31), 1, "2028-02-01", "2028-02-29"),  # a leap February in full
        (date(2026, 12, 31), 24, "2027-01-01", "2028-12-31"),  # across year ends
    ],
)
def test_renewed_term_follows_month_end_anchoring(api, book, session, old_end, term_months, start, end):
    _, renewal = renewal_for(session, book, end=old_end)

    r = move(api, book["mina"], renewal.id, "renewed", term_months=term_months)

    assert r.status_code == 200, r.text
    successor = api.get(f"/api/v1/contracts/{r.json()['successor_contract_id']}", book["mina"]).json()
    assert (successor["start_date"], successor["end_date"]) == (start, end)


def test_renewed_with_an_explicit_end_date_and_new_prices(api, book, session):
    _, renewal = renewal_for(session, book, end=date(2026, 9, 30), renewal_uplift_pct=Decimal(5))

    r = move(
        api,
        book["mina"],
        renewal.id,
        "renewed",
        end_date="2027-03-31",
        lines=[{"description": "Cage", "quantity": 1, "monthly_unit_price": "4200.00"}],
    )

    assert r.status_code == 200, r.text
    successor = api.get(f"/api/v1/contracts/{r.json()['successor_contract_id']}", book["mina"]).json()
    assert (successor["start_date"], successor["end_date"]) == ("2026-10-01", "2027-03-31")
    assert successor["lines"] == [{"description": "Cage", "quantity": "1", "monthly_unit_price": "4200.00"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"end_date": "2026-09-30"}, "end_date"),  # not after the old term
        ({"term_months": 0}, "term_months"),
        ({"uplift_pct": "500"}, "uplift_pct"),
        (
            {"uplift_pct": "3", "lines": [{"description": "x", "quantity": 1, "monthly_unit_price": "1.00"}]},
            "uplift_pct",
        ),
        (
            {"lines": [{"description": "x", "quantity": 1, "monthly_unit_price": "1.001"}]},
            "lines[0].monthly_unit_price",
        ),
        ({"signed_on": "2999-01-01"}, "signed_on"),
    ],
)
def test_bad_new_terms_are_422_naming_the_field_and_change_nothing(api, book, session, body, field):
    _old, renewal = renewal_for(session, book)

    r = move(api, book["mina"], renewal.id, "renewed", **body)

    assert r.status_code == 422, r.text
    assert r.json()["extra"][0]["key"] == field
    assert api.get(f"/api/v1/renewals/{renewal.id}", book["mina"]).json()["status"] == "upcoming"
    assert session.scalar(select(func.count()).select_from(Contract)) == 1


def test_renewing_twice_is_409_and_leaves_one_successor(api, book, session):
    old, renewal = renewal_for(session, book)
    assert move(api, book["mina"], renewal.id, "renewed").status_code == 200

    again = move(api, book["mina"], renewal.id, "renewed")

    assert again.status_code == 409
    assert again.json()["extra"]["allowed"] == []
    assert session.scalar(select(func.count()).select_from(Contract).where(Contract.predecessor_id == old.id)) == 1


def test_lost_needs_a_reason(api, book, session):
    _, renewal = renewal_for(session, book)

    missing = move(api, book["mina"], renewal.id, "lost")
    blank = move(api, book["mina"], renewal.id, "lost", reason="  ")
    given = move(api, book["mina"], renewal.id, "lost", reason="Moved to a hyperscaler")

    assert missing.status_code == blank.status_code == 422
    assert missing.json()["extra"][0]["key"] == "reason"
    assert given.status_code == 200
    assert (given.json()["status"], given.json()["lost_reason"]) == ("lost", "Moved to a hyperscaler")
    assert given.json()["decided_on"] == clock.today("UTC").isoformat()


def test_client_at_dunning_level_3_needs_a_manager_or_an_override_reason(api, book, session):
    contract, renewal = renewal_for(session, book)
    open_invoice(session, contract=contract, due=AS_OF - timedelta(days=45), balance="2000.00", dunning_level=3)
    session.commit()

    refused = move(api, book["mina"], renewal.id, "renewed")
    assert refused.status_code == 403
    assert "override_reason" in refused.json()["extra"]
    assert session.scalar(select(func.count()).select_from(Contract)) == 1
    session.commit()  # end the read: SQLite holds its write lock for the whole transaction

    allowed = move(api, book["mina"], renewal.id, "renewed", override_reason="CFO promised payment on signing")

    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["override_reason"] == "CFO promised payment on signing"
    audit = session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "renewal", AuditEntry.entity_id == renewal.id)
    ).one()
    assert audit.after["override"] == {"dunning_level": 3, "reason": "CFO promised payment on signing"}
    assert audit.actor_id == book["mina"].id


def test_a_manager_renews_a_client_in_dunning_without_a_reason_and_finance_cannot(api, book, session):
    contract, renewal = renewal_for(session, book)
    open_invoice(session, contract=contract, due=AS_OF - timedelta(days=70), balance="500.00", dunning_level=4)
    session.commit()

    assert move(api, book["finance"], renewal.id, "renewed").status_code == 403
    r = move(api, book["manager"], renewal.id, "renewed")

    assert r.status_code == 200, r.text
    assert r.json()["override_reason"] is None


def test_activity_with_a_follow_up_sets_the_next_action_date(api, book, session):
    _, renewal = renewal_for(session, book)
    follow_up = clock.today("UTC") + timedelta(days=3)

    r = api.post(
        f"/api/v1/renewals/{renewal.id}/activities",
        book["mina"],
        {
            "kind": "call",
            "text": "Spoke to procurement; they want a 3-year option",
            "next_follow_up_on": follow_up.isoformat(),
            "at": "2026-06-01T09:30:00+09:00",
        },
    )

    assert r.status_code == 201, r.text
    assert r.json()["author_id"] == book["mina"].id
    assert r.json()["at"].startswith("2026-06-01T00:30:00")
    shown = api.get(f"/api/v1/renewals/{renewal.id}", book["mina"]).json()
    assert shown["next_action_date"] == follow_up.isoformat()
    assert [(a["kind"], a["next_follow_up_on"]) for a in shown["activities"]] == [("call", follow_up.isoformat())]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "fax", "text": "x"}, "kind"),
        ({"kind": "call", "text": ""}, "text"),
        ({"kind": "call", "text": "x", "next_follow_up_on": "2020-01-01"}, "next_follow_up_on"),
        ({"kind": "call", "text": "x", "at": "2026-06-01T09:30:00"}, "at"),
    ],
)
def test_bad_activity_is_4xx_naming_the_field_and_logs_nothing(api, book, session, body, field):
    _, renewal = renewal_for(session, book)

    r = api.post(f"/api/v1/renewals/{renewal.id}/activities", book["mina"], body)

    assert r.status_code in (400, 422), r.text
    assert any(field in e["key"] for e in r.json()["extra"]), r.json()
    assert session.scalar(select(func.count()).select_from(Activity)) == 0


def test_stale_version_is_409_and_changes_nothing(api, book, session):
    _, renewal = renewal_for(session, book)
    first = move(api, book["mina"], renewal.id, "contacted", version=renewal.version)
    assert first.status_code == 200

    stale = move(api, book["mina"], renewal.id, "lost", reason="x", version=renewal.version)

    assert stale.status_code == 409
    assert stale.json()["extra"]["current_version"] == first.json()["version"]
    assert api.get(f"/api/v1/renewals/{renewal.id}", book["mina"]).json()["status"] == "contacted"


def test_signature_paper_trail_is_updated_while_awaiting_signature(api, book, session):
    _, renewal = renewal_for(session, book)
    early = api.patch(f"/api/v1/renewals/{renewal.id}", book["mina"], {"version": 1, "signed_on": "2026-06-01"})
    assert early.status_code == 409
    waiting = move(api, book["mina"], renewal.id, "awaiting_signature", sent_for_signature_on="2026-05-20").json()

    r = api.patch(
        f"/api/v1/renewals/{renewal.id}",
        book["mina"],
        {"version": waiting["version"], "signed_on": "2026-05-28", "signed_by": "Lee Min-ho", "seal_received": True},
    )

    assert r.status_code == 200, r.text
    shown = r.json()
    assert (shown["sent_for_signature_on"], shown["signed_on"], shown["signed_by"], shown["seal_received"]) == (
        "2026-05-20",
        "2026-05-28",
        "Lee Min-ho",
        True,
    )


def test_another_managers_renewal_is_404_everywhere(api, book, session):
    _, theirs = renewal_for(session, book, client="globex")
    renewal_for(session, book, end=date(2026, 8, 31))

    assert api.get(f"/api/v1/renewals/{theirs.id}", book["mina"]).status_code == 404
    assert move(api, book["mina"], theirs.id, "contacted").status_code == 404
    assert (
        api.post(f"/api/v1/renewals/{theirs.id}/activities", book["mina"], {"kind": "note", "text": "x"}).status_code
        == 404
    )
    assert api.patch(f"/api/v1/renewals/{theirs.id}", book["mina"], {"version": 1}).status_code == 404
    mine = api.get("/api/v1/renewals", book["mina"]).json()
    assert {r["client_id"] for r in mine["items"]} == {book["acme"].id}
    assert mine["total"] == 1
    snooping = api.get(f"/api/v1/renewals?owner={book['wei'].id}", book["mina"]).json()
    assert snooping["total"] == 0
    by_client = api.get(f"/api/v1/renewals?client_id={book['globex'].id}", book["mina"]).json()
    assert by_client["total"] == 0
    assert api.get("/api/v1/renewals", book["manager"]).json()["total"] == 2


def test_worklist_filters_by_status_window_owner_and_client_sorted_by_end_date(api, book, session):
    _, september = renewal_for(session, book, end=date(2026, 9, 30))
    _, july = renewal_for(session, book, end=date(2026, 7, 15))
    _, november = renewal_for(session, book, end=date(2026, 11, 15), client="globex")
    move(api, book["mina"], september.id, "contacted")
    move(api, book["wei"], november.id, "lost", reason="Budget cut")

    def ids(query, user=book["manager"]):
        r = api.get(f"/api/v1/renewals?as_of=2026-06-01{query}", user)
        assert r.status_code == 200, r.text
        return [item["id"] for item in r.json()["items"]]

    assert ids("") == [july.id, september.id, november.id]
    assert ids("&status=upcoming,contacted") == [july.id, september.id]
    assert ids("&status=lost&status=upcoming") == [july.id, november.id]
    assert ids("&ending_within_days=45") == [july.id]
    assert ids("&ending_within_days=121") == [july.id, september.id]
    assert ids(f"&owner={book['wei'].id}") == [november.id]
    assert ids(f"&client_id={book['acme'].id}") == [july.id, september.id]
    assert ids("&limit=1&offset=1") == [september.id]
    bad = api.get("/api/v1/renewals?status=pending", book["manager"])
    assert bad.status_code == 422
    assert bad.json()["extra"][0]["key"] == "status"


def test_worklist_by_risk_puts_the_client_in_dunning_first(api, book, session):
    _, soon_but_quiet = renewal_for(session, book, end=date(2026, 7, 31))
    initech = make_client(session, owner=book["mina"], name="Initech")
    indebted, in_dunning = renewal_for(
        session, book, end=date(2026, 11, 20), client=initech, lines=[("Rack", "1", "1000.00")]
    )
    _, later = renewal_for(session, book, end=date(2026, 10, 31))
    open_invoice(session, contract=indebted, due=date(2026, 4, 1), balance="3000.00", dunning_level=4)
    open_invoice(session, contract=indebted, due=date(2026, 6, 20), balance="1000.00")  # not yet due
    refresh_all(session, date(2026, 6, 1))  # the day's scan scores the renewals (the invoices were written directly)
    session.commit()

    items = api.get("/api/v1/renewals?as_of=2026-06-01&sort=risk", book["mina"]).json()["items"]

    assert [i["id"] for i in items] == [in_dunning.id, soon_but_quiet.id, later.id]
    top = items[0]
    assert (top["open_balance"], top["overdue_balance"], top["dunning_level"]) == ("4000.00", "3000.00", 4)
    # 35 × 8/180 urgency + 25 × full overdue (3 months owed) + 25 × level 4 + 15 × no activity = 66.6
    assert top["risk_score"] == 67
    assert items[1]["risk_score"] == 38  # 35 × 120/180 urgency + 15 of silence = 38.3
    assert items[2]["risk_score"] == 20  # 35 × 28/180 + 15 = 20.4
    assert [i["id"] for i in api.get("/api/v1/renewals?as_of=2026-06-01", book["mina"]).json()["items"]] == [
        soon_but_quiet.id,
        later.id,
        in_dunning.id,
    ]


def test_open_renewals_follow_a_reassigned_client_to_its_new_owner(api, book, session):
    _, open_one = renewal_for(session, book, end=date(2026, 9, 30))
    _, decided = renewal_for(session, book, end=date(2026, 8, 31))
    assert move(api, book["mina"], decided.id, "lost", reason="Went in-house").status_code == 200
    client = api.get(f"/api/v1/clients/{book['acme'].id}", book["manager"]).json()

    r = api.patch(
        f"/api/v1/clients/{client['id']}", book["manager"], {"version": client["version"], "owner_id": book["wei"].id}
    )

    assert r.status_code == 200, r.text
    assert api.get(f"/api/v1/renewals/{open_one.id}", book["wei"]).json()["owner_id"] == book["wei"].id
    assert api.get(f"/api/v1/renewals/{open_one.id}", book["mina"]).status_code == 404
    assert api.get(f"/api/v1/renewals/{decided.id}", book["manager"]).json()["owner_id"] == book["mina"].id
    assert [
        i["id"]
        for i in api.get(f"/api/v1/renewals?owner={book['wei'].id}&status=upcoming", book["wei"]).json()["items"]
    ] == [open_one.id]


def test_a_terminated_contract_cannot_be_renewed_but_can_be_marked_lost(api, book, session):
    contract, renewal = renewal_for(session, book, end=date(2026, 9, 30))
    r = api.post(
        f"/api/v1/contracts/{contract.id}/terminate",
        book["mina"],
        {"effective_date": "2026-08-31", "reason": "Site closed"},
    )
    assert r.status_code == 200, r.text

    refused = move(api, book["mina"], renewal.id, "renewed")
    lost = move(api, book["mina"], renewal.id, "lost", reason="Site closed")

    assert refused.status_code == 409
    assert refused.json()["extra"]["allowed"] == ["lost"]
    assert lost.status_code == 200
    assert api.get(f"/api/v1/contracts/{contract.id}", book["mina"]).json()["status"] == "terminated"


def test_a_reassigned_clients_worklist_shows_its_history_to_the_new_owner_only(api, book, session):
    _, open_one = renewal_for(session, book, end=date(2026, 9, 30))
    _, decided = renewal_for(session, book, end=date(2026, 8, 31))
    assert move(api, book["mina"], decided.id, "lost", reason="Went in-house").status_code == 200
    client = api.get(f"/api/v1/clients/{book['acme'].id}", book["manager"]).json()
    patch = {"version": client["version"], "owner_id": book["wei"].id}
    assert api.patch(f"/api/v1/clients/{client['id']}", book["manager"], patch).status_code == 200

    def ids(user, query):
        page = api.get(f"/api/v1/renewals?as_of=2026-06-01&{query}", user).json()
        assert page["total"] == len(page["items"])
        return [i["id"] for i in page["items"]]

    # Open states only (found by the renewal's owner), a decided state, and every state.
    assert ids(book["wei"], "status=upcoming,contacted&sort=risk") == [open_one.id]
    assert ids(book["wei"], "status=lost") == [decided.id]
    assert ids(book["wei"], "sort=end_date") == [decided.id, open_one.id]
    assert ids(book["mina"], "status=upcoming") == ids(book["mina"], "status=lost") == []
