"""The billing run (`run_billing_in_slices`) over a book of contracts with nothing billed yet.

Book: ``bench.generate`` "billing" — active contracts with one to three lines that started in
the 150 days before AS_OF, so a run through AS_OF issues about 2.5 invoices a contract.

* first run: issues every invoice (with its lines), committed slice by slice as the API and the
  job run it (`run_billing_in_slices`); the note gives its Python CPU per invoice;
* second run: the same date again must issue nothing (idempotence) — what the daily run costs
  over a book that is already billed;
* baseline for the first run: inserting the same invoice and line rows with a plain Core
  executemany (the floor any implementation pays), in a transaction that is rolled back;
* baseline for the second run: reading what it must read once — every billable contract with
  its lines, and the invoice count and latest period per contract — without chunks.
"""

from __future__ import annotations

import os
from datetime import date
from typing import cast

from sqlalchemy import Table, func, select

from bench.common import AS_OF, Database, Row, Section, best_of, timed
from renewals.db.models import Contract, ContractLine, Invoice, InvoiceLine
from renewals.domain.receivables.billing import BILLED_STATUSES, run_billing_in_slices

NAME = "billing"
TITLE = "Billing run"
BOOK = "billing"
WHAT = __doc__ or ""
_CHUNK = 5000  # invoices read back per baseline insert


def measure(db: Database, scale: int, section: Section, repeat: int) -> None:
    with timed() as first_t:
        first = run_billing_in_slices(db.sessions, AS_OF, None)
    with timed() as second_t:
        second = run_billing_in_slices(db.sessions, AS_OF, None)
    with db.engine.connect() as conn:
        invoices = int(conn.scalar(select(func.count()).select_from(Invoice)) or 0)
        lines = int(conn.scalar(select(func.count()).select_from(InvoiceLine)) or 0)
    floor, floor_cpu = _insert_floor(db)
    section.add(
        Row(
            scale,
            "first run: issue everything",
            first.invoices_issued,
            "invoices",
            first_t.wall,
            first_t.cpu,
            "plain insert of the same rows",
            floor,
        )
    )
    reread, _ = best_of(repeat, lambda: _read_floor(db))
    section.add(
        Row(
            scale,
            "second run: nothing to issue",
            second.contracts_scanned,
            "contracts",
            second_t.wall,
            second_t.cpu,
            "one pass reading contracts, lines, invoice counts",
            reread.wall,
        )
    )
    section.note(
        f"{scale:,} contracts: first run issued {first.invoices_issued:,} invoices ({invoices:,} invoices, "
        f"{lines:,} invoice lines in the database); second run scanned {second.contracts_scanned:,} "
        f"contracts and issued {second.invoices_issued:,}"
    )
    per_invoice = first_t.cpu / first.invoices_issued * 1e6 if first.invoices_issued else 0.0
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    floor_per_invoice = floor_cpu / first.invoices_issued * 1e6 if first.invoices_issued else 0.0
    section.note(
        f"{scale:,} contracts: {per_invoice:.1f} µs of Python CPU per invoice issued "
        f"(the plain insert alone: {floor_per_invoice:.1f} µs; on SQLite both include the database "
        f"engine, which runs in this process); load average (1, 5, 15 min) after the runs: {load}"
    )
    if second.invoices_issued != 0 or first.invoices_issued != invoices:
        section.note("NOT IDEMPOTENT: the second run issued invoices or the counts disagree")


def _insert_floor(db: Database) -> tuple[float, float]:
    """Seconds (wall, and this process's CPU) to insert copies of every issued invoice and its
    lines with a plain executemany.

    The copies get new ids and period starts a century later (the unique key), no number; only
    the inserts are timed, and the transaction is rolled back.
    """
    inv = cast(Table, Invoice.__table__)
    lines = cast(Table, InvoiceLine.__table__)
    inv_cols = [c for c in inv.c if c.name not in ("id", "number")]
    line_cols = [c for c in lines.c if c.name not in ("id", "invoice_id")]
    spent = spent_cpu = 0.0
    with db.engine.connect() as conn:
        trans = conn.begin()
        try:
            offset = int(conn.scalar(select(func.max(inv.c.id))) or 0)
            last = 0
            while True:
                rows = conn.execute(
                    select(inv.c.id, *inv_cols)
                    .where(inv.c.id > last, inv.c.id <= offset)
                    .order_by(inv.c.id)
                    .limit(_CHUNK)
                ).all()
                if not rows:
                    break
                last = rows[-1].id
                ids = [r.id for r in rows]
                invoice_rows = [
                    {
                        **{c.name: getattr(r, c.name) for c in inv_cols},
                        "id": r.id + offset,
                        "number": None,
                        "period_start": _later(r.period_start),
                    }
                    for r in rows
                ]
                line_rows = [
                    {**{c.name: getattr(r, c.name) for c in line_cols}, "invoice_id": r.invoice_id + offset}
                    for r in conn.execute(select(lines.c.invoice_id, *line_cols).where(lines.c.invoice_id.in_(ids)))
                ]
                with timed() as t:
                    conn.execute(inv.insert(), invoice_rows)
                    conn.execute(lines.insert(), line_rows)
                spent += t.wall
                spent_cpu += t.cpu
        finally:
            trans.rollback()
    return spent, spent_cpu


def _later(day: date) -> date:
    return day.replace(year=day.year + 100)


def _read_floor(db: Database) -> None:
    with db.engine.connect() as conn:
        conn.execute(
            select(
                Contract.id,
                Contract.start_date,
                Contract.end_date,
                Contract.billing_cycle,
                ContractLine.quantity,
                ContractLine.monthly_unit_price_minor,
            )
            .outerjoin(ContractLine, ContractLine.contract_id == Contract.id)
            .where(Contract.status.in_(BILLED_STATUSES), Contract.start_date <= AS_OF)
        ).all()
        conn.execute(
            select(Invoice.contract_id, func.count(), func.max(Invoice.period_start)).group_by(Invoice.contract_id)
        ).all()
