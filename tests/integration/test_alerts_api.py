"""GET /alerts, acknowledge, resolve and GET /today, as each role sees them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from renewals.db.models import Alert, AuditEntry, Renewal
from renewals.domain.clients.schemas import ContactIn
from renewals.domain.clients.service import add_contact
from renewals.domain.daily import scan
from renewals.domain.renewals import service as renewals
from renewals.domain.renewals.schemas import ActivityIn
from tests.factories import make_client, make_contract, make_user
from tests.integration.alerts_arrange import invoice_due

DAY = date(2027, 3, 1)


@pytest.fixture
def book(session):
    manager = make_user(session, role="manager")
    finance = make_user(session, role="finance")
    mina = make_user(session, role="account_manager")
    omar = make_user(session, role="account_manager")
    minas = make_client(session, owner=mina, name="Northwind")
    omars = make_client(session, owner=omar, name="Contoso")
    ending = make_contract(
        session, client=minas, actor=mina, start_date=DAY - timedelta(days=3), end_date=DAY + timedelta(days=20)
    )
    make_contract(
        session, client=omars, actor=omar, start_date=DAY - timedelta(days=3), end_date=DAY + timedelta(days=50)
    )
    late = invoice_due(session, client=minas, actor=mina, due=DAY - timedelta(days=16))
    scan.run_day(session, DAY)
    session.commit()
    # Reload what the scan changed now, and end that read: on SQLite a reader left open in the
    # test's session would keep the app (one writer at a time) waiting.
    for row in (late, ending):
        session.refresh(row)
    session.commit()

    def alert(kind: str, subject_id: int) -> Alert:
        found = session.scalars(select(Alert).where(Alert.kind == kind, Alert.subject_id == subject_id)).one()
        session.commit()  # end the read, so that the app (SQLite: one writer) is not kept waiting
        return found

    return {
        "manager": manager,
        "finance": finance,
        "mina": mina,
        "omar": omar,
        "minas": minas,
        "omars": omars,
        "ending": ending,
        "late": late,
        "alert": alert,
    }


def listed(api, user, query: str = "") -> list[tuple[str, int]]:
    r = api.get(f"/api/v1/alerts{query}", user)
    assert r.status_code == 200, r.text
    return sorted((a["kind"], a["subject_id"]) for a in r.json()["items"])


def test_account_manager_sees_alerts_about_her_clients_only(api, book):
    assert listed(api, book["mina"]) == [("invoice_overdue", book["late"].id), ("renewal_due", book["ending"].id)]
    assert [kind for kind, _ in listed(api, book["omar"])] == ["renewal_due"]


def test_finance_and_managers_see_every_alert(api, book):
    assert len(listed(api, book["finance"])) == 3
    assert len(listed(api, book["manager"])) == 3
    assert listed(api, book["finance"], "?assignee=me") == [("invoice_overdue", book["late"].id)]


def test_alert_carries_the_pinned_fields(api, book):
    r = api.get(f"/api/v1/alerts?kind=invoice_overdue&subject_type=invoice&subject_id={book['late'].id}", book["mina"])

    [item] = r.json()["items"]
    assert r.json()["total"] == 1
    assert {
        k: item[k]
        for k in (
            "kind",
            "subject_type",
            "threshold",
            "severity",
            "assignee_id",
            "status",
            "raised_on",
            "resolved_on",
            "dedupe_key",
            "informed_id",
        )
    } == {
        "kind": "invoice_overdue",
        "subject_type": "invoice",
        "threshold": 2,
        "severity": "warning",
        "assignee_id": book["finance"].id,
        "status": "open",
        "raised_on": "2027-03-01",
        "resolved_on": None,
        "dedupe_key": f"invoice_overdue:invoice:{book['late'].id}:2",
        "informed_id": book["mina"].id,
    }


def test_another_managers_alert_is_not_found(api, book):
    foreign = book["alert"]("renewal_due", book["ending"].id)

    assert api.get(f"/api/v1/alerts/{foreign.id}", book["omar"]).status_code == 404
    assert api.post(f"/api/v1/alerts/{foreign.id}/acknowledge", book["omar"]).status_code == 404
    assert api.post(f"/api/v1/alerts/{foreign.id}/resolve", book["omar"]).status_code == 404
    assert listed(api, book["omar"], f"?subject_id={book['ending'].id}") == []


def test_acknowledge_then_resolve_is_audited_and_final(api, book, session):
    alert = book["alert"]("renewal_due", book["ending"].id)

    r = api.post(f"/api/v1/alerts/{alert.id}/acknowledge", book["mina"], json={"note": "calling them"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["acknowledged_by"]) == ("acknowledged", book["mina"].id)
    again = api.post(f"/api/v1/alerts/{alert.id}/acknowledge", book["mina"])
    assert again.status_code == 409
    assert again.json()["extra"]["allowed"] == ["resolve"]

    r = api.post(f"/api/v1/alerts/{alert.id}/resolve", book["mina"])
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["resolution"]) == ("resolved", "manual")
    assert r.json()["resolved_on"] is not None
    assert api.post(f"/api/v1/alerts/{alert.id}/resolve", book["mina"]).status_code == 409
    trail = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "alert").order_by(AuditEntry.id)).all()
    assert [(e.action, e.actor_id, e.after["status"]) for e in trail] == [
        ("acknowledge", book["mina"].id, "acknowledged"),
        ("resolve", book["mina"].id, "resolved"),
    ]
    assert trail[0].after["note"] == "calling them"


def test_manually_resolved_alert_is_not_raised_again(api, book, session):
    alert = book["alert"]("renewal_due", book["ending"].id)
    api.post(f"/api/v1/alerts/{alert.id}/resolve", book["mina"])

    scan.run_day(session, DAY + timedelta(days=1))
    session.commit()

    assert listed(api, book["mina"], "?kind=renewal_due&status=open") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?status=closed", "status"),
        ("?kind=fire", "kind"),
        ("?assignee=someone", "assignee"),
        ("?subject_type=planet", "subject_type"),
    ],
)
def test_bad_filters_answer_422_naming_the_field(api, book, query, field):
    r = api.get(f"/api/v1/alerts{query}", book["mina"])

    assert r.status_code == 422
    assert r.json()["extra"][0]["key"] == field


def test_today_lists_the_account_managers_renewals_invoices_and_alerts(api, book, session):
    renewal = session.scalars(select(Renewal).where(Renewal.contract_id == book["ending"].id)).one()
    renewals.add_activity(
        session,
        book["mina"],
        renewal.id,
        ActivityIn(kind="call", text="Call back about the quote", next_follow_up_on=DAY + timedelta(days=2)),
        as_of=DAY,
    )
    session.commit()

    r = api.get(f"/api/v1/today?as_of={(DAY + timedelta(days=2)).isoformat()}", book["mina"])

    assert r.status_code == 200, r.text
    day = r.json()
    assert day["as_of"] == "2027-03-03"
    assert [(x["contract_id"], x["days_left"], x["reasons"]) for x in day["renewals"]] == [
        (book["ending"].id, 18, ["next_action_due", "ending_soon"])
    ]
    assert [x["text"] for x in day["follow_ups"]] == ["Call back about the quote"]
    [late] = day["overdue_clients"]["items"]
    assert (late["client_id"], late["total"], late["dunning_level"], late["days_overdue"]) == (
        book["minas"].id,
        "1200.00",
        2,
        18,
    )
    assert [(x["id"], x["days_overdue"], x["balance"]) for x in late["invoices"]] == [(book["late"].id, 18, "1200.00")]
    assert sorted(a["kind"] for a in day["alerts"]) == ["invoice_overdue", "renewal_due"]
    assert day["counts"] == {
        "renewals": 1,
        "follow_ups": 1,
        "overdue_invoices": 1,
        "overdue_clients": 1,
        "birthdays": 0,
        "alerts": 2,
    }


def test_today_of_another_manager_shows_none_of_her_clients(api, book):
    day = api.get(f"/api/v1/today?as_of={DAY.isoformat()}", book["omar"]).json()

    assert [x["client_id"] for x in day["renewals"]] == []  # 50 days out, no action date yet
    assert day["overdue_clients"] == {"items": [], "total": 0, "limit": 100, "offset": 0}
    assert [a["client_id"] for a in day["alerts"]] == [book["omars"].id]


def test_finance_today_lists_every_overdue_invoice_and_its_own_alerts(api, book):
    day = api.get(f"/api/v1/today?as_of={DAY.isoformat()}", book["finance"]).json()

    assert [i["id"] for x in day["overdue_clients"]["items"] for i in x["invoices"]] == [book["late"].id]
    assert [a["kind"] for a in day["alerts"]] == ["invoice_overdue"]
    assert day["renewals"] == []


def test_birthdays_in_the_next_seven_days_cross_the_year_end_and_29_february(api, book, session):
    client = book["minas"]
    for name, born in [
        ("Ana", date(1980, 12, 31)),
        ("Bo", date(1975, 1, 3)),
        ("Cy", date(1990, 1, 4)),
        ("Di", date(1988, 2, 29)),
        ("Ed", date(1970, 12, 27)),
    ]:
        add_contact(session, book["mina"], client.id, ContactIn(name=name, birthday=born))
    session.commit()

    winter = api.get("/api/v1/today?as_of=2027-12-28", book["mina"]).json()["birthdays"]
    assert [(b["name"], b["celebrate_on"], b["days_until"]) for b in winter] == [
        ("Ana", "2027-12-31", 3),
        ("Bo", "2028-01-03", 6),
    ]

    leap = api.get("/api/v1/today?as_of=2028-02-24", book["mina"]).json()["birthdays"]
    assert [(b["name"], b["celebrate_on"]) for b in leap] == [("Di", "2028-02-29")]
    common = api.get("/api/v1/today?as_of=2027-02-26", book["mina"]).json()["birthdays"]
    assert [(b["name"], b["celebrate_on"], b["days_until"]) for b in common] == [("Di", "2027-02-28", 2)]
    assert api.get("/api/v1/today?as_of=2027-02-26", book["omar"]).json()["birthdays"] == []


def test_today_rejects_a_bad_date(api, book):
    r = api.get("/api/v1/today?as_of=2027-02-30", book["mina"])

    assert r.status_code == 400
    assert [(e["key"], e["source"]) for e in r.json()["extra"]] == [("as_of", "query")]


def test_alerts_follow_their_client_to_its_new_owner(api, book):
    due = book["alert"]("renewal_due", book["ending"].id)
    overdue = book["alert"]("invoice_overdue", book["late"].id)
    minas = book["minas"].id
    version = api.get(f"/api/v1/clients/{minas}", book["manager"]).json()["version"]

    moved = api.patch(
        f"/api/v1/clients/{minas}", book["manager"], json={"owner_id": book["omar"].id, "version": version}
    )

    assert moved.status_code == 200, moved.text
    mina_sees = {a["id"] for a in api.get("/api/v1/alerts?limit=200", book["mina"]).json()["items"]}
    omar_sees = {a["id"] for a in api.get("/api/v1/alerts?limit=200", book["omar"]).json()["items"]}
    assert due.id not in mina_sees
    assert overdue.id not in mina_sees
    assert {due.id, overdue.id} <= omar_sees
    assert api.get(f"/api/v1/alerts/{due.id}", book["mina"]).status_code == 404
    assert api.post(f"/api/v1/alerts/{due.id}/acknowledge", book["mina"], {}).status_code == 404
    moved_due = api.get(f"/api/v1/alerts/{due.id}", book["omar"]).json()
    assert moved_due["assignee_id"] == book["omar"].id
    omar_today = {a["id"] for a in api.get("/api/v1/today?as_of=2027-03-01", book["omar"]).json()["alerts"]}
    assert due.id in omar_today
