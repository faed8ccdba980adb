"""Resolution on the event: the receivables and renewal services call these right after a change,
so a settled invoice's reminders or a decided renewal's warnings go at once, not at the next scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from renewals.db.models import Alert, Invoice, Renewal
from renewals.domain.alerts import lifecycle
from renewals.domain.alerts.resolving import (
    resolve_client_alerts,
    resolve_contract_alerts,
    resolve_invoice_alerts_where,
    resolve_renewal_alerts,
)
from renewals.domain.alerts.rules import AlertKind, SubjectType


def resolve_for_invoice(session: Session, invoice_id: int, as_of: date) -> int:
    """Resolve at once the alerts an invoice's change made moot: its overdue and broken-promise
    alerts once it is paid, credited, voided or written off, and its client's credit-limit alert
    once the balance is back within the limit. Return how many were resolved."""
    return resolve_for_invoices(session, [invoice_id], as_of)


def resolve_for_invoices(session: Session, invoice_ids: Sequence[int], as_of: date) -> int:
    """Do what `resolve_for_invoice` does for several invoices (those one payment touched)."""
    if not invoice_ids:
        return 0
    session.flush()
    ids = sorted(set(invoice_ids))
    client_ids = sorted(set(session.scalars(select(Invoice.client_id).where(Invoice.id.in_(ids)))))
    resolved = resolve_invoice_alerts_where(session, as_of, Alert.subject_id.in_(ids))
    for client_id in client_ids:
        resolved += resolve_client_alerts(session, as_of, client_id, client_id)
    return resolved


# Whether any alert `resolve_for_client_invoices` would look at is still open: built once.
_ANY_OPEN = (
    select(Alert.id)
    .where(
        Alert.ended_on.is_(None),
        or_(
            and_(
                Alert.subject_type == SubjectType.INVOICE,
                Alert.subject_id.in_(bindparam("invoice_ids", expanding=True)),
                Alert.kind.in_(lifecycle.INVOICE_KINDS),
            ),
            and_(
                Alert.subject_type == SubjectType.CLIENT,
                Alert.subject_id == bindparam("client_id"),
                Alert.kind == AlertKind.CREDIT_LIMIT,
            ),
        ),
    )
    .limit(1)
)


def resolve_for_client_invoices(session: Session, client_id: int, invoice_ids: Sequence[int], as_of: date) -> int:
    """Do what `resolve_for_invoices` does for invoices all of one client (a payment's): the
    client is known, so it is not looked up, and when none of the alerts those steps check is
    open (most payments) one indexed query answers instead of their two."""
    session.flush()
    ids = sorted(set(invoice_ids))
    if session.execute(_ANY_OPEN, {"invoice_ids": ids, "client_id": client_id}).first() is None:
        return 0
    resolved = resolve_invoice_alerts_where(session, as_of, Alert.subject_id.in_(ids))
    return resolved + resolve_client_alerts(session, as_of, client_id, client_id)


def resolve_for_client(session: Session, client_id: int, as_of: date) -> int:
    """Resolve the client's credit-limit alert if its open balance is within the limit again."""
    session.flush()
    return resolve_client_alerts(session, as_of, client_id, client_id)


def resolve_for_contract(session: Session, contract_id: int, as_of: date) -> int:
    """Resolve at once the renewal_due and notice_deadline alerts of a contract that was renewed,
    terminated or decided, and the follow-ups of its closed renewal. Return how many."""
    session.flush()
    resolved = resolve_contract_alerts(session, as_of, contract_id, contract_id)
    renewal_id = session.scalar(select(Renewal.id).where(Renewal.contract_id == contract_id))
    if renewal_id is not None:
        resolved += resolve_renewal_alerts(session, as_of, renewal_id, renewal_id)
    return resolved
