from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from renewals.db.models import AuditEntry, Invoice, InvoiceLine
from renewals.domain.contracts.schemas import TerminationIn
from renewals.domain.contracts.service import terminate_contract
from renewals.domain.receivables.billing import run_billing
from tests.factories import TIERS, make_client, make_contract, make_user
from tests.threads import run_at_once


@pytest.fixture
def people(session):
    mina = make_user(session, role="account_manager")
    finance = make_user(session, role="finance")
    session.commit()
    return {"mina": mina, "finance": finance}


def invoices_of(session: Session, contract_id: int) -> list[Invoice]:
    return list(
        session.scalars(select(Invoice).where(Invoice.contract_id == contract_id).order_by(Invoice.period_start))
    )


def test_monthly_contract_starting_31_january_bills_on_each_months_last_day(session, people):
    client = make_client(session, owner=people["mina"])
    contract = make_contract(
        session,
        client=client,
        actor=people["mina"],
        start_date=date(2024, 1, 31),
        end_date=date(2025, 1, 30),
        lines=[("Rack", "1", "1000.00")],
    )

    summary = run_billing(session, date(2024, 5, 31), people["finance"])

    invoices = invoices_of(session, contract.id)
    assert [i.issue_date for i in invoices] == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
    ]
    assert [i.period_end for i in invoices][:2] == [date(2024, 2, 28), date(2024, 3, 30)]
    assert summary.invoices_issued == 5
    assert all(i.total_minor == 100000 and i.status == "open" for i in invoices)


def test_annual_contract_starting_29_february_bills_on_28_february_in_common_years(session, people):
    client = make_client(session, owner=people["mina"])
    contract = make_contract(
        session,
        client=client,
        actor=people["mina"],
        start_date=date(2024, 2, 29),
        end_date=date(2027, 2, 27),
        billing_cycle="annual",
        lines=[("Cage", "1", "500.00")],
    )

    run_billing(session, date(2026, 12, 31), people["finance"])

    invoices = invoices_of(session, contract.id)
    assert [i.period_start for i in invoices] == [date(2024, 2, 29), date(2025, 2, 28), date(2026, 2, 28)]
    assert [i.total_minor for i in invoices] == [600000, 600000, 600000]


def test_invoice_carries_number_due_date_tax_and_lines(session, people):
    client = make_client(session, owner=people["mina"])
    contract = make_contract(
        session,
        client=client,
        actor=people["mina"],
        start_date=date(2026, 1, 1),
        tax_rate=Decimal("19"),
        payment_terms_days=14,
        lines=[("42U rack", "2", "1450.00"), ("Cross-connect", "1.5", "95.50")],
    )

    run_billing(session, date(2026, 1, 1), people["finance"])

    (invoice,) = invoices_of(session, contract.id)
    assert invoice.number == f"INV-2026-{invoice.id:06d}"
    assert invoice.due_date == date(2026, 1, 15)
    assert (invoice.net_minor, invoice.tax_minor, invoice.total_minor) == (304325, 57822, 362147)
    lines = session.scalars(
        select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id).order_by(InvoiceLine.position)
    ).all()
    assert [(ln.description, ln.amount_minor) for ln in lines] == [("42U rack", 290000), ("Cross-connect", 14325)]


def test_krw_contract_is_billed_in_whole_won(session, people):
    client = make_client(session, owner=people["mina"], currency="KRW", language="ko")
    contract = make_contract(
        session,
        client=client,
        actor=people["mina"],
        start_date=date(2026, 1, 1),
        end_date=date(2026, 2, 14),
        tax_rate=Decimal("10"),
        lines=[("랙", "1", "1957501")],
    )

    run_billing(session, date(2026, 12, 31), people["finance"])

    january, february = invoices_of(session, contract.id)
    assert (january.net_minor, january.tax_minor, january.total_minor) == (1957501, 195750, 2153251)
    # 14 of February's 28 days, half-up to the won: 978750.5 → 978751, tax 97875.1 → 97875.
    assert (february.net_minor, february.tax_minor, february.total_minor) == (978751, 97875, 1076626)


def test_termination_mid_period_prorates_the_last_invoice_and_stops_billing(session, people):
    client = make_client(session, owner=people["mina"])
    contract = make_contract(
        session,
        client=client,
        actor=people["mina"],
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
        lines=[("Rack", "1", "3100.00")],
    )
    terminate_contract(
        session, people["mina"], contract.id, TerminationIn(effective_date=date(2026, 3, 10), reason="moved out"), TIERS
    )

    run_billing(session, date(2026, 12, 31), people["finance"])

    invoices = invoices_of(session, contract.id)
    assert [(i.period_start, i.period_end) for i in invoices] == [
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 10)),
    ]
    assert invoices[-1].total_minor == 100000  # 10 of March's 31 days of 3100.00


def test_draft_contracts_and_future_periods_are_not_billed(session, people):
    client = make_client(session, owner=people["mina"])
    draft = make_contract(session, client=client, actor=people["mina"], status="draft")
    active = make_contract(session, client=client, actor=people["mina"], start_date=date(2026, 1, 1))

    run_billing(session, date(2026, 2, 28), people["finance"])

    assert invoices_of(session, draft.id) == []
    assert [i.period_start for i in invoices_of(session, active.id)] == [date(2026, 1, 1), date(2026, 2, 1)]


def test_billing_run_twice_issues_no_second_invoice(session, people):
    client = make_client(session, owner=people["mina"])
    make_contract(session, client=client, actor=people["mina"], start_date=date(2026, 1, 1))
    first = run_billing(session, date(2026, 3, 1), people["finance"])

    second = run_billing(session, date(2026, 3, 1), people["finance"])

    assert (first.invoices_issued, second.invoices_issued) == (3, 0)
    assert session.scalar(select(func.count()).select_from(Invoice)) == 3


def test_each_billing_run_is_audited_once_with_its_counts(session, people):
    client = make_client(session, owner=people["mina"])
    make_contract(session, client=client, actor=people["mina"], start_date=date(2026, 1, 1))

    summary = run_billing(session, date(2026, 2, 1), people["finance"])

    entries = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "billing_run")).all()
    assert len(entries) == 1
    assert entries[0].entity_id == summary.run_id
    assert entries[0].actor_id == people["finance"].id
    assert entries[0].after is not None
    assert entries[0].after["invoices_issued"] == 2


def test_a_later_run_issues_only_the_new_periods(session, people):
    client = make_client(session, owner=people["mina"])
    contract = make_contract(session, client=client, actor=people["mina"], start_date=date(2026, 1, 1))
    run_billing(session, date(2026, 1, 31), people["finance"])

    later = run_billing(session, date(2026, 4, 30), people["finance"])

    assert later.invoices_issued == 3
    assert len(invoices_of(session, contract.id)) == 4


def test_contracts_are_billed_across_chunks(session, people):
    client = make_client(session, owner=people["mina"])
    contracts = [
        make_contract(session, client=client, actor=people["mina"], start_date=date(2026, 1, 1)) for _ in range(5)
    ]

    summary = run_billing(session, date(2026, 1, 1), people["finance"], chunk_size=2)

    assert summary.contracts_scanned == 5
    assert all(len(invoices_of(session, c.id)) == 1 for c in contracts)


def test_two_concurrent_billing_runs_create_no_duplicates(sessions: sessionmaker[Session], session, people):
    client = make_client(session, owner=people["mina"])
    for _ in range(20):
        make_contract(session, client=client, actor=people["mina"], start_date=date(2026, 1, 1))
    session.commit()

    def bill() -> int:
        with sessions() as own:
            summary = run_billing(own, date(2026, 6, 1), None, chunk_size=7)
            own.commit()
            return summary.invoices_issued

    issued = run_at_once(bill)

    assert sum(issued) == 20 * 6
    assert session.scalar(select(func.count()).select_from(Invoice)) == 20 * 6
    duplicates = session.execute(
        select(Invoice.contract_id, Invoice.period_start)
        .group_by(Invoice.contract_id, Invoice.period_start)
        .having(func.count() > 1)
    ).all()
    assert duplicates == []
    assert session.scalar(select(func.count()).select_from(InvoiceLine)) == 20 * 6
