"""The scan's invoice chunk: broken promises lifted, dunning levels climbed, invoice_overdue and
promise_broken raised, and the invoice alerts whose cause is gone resolved.

Dunning levels only climb, and a lifted hold is lifted under a guard that a second run no longer
matches, so the chunk is idempotent and safe to run on two workers at once. Each change writes
one audit row with no actor (the system).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from renewals.db.models import Client, Invoice
from renewals.domain import money
from renewals.domain.alerts.resolving import resolve_invoice_alerts
from renewals.domain.alerts.rules import AlertKind, AlertSpec, date_threshold, dunning_level
from renewals.domain.alerts.store import alert_row, expire_loaded, first_active, iso, raise_alerts
from renewals.domain.audit import record_many
from renewals.domain.receivables.queries import broken_promise, overdue, unheld


def scan_invoices(session: Session, as_of: date, lo: int, hi: int) -> dict[str, int]:
    """Lift broken promises and climb dunning levels for invoices lo..hi, raise their alerts and
    resolve the moot ones; count each."""
    finance_id = first_active(session, "finance")
    in_range = Invoice.id.between(lo, hi)
    lifted, promise_rows = _lift_broken_promises(session, as_of, in_range, finance_id)
    climbed, overdue_rows = _climb_dunning(session, as_of, in_range, finance_id)
    raised = raise_alerts(session, promise_rows + overdue_rows)
    resolved = resolve_invoice_alerts(session, as_of, in_range)
    return {"raised": raised, "resolved": resolved, "holds_lifted": lifted, "dunning_changed": climbed}


def _lift_broken_promises(
    session: Session, as_of: date, in_range: ColumnElement[bool], finance_id: int | None
) -> tuple[int, list[dict[str, Any]]]:
    """Lift every promise-to-pay hold whose date has passed unpaid, and shape its alert."""
    broken = and_(in_range, broken_promise(as_of))
    # Lock first: a concurrent scan waits here and then no longer matches the guard.
    found = session.execute(
        select(
            Invoice.id,
            Invoice.number,
            Invoice.client_id,
            Invoice.hold_until,
            Invoice.hold_reason,
            Invoice.held_on,
            Invoice.currency,
            Invoice.balance_minor,
            Client.owner_id,
        )
        .join(Client, Client.id == Invoice.client_id)
        .where(broken)
        .order_by(Invoice.id)
        .with_for_update(of=Invoice)
    ).all()
    if not found:
        return 0, []
    session.execute(
        update(Invoice)
        .where(Invoice.id.in_([r.id for r in found]), broken)
        .values(
            hold_kind=None,
            hold_until=None,
            hold_reason=None,
            held_on=None,
            version=Invoice.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    expire_loaded(session, Invoice, [r.id for r in found])
    record_many(
        session,
        None,
        [
            (
                "lift_hold",
                "invoice",
                r.id,
                {
                    "hold": {
                        "kind": "promise",
                        "until": iso(r.hold_until),
                        "reason": r.hold_reason,
                        "held_on": iso(r.held_on),
                    }
                },
                {"hold": None, "why": f"promise to pay by {iso(r.hold_until)} broken"},
            )
            for r in found
        ],
    )
    rows = []
    for r in found:
        if r.hold_until is None:  # the guard selected promises with a date
            continue
        spec = AlertSpec.of(AlertKind.PROMISE_BROKEN, r.id, date_threshold(r.hold_until))
        balance = money.from_minor(r.balance_minor, r.currency)
        rows.append(
            alert_row(
                spec,
                as_of,
                assignee_id=finance_id,
                informed_id=r.owner_id,
                client_id=r.client_id,
                message=(
                    f"Invoice {r.number}: the promise to pay by {r.hold_until.isoformat()} was broken; "
                    f"{balance} {r.currency} still due, the hold is lifted"
                ),
                details={
                    "invoice_number": r.number,
                    "promised_by": r.hold_until.isoformat(),
                    "balance": format(balance, "f"),
                    "currency": r.currency,
                },
            )
        )
    return len(found), rows


def _climb_dunning(
    session: Session, as_of: date, in_range: ColumnElement[bool], finance_id: int | None
) -> tuple[int, list[dict[str, Any]]]:
    """Raise the dunning level of unheld overdue invoices to the one their days past due reach,
    and shape the invoice_overdue alert of each one's level. Levels never go down."""
    candidates = session.execute(
        select(
            Invoice.id,
            Invoice.number,
            Invoice.client_id,
            Invoice.due_date,
            Invoice.dunning_level,
            Invoice.currency,
            Invoice.balance_minor,
            Client.owner_id,
        )
        .join(Client, Client.id == Invoice.client_id)
        .where(in_range, overdue(as_of), unheld())
        .order_by(Invoice.id)
        .with_for_update(of=Invoice)
    ).all()
    changes: list[tuple[int, int, int]] = []
    rows: list[dict[str, Any]] = []
    for inv in candidates:
        level = max(dunning_level(inv.due_date, as_of), inv.dunning_level)
        if level > inv.dunning_level:
            changes.append((inv.id, inv.dunning_level, level))
        if level == 0:
            continue
        days = (as_of - inv.due_date).days
        balance = money.from_minor(inv.balance_minor, inv.currency)
        rows.append(
            alert_row(
                AlertSpec.of(AlertKind.INVOICE_OVERDUE, inv.id, level),
                as_of,
                assignee_id=finance_id,
                informed_id=inv.owner_id,
                client_id=inv.client_id,
                message=(
                    f"Invoice {inv.number} is {days} days overdue ({balance} {inv.currency}); dunning level {level}"
                ),
                details={
                    "invoice_number": inv.number,
                    "due_date": inv.due_date.isoformat(),
                    "days_overdue": days,
                    "balance": format(balance, "f"),
                    "currency": inv.currency,
                    "dunning_level": level,
                },
            )
        )
    if changes:
        for level in sorted({new for _, _, new in changes}):
            ids = [invoice_id for invoice_id, _, new in changes if new == level]
            session.execute(
                update(Invoice)
                .where(Invoice.id.in_(ids), Invoice.dunning_level < level)
                .values(dunning_level=level, version=Invoice.version + 1)
                .execution_options(synchronize_session=False)
            )
        expire_loaded(session, Invoice, [invoice_id for invoice_id, _, _ in changes])
        record_many(
            session,
            None,
            [
                ("dunning", "invoice", invoice_id, {"dunning_level": old}, {"dunning_level": new})
                for invoice_id, old, new in changes
            ],
        )
    return len(changes), rows
