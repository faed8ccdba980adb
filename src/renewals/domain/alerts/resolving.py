"""Resolving what the scan raised: each subject's open alerts are checked against the pure rules
in `lifecycle`, and those whose cause is gone are resolved with `resolution = auto`.

Each function covers an inclusive id range of subjects (a scan chunk, or a single id for the
instant resolution in `instant`). Resolution only touches alerts not resolved yet, so running
it twice or concurrently changes nothing more.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from renewals.db.models import Activity, Alert, Client, Contract, Invoice, Renewal
from renewals.domain.alerts import lifecycle
from renewals.domain.alerts.lifecycle import (
    contract_alert_stands,
    credit_alert_stands,
    follow_up_alert_stands,
    invoice_alert_stands,
)
from renewals.domain.alerts.rules import AlertKind, SubjectType
from renewals.domain.alerts.store import resolve_ids
from renewals.domain.receivables.queries import unpaid


def resolve_contract_alerts(session: Session, as_of: date, lo: int, hi: int) -> int:
    """Resolve the renewal_due and notice_deadline alerts of contracts lo..hi that no longer stand."""
    stmt = (
        select(
            Alert.id,
            Alert.kind,
            Alert.threshold,
            Contract.status,
            Contract.end_date,
            Contract.auto_renew,
            Contract.notice_period_days,
            Renewal.status.label("renewal_status"),
        )
        .join(Contract, Contract.id == Alert.subject_id)
        .outerjoin(Renewal, Renewal.contract_id == Contract.id)
        .where(
            Alert.subject_type == SubjectType.CONTRACT,
            Alert.subject_id.between(lo, hi),
            Alert.kind.in_(lifecycle.CONTRACT_KINDS),
            Alert.status != "resolved",
        )
    )
    gone = [
        a.id
        for a in session.execute(stmt)
        if not contract_alert_stands(
            a.kind,
            a.threshold,
            contract_status=a.status,
            renewal_status=a.renewal_status,
            end_date=a.end_date,
            auto_renew=a.auto_renew,
            notice_period_days=a.notice_period_days,
            as_of=as_of,
        )
    ]
    return resolve_ids(session, gone, as_of)


def resolve_invoice_alerts(session: Session, as_of: date, in_range: ColumnElement[bool]) -> int:
    """Resolve the invoice_overdue and promise_broken alerts of the invoices `in_range` selects
    that no longer stand (settled, or superseded by a higher dunning level)."""
    stmt = (
        select(Alert.id, Alert.kind, Alert.threshold, Invoice.status, Invoice.balance_minor, Invoice.dunning_level)
        .join(Invoice, Invoice.id == Alert.subject_id)
        .where(
            Alert.subject_type == SubjectType.INVOICE,
            in_range,
            Alert.kind.in_(lifecycle.INVOICE_KINDS),
            Alert.status != "resolved",
        )
    )
    gone = [
        a.id
        for a in session.execute(stmt)
        if not invoice_alert_stands(
            a.kind, a.threshold, status=a.status, balance_minor=a.balance_minor, dunning_level=a.dunning_level
        )
    ]
    return resolve_ids(session, gone, as_of)


def latest_activity(lo: int, hi: int) -> Any:
    """The id of the newest activity of each renewal in the chunk."""
    return (
        select(Activity.renewal_id, func.max(Activity.id).label("latest_id"))
        .where(Activity.renewal_id.between(lo, hi))
        .group_by(Activity.renewal_id)
        .subquery("latest")
    )


def resolve_renewal_alerts(session: Session, as_of: date, lo: int, hi: int) -> int:
    """Resolve the follow_up_due alerts of renewals lo..hi that were closed or followed up."""
    latest = latest_activity(lo, hi)
    stmt = (
        select(Alert.id, Alert.details, Renewal.status, latest.c.latest_id)
        .join(Renewal, Renewal.id == Alert.subject_id)
        .outerjoin(latest, latest.c.renewal_id == Renewal.id)
        .where(
            Alert.subject_type == SubjectType.RENEWAL,
            Alert.subject_id.between(lo, hi),
            Alert.kind == AlertKind.FOLLOW_UP_DUE,
            Alert.status != "resolved",
        )
    )
    gone = [
        a.id
        for a in session.execute(stmt)
        if not follow_up_alert_stands(
            renewal_status=a.status,
            latest_activity_id=a.latest_id,
            source_activity_id=(a.details or {}).get("activity_id"),
        )
    ]
    return resolve_ids(session, gone, as_of)


def open_balances(as_of: date, lo: int, hi: int) -> Any:
    """Each client's open balance in its own currency (other currencies are never summed in),
    over the invoices issued by `as_of`."""
    return (
        select(Invoice.client_id, func.sum(Invoice.balance_minor).label("open_minor"))
        .join(Client, and_(Client.id == Invoice.client_id, Client.currency == Invoice.currency))
        .where(Invoice.client_id.between(lo, hi), unpaid(), Invoice.issue_date <= as_of)
        .group_by(Invoice.client_id)
        .subquery("balances")
    )


def resolve_client_alerts(session: Session, as_of: date, lo: int, hi: int) -> int:
    """Resolve the credit_limit alerts of clients lo..hi whose balance is within the limit again."""
    balances = open_balances(as_of, lo, hi)
    stmt = (
        select(
            Alert.id,
            Alert.threshold,
            Client.credit_limit_minor,
            func.coalesce(balances.c.open_minor, 0).label("open_minor"),
        )
        .join(Client, Client.id == Alert.subject_id)
        .outerjoin(balances, balances.c.client_id == Client.id)
        .where(
            Alert.subject_type == SubjectType.CLIENT,
            Alert.subject_id.between(lo, hi),
            Alert.kind == AlertKind.CREDIT_LIMIT,
            Alert.status != "resolved",
        )
    )
    gone = [
        a.id
        for a in session.execute(stmt)
        if not credit_alert_stands(
            a.threshold, open_balance_minor=int(a.open_minor), credit_limit_minor=a.credit_limit_minor
        )
    ]
    return resolve_ids(session, gone, as_of)
