"""The daily early-warning scan: every alert kind once, with its assignee; resolution; idempotence."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from renewals.db.models import Alert, AuditEntry, Invoice, Renewal
from renewals.domain.alerts.instant import resolve_for_invoice
from renewals.domain.daily import scan
from renewals.domain.receivables.queries import overdue_by_client
from renewals.domain.renewals import service as renewals
from renewals.domain.renewals.schemas import ActivityIn
from tests.factories import make_client, make_contract, make_user
from tests.integration.alerts_arrange import database_rows, hold, invoice_due, settle
from tests.threads import run_at_once

DAY = date(2027, 3, 1)


@pytest.fixture
def people(session):
    manager = make_user(session, role="manager")
    finance = make_user(session, role="finance")
    make_user(session, role="finance")  # a second finance user: the lowest id gets the alerts
    mina = make_user(session, role="account_manager")
    omar = make_user(session, role="account_manager")
    session.commit()
    return {"manager": manager, "finance": finance, "mina": mina, "omar": omar}


def alerts(session: Session, **where: object) -> list[Alert]:
    stmt = select(Alert).order_by(Alert.id)
    for column, value in where.items():
        stmt = stmt.where(getattr(Alert, column) == value)
    session.expire_all()
    return list(session.scalars(stmt))


def keys(session: Session, **where: object) -> list[tuple[str, int | None, str]]:
    return [(a.kind, a.threshold, a.status) for a in alerts(session, **where)]


def test_contract_ending_in_90_days_warns_its_account_manager(session, people):
    client = make_client(session, owner=people["mina"])
    contract = make_contract(session, client=client, actor=people["mina"], end_date=DAY + timedelta(days=90))

    scan.run_day(session, DAY)

    [alert] = alerts(session, kind="renewal_due")
    assert (alert.subject_type, alert.subject_id, alert.threshold) == ("contract", contract.id, 90)
    assert alert.assignee_id == people["mina"].id
    assert alert.severity == "info"
    assert alert.dedupe_key == f"renewal_due:contract:{contract.id}:90"
    assert alert.client_id == client.id
    assert alert.raised_on == DAY


def test_each_threshold_supersedes_the_one_before(session, people):
    client = make_client(session, owner=people["mina"])
    contract = make_contract(session, client=client, actor=people["mina"], end_date=DAY + timedelta(days=90))

    for offset in (0, 29, 30, 60, 83):
        scan.run_day(session, DAY + timedelta(days=offset))

    assert keys(session, subject_id=contract.id, kind="renewal_due") == [
        ("renewal_due", 90, "resolved"),
        ("renewal_due", 60, "resolved"),
        ("renewal_due", 30, "resolved"),
        ("renewal_due", 7, "open"),
    ]
    assert [a.severity for a in alerts(session, kind="renewal_due")] == ["info", "info", "warning", "critical"]


def test_contract_entering_at_20_days_gets_only_the_30_day_warning(session, people):
    client = make_client(session, owner=people["mina"])
    contract = make_contract(session, client=client, actor=people["mina"], end_date=DAY + timedelta(days=20))

    scan.run_day(session, DAY)
    scan.run_day(session, DAY + timedelta(days=1))

    assert keys(session, subject_id=contract.id, kind="renewal_due") == [("renewal_due", 30, "open")]


def test_auto_renew_contract_warns_14_days_before_the_opt_out_deadline(session, people):
    client = make_client(session, owner=people["mina"])
    end = DAY + timedelta(days=150)
    contract = make_contract(
        session, client=client, actor=people["mina"], end_date=end, auto_renew=True, notice_period_days=60
    )
    deadline = end - timedelta(days=60)

    scan.run_day(session, deadline - timedelta(days=15))
    assert alerts(session, kind="notice_deadline") == []
    scan.run_day(session, deadline - timedelta(days=14))
    scan.run_day(session, deadline)

    [alert] = alerts(session, kind="notice_deadline")
    assert (alert.subject_id, alert.threshold, alert.severity, alert.status) == (contract.id, 14, "warning", "open")
    assert alert.assignee_id == people["mina"].id
    assert alert.details == {
        "contract_number": contract.number,
        "opt_out_deadline": deadline.isoformat(),
        "end_date": end.isoformat(),
    }

    scan.run_day(session, deadline + timedelta(days=1))
    assert keys(session, kind="notice_deadline") == [("notice_deadline", 14, "resolved")]


def test_contract_ending_without_decision_lapses_and_tells_the_manager(session, people):
    client = make_client(session, owner=people["mina"])
    contract = make_contract(session, client=client, actor=people["mina"], end_date=DAY - timedelta(days=1))

    scan.run_day(session, DAY)

    renewal = session.scalars(select(Renewal).where(Renewal.contract_id == contract.id)).one()
    [lapse] = alerts(session, kind="renewal_lapsed")
    assert (lapse.subject_type, lapse.subject_id, lapse.threshold) == ("renewal", renewal.id, None)
    assert lapse.assignee_id == people["mina"].id
    assert lapse.informed_id == people["manager"].id
    assert lapse.severity == "critical"
    assert renewal.status == "lapsed"


def test_overdue_invoice_climbs_dunning_levels_and_goes_to_finance(session, people):
    client = make_client(session, owner=people["mina"])
    invoice = invoice_due(session, client=client, actor=people["mina"], due=DAY)

    scan.run_day(session, DAY)
    assert alerts(session, kind="invoice_overdue") == []
    for late in (1, 14, 15, 30, 60, 61):
        scan.run_day(session, DAY + timedelta(days=late))

    assert keys(session, subject_id=invoice.id, kind="invoice_overdue") == [
        ("invoice_overdue", 1, "resolved"),
        ("invoice_overdue", 2, "resolved"),
        ("invoice_overdue", 3, "resolved"),
        ("invoice_overdue", 4, "open"),
    ]
    top = alerts(session, kind="invoice_overdue")[-1]
    assert top.assignee_id == people["finance"].id
    assert top.informed_id == people["mina"].id
    assert top.severity == "critical"
    assert session.get(Invoice, invoice.id).dunning_level == 4
    changes = session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "invoice", AuditEntry.action == "dunning")
    ).all()
    assert [(c.before, c.after) for c in changes] == [
        ({"dunning_level": level}, {"dunning_level": level + 1}) for level in range(4)
    ]


def test_invoice_seen_late_gets_only_its_current_level(session, people):
    client = make_client(session, owner=people["mina"])
    invoice = invoice_due(session, client=client, actor=people["mina"], due=DAY)

    scan.run_day(session, DAY + timedelta(days=40))

    assert keys(session, subject_id=invoice.id, kind="invoice_overdue") == [("invoice_overdue", 3, "open")]


def test_disputed_invoice_does_not_climb(session, people):
    client = make_client(session, owner=people["mina"])
    invoice = invoice_due(session, client=client, actor=people["mina"], due=DAY)
    scan.run_day(session, DAY + timedelta(days=2))
    hold(session, invoice, "dispute", on=DAY + timedelta(days=2))

    for late in (15, 30, 90):
        scan.run_day(session, DAY + timedelta(days=late))

    assert keys(session, subject_id=invoice.id, kind="invoice_overdue") == [("invoice_overdue", 1, "open")]
    assert session.get(Invoice, invoice.id).dunning_level == 1


def test_broken_promise_alerts_finance_and_lifts_the_hold(session, people):
    client = make_client(session, owner=people["mina"])
    invoice = invoice_due(session, client=client, actor=people["mina"], due=DAY)
    promised = DAY + timedelta(days=20)
    hold(session, invoice, "promise", until=promised, on=DAY + timedelta(days=1))

    scan.run_day(session, promised)
    assert alerts(session) == []

    scan.run_day(session, promised + timedelta(days=1))

    [broken] = alerts(session, kind="promise_broken")
    assert (broken.subject_id, broken.threshold) == (invoice.id, 20270321)
    assert (broken.assignee_id, broken.informed_id) == (people["finance"].id, people["mina"].id)
    refreshed = session.get(Invoice, invoice.id)
    assert (refreshed.hold_kind, refreshed.hold_until) == (None, None)
    assert keys(session, kind="invoice_overdue") == [("invoice_overdue", 2, "open")]
    [lifted] = session.scalars(select(AuditEntry).where(AuditEntry.action == "lift_hold")).all()
    assert lifted.entity_id == invoice.id
    assert lifted.after["hold"] is None


def test_promise_kept_gets_no_alert(session, people):
    client = make_client(session, owner=people["mina"])
    invoice = invoice_due(session, client=client, actor=people["mina"], due=DAY)
    hold(session, invoice, "promise", until=DAY + timedelta(days=20))
    settle(session, invoice)

    scan.run_day(session, DAY + timedelta(days=25))

    assert alerts(session) == []


def test_payment_resolves_the_overdue_alert_at_once_and_no_reminder_follows(session, people):
    client = make_client(session, owner=people["mina"])
    invoice = invoice_due(session, client=client, actor=people["mina"], due=DAY)
    scan.run_day(session, DAY + timedelta(days=3))

    settle(session, invoice)
    resolved = resolve_for_invoice(session, invoice.id, DAY + timedelta(days=4))

    assert resolved == 1
    [alert] = alerts(session, kind="invoice_overdue")
    assert (alert.status, alert.resolved_on, alert.resolution) == ("resolved", DAY + timedelta(days=4), "auto")
    scan.run_day(session, DAY + timedelta(days=40))
    assert keys(session, kind="invoice_overdue") == [("invoice_overdue", 1, "resolved")]
    assert overdue_by_client(session, DAY + timedelta(days=40), client.id) == []


def test_next_scan_resolves_alerts_of_an_invoice_paid_meanwhile(session, people):
    client = make_client(session, owner=people["mina"])
    invoice = invoice_due(session, client=client, actor=people["mina"], due=DAY)
    scan.run_day(session, DAY + timedelta(days=3))
    settle(session, invoice)

    scan.run_day(session, DAY + timedelta(days=4))

    assert keys(session, kind="invoice_overdue") == [("invoice_overdue", 1, "resolved")]


def test_one_reminder_lists_all_overdue_invoices_of_the_client_but_not_held_or_paid_ones(session, people):
    client = make_client(session, owner=people["mina"])
    oldest = invoice_due(session, client=client, actor=people["mina"], due=DAY - timedelta(days=40))
    newer = invoice_due(session, client=client, actor=people["mina"], due=DAY - timedelta(days=3))
    disputed = invoice_due(session, client=client, actor=people["mina"], due=DAY - timedelta(days=20))
    paid = invoice_due(session, client=client, actor=people["mina"], due=DAY - timedelta(days=10))
    not_due = invoice_due(session, client=client, actor=people["mina"], due=DAY + timedelta(days=5))
    hold(session, disputed, "dispute")
    settle(session, paid)

    lines = overdue_by_client(session, DAY, client.id)

    assert [(line.invoice_id, line.days_overdue, line.dunning_level) for line in lines] == [
        (oldest.id, 40, 3),
        (newer.id, 3, 1),
    ]
    assert not_due.id not in {line.invoice_id for line in lines}


def test_balance_over_the_credit_limit_alerts_finance_until_paid_down(session, people):
    client = make_client(session, owner=people["mina"], credit_limit=Decimal("2000"))
    first = invoice_due(session, client=client, actor=people["mina"], due=DAY + timedelta(days=10))
    scan.run_day(session, DAY)
    assert alerts(session, kind="credit_limit") == []  # 1200 owed, within 2000
    invoice_due(session, client=client, actor=people["mina"], due=DAY + timedelta(days=20))

    scan.run_day(session, DAY)

    [alert] = alerts(session, kind="credit_limit")
    assert (alert.subject_type, alert.subject_id, alert.threshold) == ("client", client.id, 200000)
    assert (alert.assignee_id, alert.informed_id) == (people["finance"].id, people["mina"].id)
    assert alert.details == {"open_balance": "2400.00", "credit_limit": "2000.00", "currency": "USD"}
    settle(session, first)
    assert resolve_for_invoice(session, first.id, DAY + timedelta(days=1)) == 1
    assert keys(session, kind="credit_limit") == [("credit_limit", 200000, "resolved")]


def test_follow_up_due_today_goes_to_its_author_and_resolves_when_logged(session, people):
    client = make_client(session, owner=people["mina"])
    make_contract(session, client=client, actor=people["mina"], end_date=DAY + timedelta(days=120))
    scan.run_day(session, DAY)
    renewal = session.scalars(select(Renewal)).one()
    renewals.add_activity(
        session,
        people["mina"],
        renewal.id,
        ActivityIn(kind="call", text="Asked for the budget; call again", next_follow_up_on=DAY + timedelta(days=5)),
        as_of=DAY,
    )

    scan.run_day(session, DAY + timedelta(days=4))
    assert alerts(session, kind="follow_up_due") == []
    scan.run_day(session, DAY + timedelta(days=5))

    [alert] = alerts(session, kind="follow_up_due")
    assert (alert.subject_type, alert.subject_id, alert.threshold) == ("renewal", renewal.id, 20270306)
    assert (alert.assignee_id, alert.severity) == (people["mina"].id, "info")
    renewals.add_activity(
        session,
        people["mina"],
        renewal.id,
        ActivityIn(kind="call", text="Budget approved"),
        as_of=DAY + timedelta(days=5),
    )
    scan.run_day(session, DAY + timedelta(days=6))
    assert keys(session, kind="follow_up_due") == [("follow_up_due", 20270306, "resolved")]


def test_renewed_contract_resolves_its_renewal_warnings_at_once(session, people):
    client = make_client(session, owner=people["mina"])
    contract = make_contract(session, client=client, actor=people["mina"], end_date=DAY + timedelta(days=25))
    scan.run_day(session, DAY)
    renewal = session.scalars(select(Renewal)).one()
    from renewals.domain.renewals.schemas import TransitionIn

    renewals.transition(
        session, people["mina"], renewal.id, TransitionIn(to="renewed", term_months=12), as_of=DAY + timedelta(days=1)
    )

    [alert] = alerts(session, kind="renewal_due", subject_id=contract.id)
    assert (alert.threshold, alert.status, alert.resolved_on) == (30, "resolved", DAY + timedelta(days=1))


def test_lost_renewal_resolves_its_warnings_and_follow_ups_at_once(session, people):
    client = make_client(session, owner=people["mina"])
    make_contract(session, client=client, actor=people["mina"], end_date=DAY + timedelta(days=25))
    scan.run_day(session, DAY)
    renewal = session.scalars(select(Renewal)).one()
    renewals.add_activity(
        session,
        people["mina"],
        renewal.id,
        ActivityIn(kind="call", text="They are thinking", next_follow_up_on=DAY + timedelta(days=1)),
        as_of=DAY,
    )
    scan.run_day(session, DAY + timedelta(days=1))
    from renewals.domain.renewals.schemas import TransitionIn

    renewals.transition(
        session,
        people["mina"],
        renewal.id,
        TransitionIn(to="lost", reason="moved to a competitor"),
        as_of=DAY + timedelta(days=1),
    )

    assert keys(session) == [("renewal_due", 30, "resolved"), ("follow_up_due", 20270302, "resolved")]


def test_recorded_payment_resolves_reminders_and_credit_warning_at_once(session, people):
    from renewals.domain.receivables.payments import record_payment
    from renewals.domain.receivables.schemas import PaymentIn

    client = make_client(session, owner=people["mina"], credit_limit=Decimal("1000"))
    invoice = invoice_due(session, client=client, actor=people["mina"], due=DAY)
    scan.run_day(session, DAY + timedelta(days=15))
    assert keys(session) == [("invoice_overdue", 2, "open"), ("credit_limit", 100000, "open")]

    record_payment(
        session,
        people["finance"],
        PaymentIn(client_id=client.id, amount="1200.00", currency="USD"),
        None,
        DAY + timedelta(days=16),
    )

    assert keys(session) == [("invoice_overdue", 2, "resolved"), ("credit_limit", 100000, "resolved")]
    assert session.get(Invoice, invoice.id).status == "paid"


def test_credit_note_for_the_whole_balance_resolves_the_reminder(session, people):
    from renewals.domain.receivables.invoices import issue_credit_note
    from renewals.domain.receivables.schemas import CreditNoteIn

    client = make_client(session, owner=people["mina"])
    invoice = invoice_due(session, client=client, actor=people["mina"], due=DAY)
    scan.run_day(session, DAY + timedelta(days=1))

    issue_credit_note(
        session,
        people["finance"],
        invoice.id,
        CreditNoteIn(amount="1200.00", reason="service outage"),
        DAY + timedelta(days=2),
    )

    assert keys(session) == [("invoice_overdue", 1, "resolved")]


def test_scanning_the_same_day_twice_changes_nothing_the_second_time(session, engine, people):
    client = make_client(session, owner=people["mina"], credit_limit=Decimal("500"))
    make_contract(session, client=client, actor=people["mina"], end_date=DAY + timedelta(days=45))
    make_contract(session, client=client, actor=people["mina"], end_date=DAY - timedelta(days=2))
    make_contract(session, client=client, actor=people["mina"], end_date=DAY - timedelta(days=1), auto_renew=True)
    invoice_due(session, client=client, actor=people["mina"], due=DAY - timedelta(days=16))
    promised = invoice_due(session, client=client, actor=people["mina"], due=DAY - timedelta(days=20))
    hold(session, promised, "promise", until=DAY - timedelta(days=1))
    session.commit()
    scan.run_day(session, DAY)
    session.commit()
    first = database_rows(engine)

    scan.run_day(session, DAY)
    session.commit()

    assert database_rows(engine) == first
    assert {a.kind for a in alerts(session)} == {
        "renewal_due",
        "renewal_lapsed",
        "invoice_overdue",
        "promise_broken",
        "credit_limit",
    }


def test_two_scans_of_the_same_day_at_the_same_time_raise_each_alert_once(sessions, session, people):
    for n in range(6):
        client = make_client(session, owner=people["mina"], credit_limit=Decimal("100"))
        make_contract(
            session,
            client=client,
            actor=people["mina"],
            start_date=DAY - timedelta(days=5),
            end_date=DAY + timedelta(days=10 + n),
        )
        invoice_due(session, client=client, actor=people["mina"], due=DAY - timedelta(days=n * 5))
    session.commit()

    def scan_in_own_session() -> dict[str, int]:
        with sessions() as own, own.begin():
            return scan.run_day(own, DAY, chunk_size=2)

    counts = run_at_once(scan_in_own_session)

    assert sum(c["raised"] for c in counts) == 6 + 5 + 6
    found = alerts(session)
    assert len(found) == len({a.dedupe_key for a in found}) == 6 + 5 + 6  # renewal_due, overdue, credit
    assert len(session.scalars(select(AuditEntry).where(AuditEntry.action == "dunning")).all()) == 5


def test_chunks_cover_id_ranges_not_rows(session, people):
    client = make_client(session, owner=people["mina"])
    for n in range(5):
        make_contract(session, client=client, actor=people["mina"], end_date=DAY + timedelta(days=n))

    chunks = scan.plan(session, DAY, chunk_size=2)

    contract_chunks = [(c.lo, c.hi) for c in chunks if c.kind == "contract"]
    assert len(contract_chunks) == 3
    assert contract_chunks[0][0] == min(lo for lo, _ in contract_chunks)
    assert {c.kind for c in chunks} == {"contract", "client"}
