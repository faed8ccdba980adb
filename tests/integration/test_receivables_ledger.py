"""The receivables ledger the triggers keep, against the per-invoice figures it replaces.

The oracle is ``reports.open_invoices``: each invoice's open balance as of a date, computed from
the dated events (allocations, credit notes, write-offs) and counted only when positive — the
definition the aging report used before the ledger. The ledger must give the same amount per
(client, currency, due date) as of every date, counting back from today's totals and forward
from the first change alike.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from alembic import command
from alembic.script import ScriptDirectory
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from renewals.db.migrate import alembic_config, upgrade
from renewals.db.models import CreditNote, Invoice, Payment, ReceivableChange, ReceivableSale, ReceivableTotal, User
from renewals.domain import money
from renewals.domain.receivables.aging import bucket_bounds_as_due_dates, dso
from renewals.domain.receivables.invoices import issue_credit_note, list_invoices
from renewals.domain.receivables.ledger import OPEN_STATUSES
from renewals.domain.receivables.payments import record_payment
from renewals.domain.receivables.reports import aging, ledger_balances, open_invoices
from renewals.domain.receivables.schemas import CreditNoteIn, PaymentIn
from tests.factories import make_client, make_user
from tests.integration.receivables_arrange import bounce, invoice, pay
from tests.integration.test_receivables_properties import END, PROPERTY, START, books, new_book
from tests.threads import run_at_once

Key = tuple[int, str, date]


def per_invoice(session: Session, as_of: date) -> dict[Key, int]:
    """The oracle: positive per-invoice open balances as of a date, per client, currency, due date."""
    inv = open_invoices(as_of)
    rows = session.execute(
        select(inv.c.client_id, inv.c.currency, inv.c.due_date, func.sum(inv.c.open_minor))
        .where(inv.c.open_minor > 0)
        .group_by(inv.c.client_id, inv.c.currency, inv.c.due_date)
    )
    return {(c, cur, due): int(m) for c, cur, due, m in rows}


def from_ledger(session: Session, as_of: date, *, from_now: bool) -> dict[Key, int]:
    rows = ledger_balances(session, as_of, from_now=from_now)
    amount = func.sum(rows.c.amount_minor)
    result = session.execute(
        select(rows.c.client_id, rows.c.currency, rows.c.due_date, amount)
        .group_by(rows.c.client_id, rows.c.currency, rows.c.due_date)
        .having(amount != 0)
    )
    return {(c, cur, due): int(m) for c, cur, due, m in result}


def open_now(session: Session) -> dict[Key, int]:
    """The invoices' denormalised current balances, which the services maintain."""
    rows = session.execute(
        select(Invoice.client_id, Invoice.currency, Invoice.due_date, func.sum(Invoice.balance_minor))
        .where(Invoice.status.in_(OPEN_STATUSES), Invoice.balance_minor > 0)
        .group_by(Invoice.client_id, Invoice.currency, Invoice.due_date)
    )
    return {(c, cur, due): int(m) for c, cur, due, m in rows}


def totals(session: Session) -> dict[Key, int]:
    t = ReceivableTotal
    return {
        (c, cur, due): m
        for c, cur, due, m in session.execute(select(t.client_id, t.currency, t.due_date, t.amount_minor))
    }


def changes_summed(session: Session) -> dict[Key, int]:
    ch = ReceivableChange
    amount = func.sum(ch.amount_minor)
    rows = session.execute(
        select(ch.client_id, ch.currency, ch.due_date, amount)
        .group_by(ch.client_id, ch.currency, ch.due_date)
        .having(amount != 0)
    )
    return {(c, cur, due): int(m) for c, cur, due, m in rows}


def assert_agrees(session: Session, days: list[date]) -> None:
    for day in days:
        expected = per_invoice(session, day)
        assert from_ledger(session, day, from_now=True) == expected, day
        assert from_ledger(session, day, from_now=False) == expected, day


@PROPERTY
@given(events=books, dates=st.lists(st.integers(0, 365), min_size=1, max_size=4))
def test_the_ledger_gives_each_invoice_balance_as_of_any_date(engine, events, dates):
    session, book = new_book(engine)
    try:
        book.record(events)
        book.bill(END)
        session.flush()

        assert totals(session) == changes_summed(session) == open_now(session)
        assert_agrees(session, [START - timedelta(days=1), *(START + timedelta(days=d) for d in dates), END])
    finally:
        session.close()


def test_an_invoice_over_credited_as_of_a_past_date_counts_as_nothing_then(session):
    """A credit note dated before a bounce: between the two the invoice's figure is below zero."""
    finance = make_user(session, role="finance")
    owner = make_user(session, role="account_manager")
    client = make_client(session, owner=owner)
    first = invoice(session, client=client, actor=owner, issued=date(2026, 5, 1))  # 1,200.00
    second = invoice(session, client=client, actor=owner, issued=date(2026, 5, 1), monthly="10.00")  # same due date
    cheque = pay(session, client=client, actor=finance, amount="1200.00", on=date(2026, 6, 10))
    bounce(session, payment=cheque, actor=finance, on=date(2026, 7, 1))
    # Recorded on 5 July, dated 20 June: the whole invoice credited while the cheque still stood.
    issue_credit_note(
        session,
        finance,
        first.id,
        CreditNoteIn(amount="1200.00", reason="service credit", issued_on=date(2026, 6, 20)),
        date(2026, 7, 5),
    )
    session.flush()

    assert_agrees(
        session, [date(2026, 6, 9), date(2026, 6, 10), date(2026, 6, 20), date(2026, 6, 30), date(2026, 7, 1)]
    )
    # On 25 June the first invoice stands at 1,200 − 1,200 paid − 1,200 credited: nothing open.
    [usd] = aging(session, finance, date(2026, 6, 25)).currencies
    assert second.total_minor == 12_000
    assert usd.total == Decimal("120.00")
    assert all(amount >= 0 for amount in usd.totals.values())


def test_a_voided_invoice_with_a_payment_counts_as_nothing_once_voided(session):
    finance = make_user(session, role="finance")
    owner = make_user(session, role="account_manager")
    client = make_client(session, owner=owner)
    voided = invoice(session, client=client, actor=owner, issued=date(2026, 5, 1))
    pay(session, client=client, actor=finance, amount="200.00", on=date(2026, 6, 1))
    voided.voided_on, voided.status = date(2026, 6, 15), "void"
    session.flush()

    assert_agrees(session, [date(2026, 5, 31), date(2026, 6, 1), date(2026, 6, 15), date(2026, 12, 31)])
    voided.voided_on = None  # undone: the voiding's change is taken back
    session.flush()
    assert_agrees(session, [date(2026, 6, 15), date(2026, 12, 31)])


def test_two_payments_at_once_for_one_due_date_each_count_once(sessions, session):
    finance = make_user(session, role="finance")
    owner = make_user(session, role="account_manager")
    client = make_client(session, owner=owner)
    for _ in range(2):
        invoice(session, client=client, actor=owner, issued=date(2026, 5, 1))  # two of 1,200.00, one due date
    session.commit()

    def pay_one() -> int:
        with sessions() as own:
            body, _ = record_payment(
                own,
                own.get_one(User, finance.id),
                PaymentIn(client_id=client.id, amount="700.00", currency="USD", received_on=date(2026, 6, 1)),
                None,
                date(2026, 6, 1),
            )
            own.commit()
            return int(body["id"])

    run_at_once(pay_one)

    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Payment)) == 2
    assert totals(session) == changes_summed(session) == open_now(session)
    assert sum(totals(session).values()) == 2 * 120_000 - 2 * 70_000
    assert_agrees(session, [date(2026, 5, 31), date(2026, 6, 1)])


def test_the_migration_posts_an_existing_book(engine: Engine, session):
    finance = make_user(session, role="finance")
    owner = make_user(session, role="account_manager")
    client = make_client(session, owner=owner)
    first = invoice(session, client=client, actor=owner, issued=date(2026, 5, 1))
    invoice(session, client=client, actor=owner, issued=date(2026, 6, 1), terms=10)
    cheque = pay(session, client=client, actor=finance, amount="1500.00", on=date(2026, 6, 10))
    bounce(session, payment=cheque, actor=finance, on=date(2026, 7, 1))
    pay(session, client=client, actor=finance, amount="100.00", on=date(2026, 7, 2))
    issue_credit_note(session, finance, first.id, CreditNoteIn(amount="50.00", reason="late"), date(2026, 7, 3))
    session.commit()

    def state() -> tuple[dict[Key, int], dict[Key, int], list[tuple[str, date, int, int]]]:
        sales = session.execute(
            select(ReceivableSale.currency, ReceivableSale.day, ReceivableSale.amount_minor, ReceivableSale.entries)
        )
        return totals(session), changes_summed(session), sorted(tuple(r) for r in sales)

    kept = state()
    session.close()
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    before_ledger = ScriptDirectory.from_config(cfg).get_revision("0011_receivables_ledger").down_revision
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, str(before_ledger))
    upgrade(engine)  # posts the book again from the event tables

    assert state() == kept
    assert kept[0] == open_now(session)
    assert_agrees(session, [date(2026, 6, 10), date(2026, 7, 1), date(2026, 7, 3)])


def sales_oracle(session: Session, as_of: date, days: int) -> dict[str, int]:
    """Net sales of the window per currency, from the invoices and credit notes themselves."""
    since = as_of - timedelta(days=days - 1)
    out: dict[str, int] = {}
    issued = session.execute(
        select(Invoice.currency, Invoice.total_minor).where(
            Invoice.issue_date >= since,
            Invoice.issue_date <= as_of,
            (Invoice.voided_on.is_(None)) | (Invoice.voided_on > as_of),
        )
    )
    credited = session.execute(
        select(CreditNote.currency, -CreditNote.amount_minor).where(
            CreditNote.issued_on >= since, CreditNote.issued_on <= as_of
        )
    )
    for currency, minor in [*issued, *credited]:
        out[currency] = out.get(currency, 0) + minor
    return out


@PROPERTY
@given(events=books, back=st.integers(0, 240), days=st.integers(1, 120))
def test_a_buckets_invoices_and_dso_agree_with_the_totals(engine, events, back, days):
    session, book = new_book(engine)
    try:
        book.record(events)
        book.bill(END)
        session.flush()

        # Today (nothing is dated later): a bucket's drill-down adds up to the bucket.
        report = aging(session, book.finance, END)
        for section in report.currencies:
            for span in bucket_bounds_as_due_dates(END):
                rows, _ = list_invoices(
                    session,
                    book.finance,
                    limit=500,
                    offset=0,
                    currency=section.currency,
                    unpaid=True,
                    due_from=span.earliest,
                    due_to=span.latest,
                )
                listed = money.from_minor(sum(i.balance_minor for i in rows), section.currency)
                assert listed == section.totals[span.name]

        as_of = END - timedelta(days=back)
        sales = sales_oracle(session, as_of, days)
        for section in aging(session, book.finance, as_of, dso_days=days).currencies:
            sold = money.from_minor(sales.get(section.currency, 0), section.currency)
            assert section.dso == dso(section.total, sold, days)
    finally:
        session.close()
