"""The benchmark plumbing: the generated book (its invariants, its schema, its determinism), the
time limits that keep a large run bounded, the server CPU reading and the generated report."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import Engine, func, select, table, text

from bench import generate as generate_module
from bench import report
from bench.__main__ import main as bench_main
from bench.common import (
    AS_OF,
    LIMITS,
    Database,
    Limits,
    Part,
    Row,
    Section,
    TimeLimitExceeded,
    best_of,
    time_limit,
    timed,
)
from bench.generate import _COLUMNS, BOOK_TABLES, HORIZON_DAYS, generate, schema
from renewals.db.models import Allocation, Base, Client, Contract, ContractLine, Invoice, Payment, Renewal
from tests.conftest import truncate_all

CONTRACTS = 1500
# The book of 1,500 contracts, seed 1, as the benchmarks were measured on it (the written
# columns, read back through the models' types, so both databases give the same values). A
# change here is a change of the book every benchmark runs on: make it on purpose, and say so.
BOOK_DIGEST = "5c574ed83872bec696d826f46c697097e9cfeae7a7819135fd2cc93865abeb7b"


def _digest(engine: Engine) -> str:
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for name in BOOK_TABLES:
            written = Base.metadata.tables[name]
            rows = conn.execute(select(*(written.c[c] for c in _COLUMNS[name])).order_by(written.c.id))
            for row in rows:
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_the_full_book_keeps_the_schema_the_invariants_and_its_shape(engine: Engine) -> None:
    before = schema(engine)
    counts = generate(engine, CONTRACTS, book="full", seed=1)
    assert schema(engine) == before  # indexes and foreign keys made again exactly as migrated

    with engine.connect() as conn:
        for name, n in counts.items():
            assert conn.scalar(select(func.count()).select_from(table(name))) == n, name
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []

        # Invoices: net is the contract's lines for the cycle, total = net + tax, balance = total − paid,
        # and the status says which.
        lines = (
            select(
                ContractLine.contract_id,
                func.sum(ContractLine.quantity * ContractLine.monthly_unit_price_minor).label("monthly"),
            )
            .group_by(ContractLine.contract_id)
            .subquery()
        )
        contracts = conn.execute(
            select(Contract.id, Contract.monthly_value_minor, lines.c.monthly, Contract.billing_cycle).join(
                lines, lines.c.contract_id == Contract.id
            )
        ).all()
        assert len(contracts) == CONTRACTS
        months = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
        cycle = {}
        for cid, monthly, from_lines, billing_cycle in contracts:
            assert monthly * 10_000 == from_lines  # quantity is stored scaled by 10^4
            cycle[cid] = (monthly, months[billing_cycle])
        invoices = conn.execute(
            select(
                Invoice.contract_id,
                Invoice.net_minor,
                Invoice.tax_minor,
                Invoice.total_minor,
                Invoice.paid_minor,
                Invoice.balance_minor,
                Invoice.status,
                Invoice.period_start,
                Invoice.period_end,
                Invoice.due_date,
                Invoice.currency,
                Contract.currency,
                Client.currency,
            )
            .join(Contract, Contract.id == Invoice.contract_id)
            .join(Client, Client.id == Invoice.client_id)
        ).all()
        for contract_id, net, tax, total, paid, balance, status, start, end, due, *currencies in invoices:
            monthly, step = cycle[contract_id]
            assert net == monthly * step
            assert total == net + tax
            assert 0 <= paid <= total
            assert balance == total - paid
            assert status == ("paid" if balance == 0 else "partially_paid" if paid else "open")
            assert start <= end
            assert start <= AS_OF
            assert due > start
            assert len(set(currencies)) == 1

        # Payments and allocations: each payment wholly applied to one invoice, never more than it owes.
        allocated = conn.execute(
            select(Allocation.invoice_id, func.sum(Allocation.amount_minor)).group_by(Allocation.invoice_id)
        ).all()
        paid_by_invoice = dict(conn.execute(select(Invoice.id, Invoice.paid_minor)).all())
        assert dict(allocated) == {i: p for i, p in paid_by_invoice.items() if p}
        mismatched = conn.scalar(
            select(func.count())
            .select_from(Allocation)
            .join(Payment, Payment.id == Allocation.payment_id)
            .where(
                (Allocation.amount_minor > Payment.amount_minor)
                | (Payment.amount_minor - Payment.unapplied_minor != Allocation.amount_minor)
                | (Allocation.applied_on != Payment.received_on)
                | (Payment.received_on >= AS_OF)
            )
        )
        assert mismatched == 0

        # Renewals: the active contracts ending within the horizon, owned by the client's owner.
        renewals = conn.execute(
            select(Renewal.end_date, Renewal.owner_id, Renewal.status, Contract.status, Client.owner_id)
            .join(Contract, Contract.id == Renewal.contract_id)
            .join(Client, Client.id == Contract.client_id)
        ).all()
        due_soon = conn.scalar(
            select(func.count())
            .select_from(Contract)
            .where(Contract.status == "active", Contract.end_date <= date.fromordinal(AS_OF.toordinal() + HORIZON_DAYS))
        )
        assert len(renewals) == due_soon
        for end_date, owner, state, contract_status, client_owner in renewals:
            assert contract_status == "active"
            assert owner == client_owner
            assert state == "upcoming" or end_date >= AS_OF

        # The shape the benchmarks rely on (≈ 7.3 rows and 1.6 invoices a contract, 8 % expired).
        statuses = Counter(conn.execute(select(Contract.status)).scalars())
    assert 0.05 < statuses["expired"] / CONTRACTS < 0.11
    assert 1.4 < counts["invoices"] / CONTRACTS < 1.9
    assert 6.5 < sum(counts.values()) / CONTRACTS < 8.0

    # A row added afterwards gets a fresh id (PostgreSQL's sequences were moved past the book's).
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (email, name, role, password_hash, active, created_at, updated_at) "
                "VALUES ('late@bench.test', 'Late', 'manager', 'x', :t, :now, :now)"
            ),
            {"t": True, "now": "2026-06-01 08:00:00"},
        )


def test_the_generated_book_is_posted_to_the_receivables_ledger_as_its_triggers_would(engine: Engine) -> None:
    """The load goes without the ledger's triggers; the book is posted once afterwards, so the
    open totals per client, currency and due date are what the invoices and their events say."""
    generate(engine, CONTRACTS, book="full", seed=1)
    expected = text(
        """
        SELECT i.client_id, i.currency, i.due_date, sum(
            i.total_minor
            - CASE WHEN i.voided_on IS NULL THEN 0 ELSE i.total_minor END
            - coalesce((SELECT sum(a.amount_minor) FROM allocations a
                        WHERE a.invoice_id = i.id AND a.reversed_on IS NULL), 0)
            - coalesce((SELECT sum(c.amount_minor) FROM credit_notes c WHERE c.invoice_id = i.id), 0)
            - coalesce((SELECT sum(w.amount_minor) FROM write_offs w WHERE w.invoice_id = i.id), 0)
        ) AS open_minor
        FROM invoices i GROUP BY i.client_id, i.currency, i.due_date
        """
    )
    with engine.connect() as conn:
        want = {(r[0], r[1], str(r[2])): int(r[3]) for r in conn.execute(expected) if int(r[3]) != 0}
        got = {
            (r[0], r[1], str(r[2])): int(r[3])
            for r in conn.exec_driver_sql("SELECT client_id, currency, due_date, amount_minor FROM receivable_totals")
        }
        issued = conn.scalar(text("SELECT count(*) FROM receivable_changes WHERE kind = 'invoice'"))
        invoices = conn.scalar(text("SELECT count(*) FROM invoices"))
    assert want, "the book has open invoices"
    assert got == want
    assert issued == invoices


def test_a_seed_gives_the_same_book_on_either_database(engine: Engine) -> None:
    generate(engine, CONTRACTS, book="full", seed=1)
    first = _digest(engine)
    truncate_all(engine)
    generate(engine, CONTRACTS, book="full", seed=1)
    assert _digest(engine) == first
    assert first == BOOK_DIGEST
    truncate_all(engine)
    generate(engine, CONTRACTS, book="full", seed=2)
    assert _digest(engine) != first


def test_the_billing_book_has_contracts_to_bill_and_nothing_billed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    def derive(loaded: Engine) -> None:  # a step making derived data sees the committed rows
        with loaded.connect() as conn:
            seen.append(int(conn.scalar(select(func.count()).select_from(Contract)) or 0))

    monkeypatch.setattr(generate_module, "AFTER_LOAD", [derive])
    before = schema(engine)
    counts = generate(engine, CONTRACTS, book="billing", seed=1)
    assert schema(engine) == before
    assert seen == [CONTRACTS]
    assert set(counts) == {"users", "clients", "contracts", "contract_lines"}
    with engine.connect() as conn:
        starts = conn.execute(select(func.min(Contract.start_date), func.max(Contract.start_date))).one()
        assert conn.scalar(select(func.count()).select_from(Invoice)) == 0
    assert date.fromordinal(AS_OF.toordinal() - 150) <= starts[0] <= starts[1] <= AS_OF


def _spin() -> NoReturn:
    """Pure Python work with no database call in it: only the signal can stop it."""
    turns = 0
    while True:
        turns += 1


@pytest.fixture
def limits() -> Iterator[Limits]:
    saved = (LIMITS.operation, LIMITS.part, LIMITS.repeat_budget)
    yield LIMITS
    LIMITS.operation, LIMITS.part, LIMITS.repeat_budget = saved


def test_an_operation_past_its_limit_is_stopped_and_the_connection_stays_usable(engine: Engine, limits: Limits) -> None:
    LIMITS.operation = 1.0
    endless = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
        if engine.dialect.name == "sqlite"
        else "SELECT count(*) FROM generate_series(1, 10000000000)"
    )
    with pytest.raises(TimeLimitExceeded, match="endless query"), timed("endless query"), engine.connect() as conn:
        conn.exec_driver_sql(endless).all()
    with pytest.raises(TimeLimitExceeded, match="spin"), time_limit(1.0, "spin"):
        _spin()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1

    section = Section("x", "X", engine.dialect.name, "")
    with section.limited(10, "endless query", "rows"), timed("endless query"), engine.connect() as conn:
        conn.exec_driver_sql(endless).all()
    with timed("quick") as quick:
        pass
    (row,) = section.rows
    assert (row.operation, row.not_measured, row.ratio) == ("endless query", "> 1 s", None)
    assert quick.wall < 1.0


def test_best_of_stops_repeating_after_its_budget(limits: Limits) -> None:
    calls: list[int] = []

    def call() -> int:
        calls.append(1)
        return len(calls)

    LIMITS.repeat_budget = 0.0
    timing, result = best_of(5, call)
    assert (len(calls), result) == (1, 1)
    LIMITS.repeat_budget = 3600.0
    assert best_of(5, call)[1] == 6
    assert timing.server_cpu is None  # no PostgreSQL benchmark database open


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL: TEST_DATABASE_URL")
def test_the_postgresql_backends_cpu_is_read() -> None:
    db = Database("postgresql", os.environ["TEST_DATABASE_URL"])
    try:
        with timed("server work") as t, db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM generate_series(1, 2000000)").all()
        assert t.server_cpu is not None
        assert t.server_cpu > 0
        # A row made from that timing carries it into the report without the benchmark's help.
        section = Section("x", "X", "PostgreSQL", "")
        row = section.add(Row(1, "count", 2_000_000, "rows", t.wall, t.cpu))
        assert row.server_cpu_seconds == t.server_cpu
    finally:
        db.close()


def test_a_run_records_its_parts_and_the_report_shows_limits_and_growth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(report, "DOC", tmp_path / "benchmarks.md")
    (tmp_path / "benchmarks.md").write_text(f"# old\n{report.START}\nHand-written.\n{report.END}\n")
    assert bench_main(["--scales", "200,400", "--backends", "sqlite", "--only", "aging", "--time-limit", "600"]) == 0
    (saved,) = (tmp_path / "results").glob("sqlite-200-400.json")
    run = json.loads(saved.read_text())
    assert run["machine"]["cores"] >= 1
    assert run["machine"]["memory_gib"] > 0
    sections = {s["name"]: s for s in run["sections"]}
    assert [p["label"] for p in sections["generate"]["parts"]] == ["full book: generate, ANALYZE"] * 2
    assert [(p["scale"], p["label"]) for p in sections["aging"]["parts"]] == [(200, "aging"), (400, "aging")]
    assert all(p["load_before"] and p["load_after"] for p in sections["aging"]["parts"])

    section = Section("scan", "Daily scan", "SQLite", "what")
    section.add(Row(100, "daily scan", 1000, "rows", 2.0, 1.0, "count pass", 1.0))
    section.add(Row(1000, "daily scan", 10000, "rows", 30.0, 9.0, "count pass", 2.0, server_cpu_seconds=4.0))
    section.not_measured(1000, TimeLimitExceeded("cold scan", 300.0), "rows")
    section.parts.append(Part(1000, "scan", "1.0 2.0 3.0", "2.0 2.0 3.0", 330.0, 12.0, 40.0))
    run["sections"].append(section.to_json())
    saved.write_text(json.dumps(run))
    doc = report.write_doc({"scan": ("Daily scan", "what")}).read_text()
    assert "Hand-written." in doc
    assert "| 1,000 | daily scan | 10,000 rows | 30.0 | 9.000 | 4.000 | 333 | 2.000 | 15.0 | 15.0 (10.0) |" in doc
    assert "| 1,000 | cold scan | – | not measured (> 300 s) |" in doc
    assert "| 1,000 | scan | 330.0 | 12.0 | 40.0 | 1.0 2.0 3.0 | 2.0 2.0 3.0 |" in doc
