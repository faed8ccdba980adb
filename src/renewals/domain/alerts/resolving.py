"""Resolving what the scan raised: each subject's open alerts whose cause is gone are resolved with
`resolution = auto`, in one UPDATE per subject type.

Whether an alert still stands is the pure rule in `lifecycle` (`contract_alert_stands`,
`invoice_alert_stands`, `credit_alert_stands`, `follow_up_alert_stands`), written here as a
correlated condition on the alert's subject, so nothing is read into Python. Each function
covers a set of subjects (a scan chunk's id range, or the few ids of an event for the instant
resolution in `instant`). Resolution only touches alerts not resolved yet, so running it twice
or concurrently changes nothing more.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, case, cast, false, func, or_, select, true
from sqlalchemy.orm import Session

from renewals.db.models import Activity, Alert, Client, Contract, Invoice, Renewal
from renewals.db.sqlfunc import days_before
from renewals.domain.alerts import lifecycle
from renewals.domain.alerts.rules import DEFAULT_THRESHOLDS, AlertKind, SubjectType, Thresholds, notice_window
from renewals.domain.alerts.sqlrules import day, renewal_band
from renewals.domain.alerts.store import resolve_where
from renewals.domain.receivables.ledger import OPEN_STATUSES as UNPAID_INVOICE_STATUSES
from renewals.domain.receivables.queries import unpaid
from renewals.domain.renewals.rules import OPEN_STATUSES as OPEN_RENEWAL_STATUSES


def _surely(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """The condition, with NULL (an unknown) read as false."""
    return func.coalesce(condition, false())


def resolve_contract_alerts(
    session: Session, as_of: date, lo: int, hi: int, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> int:
    """Resolve the renewal_due and notice_deadline alerts of contracts lo..hi that no longer stand
    (`lifecycle.contract_alert_stands`)."""
    first, last = notice_window(as_of, thresholds.notice_lead_days)
    decided = select(Renewal.id).where(Renewal.contract_id == Contract.id, Renewal.status.not_in(OPEN_RENEWAL_STATUSES))
    deadline = days_before(Contract.end_date, Contract.notice_period_days)
    stands = and_(
        Contract.status == "active",
        ~decided.exists(),
        case(
            (
                Alert.kind == AlertKind.RENEWAL_DUE.value,
                Alert.threshold == renewal_band(Contract.end_date, as_of, thresholds.renewal_due),
            ),
            (
                Alert.kind == AlertKind.NOTICE_DEADLINE.value,
                and_(Contract.auto_renew.is_(True), deadline.between(day(first), day(last))),
            ),
            else_=true(),
        ),
    )
    gone = and_(
        Alert.subject_type == SubjectType.CONTRACT.value,
        Alert.subject_id.between(lo, hi),
        Alert.kind.in_(lifecycle.CONTRACT_KINDS),
        Alert.status != "resolved",
        select(Contract.id).where(Contract.id == Alert.subject_id, ~_surely(stands)).exists(),
    )
    return resolve_where(session, gone, as_of, end_resolved=False)


def resolve_invoice_alerts(session: Session, as_of: date, lo: int, hi: int) -> int:
    """Resolve the invoice_overdue and promise_broken alerts of invoices lo..hi that no longer
    stand (settled, or superseded by a higher dunning level; `lifecycle.invoice_alert_stands`)."""
    return resolve_invoice_alerts_where(session, as_of, Alert.subject_id.between(lo, hi))


def resolve_invoice_alerts_where(session: Session, as_of: date, subjects: ColumnElement[bool]) -> int:
    """`resolve_invoice_alerts` for the invoices `subjects` (a condition on `Alert.subject_id`) selects."""
    stands = and_(
        Invoice.status.in_(UNPAID_INVOICE_STATUSES),
        Invoice.balance_minor > 0,
        or_(Alert.kind != AlertKind.INVOICE_OVERDUE.value, Alert.threshold == Invoice.dunning_level),
    )
    gone = and_(
        Alert.subject_type == SubjectType.INVOICE.value,
        subjects,
        Alert.kind.in_(lifecycle.INVOICE_KINDS),
        Alert.ended_on.is_(None),  # also those resolved by hand: their episode ends here
        select(Invoice.id).where(Invoice.id == Alert.subject_id, ~_surely(stands)).exists(),
    )
    return resolve_where(session, gone, as_of, end_resolved=True)


def latest_activity(lo: int, hi: int) -> Any:
    """The id of the newest activity of each renewal in the chunk."""
    return (
        select(Activity.renewal_id, func.max(Activity.id).label("latest_id"))
        .where(Activity.renewal_id.between(lo, hi))
        .group_by(Activity.renewal_id)
        .subquery("latest")
    )


def resolve_renewal_alerts(session: Session, as_of: date, lo: int, hi: int) -> int:
    """Resolve the follow_up_due alerts of renewals lo..hi that were closed or followed up
    (`lifecycle.follow_up_alert_stands`)."""
    source = cast(Alert.details["activity_id"].as_string(), BigInteger)
    latest = select(func.max(Activity.id)).where(Activity.renewal_id == Renewal.id).scalar_subquery()
    stands = and_(Renewal.status.in_(OPEN_RENEWAL_STATUSES), source.is_not(None), source == latest)
    gone = and_(
        Alert.subject_type == SubjectType.RENEWAL.value,
        Alert.subject_id.between(lo, hi),
        Alert.kind == AlertKind.FOLLOW_UP_DUE.value,
        Alert.status != "resolved",
        select(Renewal.id).where(Renewal.id == Alert.subject_id, ~_surely(stands)).exists(),
    )
    return resolve_where(session, gone, as_of, end_resolved=False)


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
    """Resolve the credit_limit alerts of clients lo..hi whose balance is within the limit again
    (`lifecycle.credit_alert_stands`)."""
    balance = func.coalesce(
        select(func.sum(Invoice.balance_minor))
        .where(
            Invoice.client_id == Client.id,
            Invoice.currency == Client.currency,
            unpaid(),
            Invoice.issue_date <= as_of,
        )
        .scalar_subquery(),
        0,
    )
    stands = and_(
        Alert.threshold == Client.credit_limit_minor,
        Client.credit_limit_minor > 0,
        balance > Client.credit_limit_minor,
    )
    gone = and_(
        Alert.subject_type == SubjectType.CLIENT.value,
        Alert.subject_id.between(lo, hi),
        Alert.kind == AlertKind.CREDIT_LIMIT.value,
        Alert.ended_on.is_(None),  # also those resolved by hand: their episode ends here
        select(Client.id).where(Client.id == Alert.subject_id, ~_surely(stands)).exists(),
    )
    return resolve_where(session, gone, as_of, end_resolved=True)
