"""The scan's invoice chunk: broken promises lifted, dunning levels climbed, invoice_overdue and
promise_broken raised, and the invoice alerts whose cause is gone resolved.

Every step is set-based over the chunk's id range: a change is an INSERT … SELECT of its audit
entries and an UPDATE under the same guard (on PostgreSQL after locking the rows it matches).
Dunning levels only climb and a lifted hold is lifted under a guard that a second run no longer
matches (a concurrent scan waits on the row lock, then skips the row), so the chunk is
idempotent and safe to run on two workers at once. Each change writes one audit row with no
actor (the system).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, insert, null, select, update
from sqlalchemy.orm import Session

from renewals.db.models import AuditEntry, Client, Invoice
from renewals.db.sqlfunc import days_between, iso_date, yyyymmdd
from renewals.domain.alerts.resolving import resolve_invoice_alerts
from renewals.domain.alerts.rules import DEFAULT_THRESHOLDS, AlertKind, Thresholds, severity
from renewals.domain.alerts.sqlrules import (
    Said,
    alert_columns,
    constant,
    day,
    dunning_of,
    json_of,
    money_text,
    or_none,
    severity_of,
    standing,
    text_of,
)
from renewals.domain.alerts.store import expire_all_loaded, first_active, raise_selected
from renewals.domain.receivables.queries import broken_promise, overdue, unheld

# Builds an audit entry's `before` or `after` from the invoice's columns before the change.
Shape = Callable[[Any], ColumnElement[Any]]


def scan_invoices(
    session: Session, as_of: date, lo: int, hi: int, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> dict[str, int]:
    """Lift broken promises and climb dunning levels for invoices lo..hi, raise their alerts and
    resolve the moot ones; count each."""
    finance_id = first_active(session, "finance")
    in_range = Invoice.id.between(lo, hi)
    # Raised from the promise as it stands, before the hold (and its date) is lifted.
    raised = raise_selected(session, _promise_broken(as_of, in_range, finance_id))
    lifted = _lift_broken_promises(session, as_of, in_range)
    climbed = _climb_dunning(session, as_of, in_range, thresholds.dunning)
    raised += raise_selected(session, _invoice_overdue(as_of, in_range, finance_id, thresholds.dunning))
    resolved = resolve_invoice_alerts(session, as_of, lo, hi)
    return {"raised": raised, "resolved": resolved, "holds_lifted": lifted, "dunning_changed": climbed}


def _finance_alert(
    kind: AlertKind,
    as_of: date,
    finance_id: int | None,
    said: Said,
    *,
    where: tuple[ColumnElement[bool], ...],
) -> Any:
    """The new alerts of `kind` on the invoices `where` selects, for finance with the account
    manager informed."""
    return (
        select(
            *alert_columns(
                kind,
                as_of,
                said,
                subject_id=Invoice.id,
                assignee_id=finance_id,
                informed_id=Client.owner_id,
                client_id=Invoice.client_id,
            )
        )
        .join(Client, Client.id == Invoice.client_id)
        .where(*where, ~standing(kind, Invoice.id, said.threshold))
        .order_by(Invoice.id)
    )


def _promise_broken(as_of: date, in_range: ColumnElement[bool], finance_id: int | None) -> Any:
    """promise_broken: a promise to pay whose date passed unpaid, keyed by the promised date."""
    kind = AlertKind.PROMISE_BROKEN
    promised = iso_date(Invoice.hold_until)
    balance = money_text(Invoice.balance_minor, Invoice.currency)
    said = Said(
        threshold=yyyymmdd(Invoice.hold_until),
        severity=severity(kind).value,
        message=text_of(
            "Invoice ",
            or_none(Invoice.number),
            ": the promise to pay by ",
            promised,
            " was broken; ",
            balance,
            " ",
            Invoice.currency,
            " still due, the hold is lifted",
        ),
        details=json_of(
            "invoice_number",
            Invoice.number,
            "promised_by",
            promised,
            "balance",
            balance,
            "currency",
            Invoice.currency,
        ),
    )
    return _finance_alert(kind, as_of, finance_id, said, where=(in_range, broken_promise(as_of)))


def _lift_broken_promises(session: Session, as_of: date, in_range: ColumnElement[bool]) -> int:
    """Lift every promise-to-pay hold whose date has passed unpaid; count them."""
    return _update_audited(
        session,
        "lift_hold",
        (in_range, broken_promise(as_of)),
        {"hold_kind": None, "hold_until": None, "hold_reason": None, "held_on": None},
        before=lambda c: json_of(
            "hold",
            json_of(
                "kind",
                constant("promise"),
                "until",
                iso_date(c.hold_until),
                "reason",
                c.hold_reason,
                "held_on",
                iso_date(c.held_on),
            ),
        ),
        after=lambda c: json_of(
            "hold", null(), "why", text_of("promise to pay by ", iso_date(c.hold_until), " broken")
        ),
    )


def _climb_dunning(session: Session, as_of: date, in_range: ColumnElement[bool], dunning: tuple[int, ...]) -> int:
    """Raise the dunning level of unheld overdue invoices to the one their days past due reach;
    count them. Levels never go down."""
    reached = dunning_of(Invoice.due_date, as_of, dunning)
    return _update_audited(
        session,
        "dunning",
        (in_range, overdue(as_of), unheld(), Invoice.dunning_level < reached),
        {"dunning_level": reached},
        before=lambda c: json_of("dunning_level", c.dunning_level),
        after=lambda c: json_of("dunning_level", dunning_of(c.due_date, as_of, dunning)),
    )


def _update_audited(
    session: Session,
    action: str,
    where: tuple[ColumnElement[bool], ...],
    values: dict[str, Any],
    *,
    before: Shape,
    after: Shape,
) -> int:
    """UPDATE the invoices `where` selects (their version climbs) and write one audit entry per
    changed invoice, `before` and `after` built from its columns before the change; count them."""
    audit_columns = ["action", "entity_type", "entity_id", "before", "after"]
    if session.get_bind().dialect.name == "postgresql":
        # Lock the rows first: a concurrent scan waits here, then no longer matches the guard
        # (PostgreSQL re-checks it on the row as committed), so each change is audited once.
        # SQLite has one writer at a time and needs no lock.
        session.execute(select(func.count()).select_from(select(Invoice.id).where(*where).with_for_update().subquery()))
    audit = select(constant(action), constant("invoice"), Invoice.id, before(Invoice), after(Invoice)).where(*where)
    session.execute(insert(AuditEntry).from_select(audit_columns, audit))
    result = session.execute(
        update(Invoice)
        .where(*where)
        .values({**values, "version": Invoice.version + 1})
        .execution_options(synchronize_session=False)
    )
    expire_all_loaded(session, Invoice)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _invoice_overdue(
    as_of: date, in_range: ColumnElement[bool], finance_id: int | None, dunning: tuple[int, ...]
) -> Any:
    """invoice_overdue: an unheld overdue invoice at its dunning level (after the climb), keyed
    by the level and numbered by episode."""
    kind = AlertKind.INVOICE_OVERDUE
    level = Invoice.dunning_level
    days = days_between(day(as_of), Invoice.due_date)
    balance = money_text(Invoice.balance_minor, Invoice.currency)
    said = Said(
        threshold=level,
        severity=severity_of(kind, level, tuple(range(1, len(dunning) + 1))),
        message=text_of(
            "Invoice ",
            or_none(Invoice.number),
            " is ",
            days,
            " days overdue (",
            balance,
            " ",
            Invoice.currency,
            "); dunning level ",
            level,
        ),
        details=json_of(
            "invoice_number",
            Invoice.number,
            "due_date",
            iso_date(Invoice.due_date),
            "days_overdue",
            days,
            "balance",
            balance,
            "currency",
            Invoice.currency,
            "dunning_level",
            level,
        ),
    )
    return _finance_alert(kind, as_of, finance_id, said, where=(in_range, overdue(as_of), unheld(), level > 0))
