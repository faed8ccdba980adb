"""The billing run in bounded transactions, and its rows against the Decimal schedule.

A run commits slice by slice: one stopped half-way leaves whole slices and the next run completes
the book exactly as one uninterrupted run would; other writers get through between slices; the
job records its progress and, when lost, is sent again by the sweeper.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from renewals import clock
from renewals.db.engine import make_sessionmaker
from renewals.db.models import Allocation, AuditEntry, BillingRun, Invoice, InvoiceLine, Payment
from renewals.db.models.jobs import Job, JobChunk
from renewals.db.uow import unit_of_work
from renewals.domain import money
from renewals.domain.contracts.schemas import TerminationIn
from renewals.domain.contracts.service import terminate_contract
from renewals.domain.daily import billing_job
from renewals.domain.daily.sweep import sweep
from renewals.domain.jobrecords import service as jobs
from renewals.domain.receivables.billing import Slice, run_billing, run_billing_in_slices
from renewals.domain.receivables.payments import record_payment
from renewals.domain.receivables.schedule import billing_periods, period_amounts
from renewals.domain.receivables.schemas import PaymentIn
from tests.conftest import truncate_all
from tests.factories import TIERS, make_client, make_contract, make_user

THROUGH = date(2026, 6, 30)
MONTHS = Decimal("0.000001")


class Stop(Exception):
    """What stops a run half-way here: a crash, as far as the book can tell."""


@pytest.fixture
def book(session: Session) -> dict[str, Any]:
    """Nine contracts over three clients: month ends, 29 February, a KRW proration, a
    termination, quarterly and annual cycles; one client has unapplied credit to spend."""
    mina = make_user(session, role="account_manager")
    finance = make_user(session, role="finance")
    usd = make_client(session, owner=mina, currency="USD")
    krw = make_client(session, owner=mina, currency="KRW", language="ko")
    eur = make_client(session, owner=mina, currency="EUR")
    terms: list[tuple[Any, dict[str, Any]]] = [
        (usd, {"start_date": date(2026, 1, 31), "end_date": date(2027, 1, 30), "lines": [("Rack", "1", "1000.00")]}),
        (usd, {"start_date": date(2024, 2, 29), "end_date": date(2027, 2, 27), "billing_cycle": "annual"}),
        (krw, {"start_date": date(2026, 1, 1), "end_date": date(2026, 2, 14), "lines": [("랙", "1", "1957501")]}),
        (krw, {"start_date": date(2025, 12, 15), "billing_cycle": "quarterly", "tax_rate": Decimal("10")}),
        (eur, {"start_date": date(2026, 3, 1), "lines": [("Cage", "1.5", "95.50"), ("Power", "3", "12.34")]}),
        (eur, {"start_date": date(2025, 12, 31), "end_date": date(2026, 4, 17), "tax_rate": Decimal("19")}),
        (usd, {"start_date": date(2026, 2, 28), "billing_cycle": "semiannual"}),
        (usd, {"start_date": date(2026, 1, 1), "end_date": date(2026, 12, 31)}),
        (eur, {"start_date": date(2026, 5, 31), "payment_terms_days": 45}),
    ]
    contracts = [make_contract(session, client=client, actor=mina, **kw) for client, kw in terms]
    terminate_contract(
        session, mina, contracts[7].id, TerminationIn(effective_date=date(2026, 3, 10), reason="x"), TIERS
    )
    record_payment(
        session,
        finance,
        PaymentIn(client_id=usd.id, amount="2500.00", currency="USD", method="wire", received_on=date(2026, 1, 2)),
        None,
        date(2026, 1, 2),
    )
    session.commit()
    return {"finance": finance, "mina": mina, "usd": usd, "contracts": contracts}


def ledger(session: Session) -> list[tuple[Any, ...]]:
    """Every invoice and its lines as a reader sees them, without ids or run ids."""
    lines: dict[int, list[tuple[Any, ...]]] = {}
    for ln in session.scalars(select(InvoiceLine).order_by(InvoiceLine.invoice_id, InvoiceLine.position)):
        lines.setdefault(ln.invoice_id, []).append(
            (ln.position, ln.description, ln.quantity, ln.monthly_unit_price_minor, ln.months, ln.amount_minor)
        )
    rows = [
        (
            i.contract_id,
            i.period_start,
            i.period_end,
            i.issue_date,
            i.due_date,
            i.currency,
            i.net_minor,
            i.tax_minor,
            i.total_minor,
            i.paid_minor,
            i.balance_minor,
            i.status,
            i.number == f"INV-{i.issue_date.year}-{i.id:06d}",
            tuple(lines.get(i.id, [])),
        )
        for i in session.scalars(select(Invoice))
    ]
    session.commit()  # end the read: on SQLite a transaction holds the write lock
    return sorted(rows)


def unbill(session: Session) -> None:
    """Take every invoice back, and the credit they spent, as if no run had happened."""
    session.execute(delete(Allocation))
    session.execute(delete(InvoiceLine))
    session.execute(delete(Invoice))
    session.execute(update(Payment).values(unapplied_minor=Payment.amount_minor))
    session.commit()


@pytest.mark.parametrize("where", ["between slices", "inside a slice"])
def test_a_run_stopped_half_way_is_completed_by_the_next_to_the_same_book_as_one_run(
    session: Session, sessions: sessionmaker[Session], book: dict[str, Any], where: str
) -> None:
    seen: list[Slice] = []

    def stop_between(done: Slice) -> None:
        seen.append(done)
        if len(seen) == 2:
            raise Stop

    def stop_inside(_session: Session, done: Slice) -> None:
        seen.append(done)
        if len(seen) == 3:
            raise Stop

    hooks: dict[str, Any] = {"between": stop_between} if where == "between slices" else {"in_slice": stop_inside}
    with pytest.raises(Stop):
        run_billing_in_slices(sessions, THROUGH, book["finance"].id, chunk_size=2, **hooks)
    partial = ledger(session)
    rest = run_billing_in_slices(sessions, THROUGH, book["finance"].id, chunk_size=2)
    completed = ledger(session)
    unbill(session)
    whole = run_billing_in_slices(sessions, THROUGH, book["finance"].id, chunk_size=2)

    assert {row[0] for row in partial} == {c.id for c in book["contracts"][:4]}  # two slices of two
    assert rest.invoices_issued == whole.invoices_issued - len(partial)
    assert completed == ledger(session)
    assert whole.credit_applied > 0
    assert all(row[12] for row in completed)  # numbered from their own id


def test_a_run_stopped_half_way_keeps_its_progress_and_is_not_audited_as_finished(
    session: Session, sessions: sessionmaker[Session], book: dict[str, Any]
) -> None:
    def stop(done: Slice) -> None:
        raise Stop

    with pytest.raises(Stop):
        run_billing_in_slices(sessions, THROUGH, book["finance"].id, chunk_size=2, between=stop)

    (run,) = session.scalars(select(BillingRun)).all()
    issued = session.scalar(select(func.count()).select_from(Invoice).where(Invoice.billing_run_id == run.id))
    audited = session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_type == "billing_run")
    )
    session.commit()
    assert (run.contracts_scanned, run.invoices_issued) == (2, issued)
    assert audited == 0


def test_an_api_write_gets_through_between_the_slices_of_a_run(
    api: Any, session: Session, sessions: sessionmaker[Session], book: dict[str, Any]
) -> None:
    answers: list[tuple[int, int]] = []

    def write_and_read(done: Slice) -> None:
        paid = api.post(
            "/api/v1/payments",
            book["finance"],
            {
                "client_id": book["usd"].id,
                "amount": "10.00",
                "currency": "USD",
                "method": "wire",
                "received_on": "2026-01-03",
                "reference": f"between slice {done.first_id}",
            },
        )
        listed = api.get("/api/v1/invoices", book["finance"], params={"limit": 100})
        answers.append((paid.status_code, listed.json()["total"]))

    summary = run_billing_in_slices(sessions, THROUGH, book["finance"].id, chunk_size=2, between=write_and_read)

    assert [status for status, _ in answers] == [201] * len(answers)
    assert len(answers) == 5  # nine contracts, two a slice
    visible = [total for _, total in answers]
    assert visible == sorted(visible)
    assert 0 < visible[0] < summary.invoices_issued == visible[-1]


def test_the_api_runs_the_billing_slice_by_slice_with_the_pinned_answer(
    api: Any, session: Session, book: dict[str, Any]
) -> None:
    done = api.post("/api/v1/billing/run", book["finance"], {"through": THROUGH.isoformat()})
    again = api.post("/api/v1/billing/run", book["finance"], {"through": THROUGH.isoformat()})

    assert done.status_code == 200, done.text
    body = done.json()
    assert set(body) == {"run_id", "through", "contracts_scanned", "invoices_issued", "credit_applied", "dry_run"}
    assert (body["through"], body["contracts_scanned"], body["dry_run"]) == (THROUGH.isoformat(), 9, False)
    assert body["invoices_issued"] == len(ledger(session)) > 0
    assert (again.json()["invoices_issued"], again.json()["credit_applied"]) == (0, 0)


def test_a_billing_job_commits_slice_by_slice_and_records_its_heartbeat(
    session: Session, sessions: sessionmaker[Session], book: dict[str, Any]
) -> None:
    with unit_of_work(sessions) as s:
        job, _ = jobs.request(s, "billing", {"through": THROUGH.isoformat()}, requested_by=book["finance"].id)

    result = billing_job.run(sessions, job.id, THROUGH, clock.now, chunk_size=4)
    again = billing_job.run(sessions, job.id, THROUGH, clock.now, chunk_size=4)

    done = session.get_one(Job, job.id)
    beat = session.scalars(select(JobChunk).where(JobChunk.job_id == job.id)).one()
    assert result is not None
    assert again is None
    assert (done.status, done.chunks_done, done.result) == ("done", 3, result)
    assert result["invoices_issued"] == len(ledger(session))
    assert (beat.kind, beat.hi) == ("billing", book["contracts"][-1].id)


def test_a_failed_billing_job_goes_back_to_the_queue_and_the_retry_finishes_it(
    session: Session, sessions: sessionmaker[Session], book: dict[str, Any]
) -> None:
    with unit_of_work(sessions) as s:
        job, _ = jobs.request(s, "billing", {"through": THROUGH.isoformat()}, requested_by=book["mina"].id)

    with pytest.raises(Exception, match="billing"):
        billing_job.run(sessions, job.id, THROUGH, clock.now)  # an account manager may not bill
    queued = session.get_one(Job, job.id).status
    session.commit()
    with unit_of_work(sessions) as s:
        s.execute(update(Job).where(Job.id == job.id).values(requested_by=book["finance"].id))
    result = billing_job.run(sessions, job.id, THROUGH, clock.now)

    assert queued == "queued"
    assert result is not None
    assert result["invoices_issued"] == len(ledger(session))


def test_the_sweeper_sends_again_a_billing_job_with_no_heartbeat(
    session: Session, sessions: sessionmaker[Session], book: dict[str, Any]
) -> None:
    with unit_of_work(sessions) as s:
        job, _ = jobs.request(s, "billing", {"through": THROUGH.isoformat()})
        s.execute(
            update(Job).where(Job.id == job.id).values(status="running", started_at=clock.now() - timedelta(minutes=30))
        )

    with unit_of_work(sessions) as s:
        swept = sweep(s, clock.now())
    result = billing_job.run(sessions, job.id, THROUGH, clock.now)

    assert swept["jobs"] == 1
    assert result is not None
    assert session.get_one(Job, job.id).status == "done"


# --- the rows written against the Decimal schedule ----------------------------------------------

QUANTITIES = st.sampled_from(["1", "2", "1.5", "0.3333", "12"])
term = st.tuples(
    st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 6, 30)),  # start
    st.integers(0, 900),  # days to the end date
    st.sampled_from(["monthly", "quarterly", "semiannual", "annual"]),
    st.sampled_from(["USD", "KRW", "JPY", "EUR"]),
    st.sampled_from(["0", "6", "10", "19", "7.75"]),  # tax rate
    st.lists(st.tuples(QUANTITIES, st.integers(0, 2_000_000)), min_size=1, max_size=3),  # lines
    st.none() | st.integers(0, 400),  # days from the start to a termination
)
ORACLE = settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@ORACLE
@given(terms=st.lists(term, min_size=1, max_size=6), through_days=st.integers(0, 400))
def test_every_invoice_written_has_the_decimal_schedules_dates_and_figures(
    engine: Engine, terms: list[Any], through_days: int
) -> None:
    truncate_all(engine)
    sessions = make_sessionmaker(engine)
    through = date(2025, 6, 1) + timedelta(days=through_days)
    with unit_of_work(sessions) as session:
        mina = make_user(session, role="account_manager")
        expected: list[tuple[Any, ...]] = []
        for start, days, cycle, currency, tax, lines, stop_days in terms:
            client = make_client(session, owner=mina, currency=currency)
            prices = [(q, money.from_minor(p, currency)) for q, p in lines]
            contract = make_contract(
                session,
                client=client,
                actor=mina,
                start_date=start,
                end_date=start + timedelta(days=days),
                billing_cycle=cycle,
                tax_rate=Decimal(tax),
                lines=[(f"line {i}", q, str(p)) for i, (q, p) in enumerate(prices)],
            )
            stop = None
            if stop_days is not None and start + timedelta(days=stop_days) <= contract.end_date:
                stop = start + timedelta(days=stop_days)
                terminate_contract(session, mina, contract.id, TerminationIn(effective_date=stop, reason="x"), TIERS)
            decimal_lines = [(f"line {i}", Decimal(q), p) for i, (q, p) in enumerate(prices)]
            expected.extend(oracle(contract, decimal_lines, Decimal(tax), stop, through))

    with unit_of_work(sessions) as session:
        run_billing(session, through, None, chunk_size=4)

    with unit_of_work(sessions) as session:
        written = sorted(
            (
                i.contract_id,
                i.period_start,
                i.period_end,
                i.due_date,
                i.net_minor,
                i.tax_minor,
                i.total_minor,
                tuple((ln.quantity, ln.monthly_unit_price_minor, ln.months, ln.amount_minor) for ln in i.lines),
            )
            for i in session.scalars(select(Invoice))
        )
    assert written == sorted(expected)


def oracle(contract: Any, lines: list[Any], tax: Decimal, stop: date | None, through: date) -> list[tuple[Any, ...]]:
    """The invoices the Decimal schedule says a contract has through a day, as `written` reads them."""
    cur = contract.currency
    rows = []
    for period in billing_periods(contract.start_date, contract.end_date, contract.billing_cycle, stop):
        if period.start > through:
            continue
        priced = period_amounts(lines, period, cur, tax)
        months = period.months.quantize(MONTHS)
        rows.append(
            (
                contract.id,
                period.start,
                period.end,
                period.start + timedelta(days=contract.payment_terms_days),
                money.to_minor(priced.net, cur),
                money.to_minor(priced.tax, cur),
                money.to_minor(priced.total, cur),
                tuple(
                    (q, money.to_minor(p, cur), months, money.to_minor(a.amount, cur))
                    for (_, q, p), a in zip(lines, priced.lines, strict=True)
                ),
            )
        )
    return rows
