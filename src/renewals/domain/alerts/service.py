"""Alert services: the scoped list, acknowledge and resolve (audited), and the caller's day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, extract, func, or_, select
from sqlalchemy.orm import Session

from renewals.db.models import Activity, Alert, Client, Contact, Contract, Invoice, Renewal, User
from renewals.domain import money
from renewals.domain.access.rules import sees_everything
from renewals.domain.alerts.lifecycle import (
    FINANCE_KINDS,
    birthday_month_days,
    next_celebration,
)
from renewals.domain.alerts.rules import AlertKind, SubjectType
from renewals.domain.alerts.schemas import (
    AlertOut,
    TodayBirthday,
    TodayFollowUp,
    TodayInvoice,
    TodayOut,
    TodayRenewal,
)
from renewals.domain.audit import record
from renewals.domain.pagination import check_window, paginate
from renewals.domain.receivables.queries import overdue
from renewals.domain.renewals.rules import OPEN_STATUSES
from renewals.errors import Conflict, NotFound, ValidationFailed

STATUSES = ("open", "acknowledged", "resolved")
UNRESOLVED = ("open", "acknowledged")
RENEWAL_SOON_DAYS = 30
BIRTHDAY_WINDOW_DAYS = 7


def alert_out(alert: Alert) -> AlertOut:
    return AlertOut(
        id=alert.id,
        kind=alert.kind,
        subject_type=alert.subject_type,
        subject_id=alert.subject_id,
        threshold=alert.threshold,
        severity=alert.severity,
        assignee_id=alert.assignee_id,
        status=alert.status,
        raised_on=alert.raised_on,
        resolved_on=alert.resolved_on,
        dedupe_key=alert.dedupe_key,
        informed_id=alert.informed_id,
        client_id=alert.client_id,
        message=alert.message,
        details=alert.details,
        acknowledged_by=alert.acknowledged_by,
        acknowledged_at=alert.acknowledged_at,
        resolved_by=alert.resolved_by,
        resolution=alert.resolution,
    )


def scope_alerts(stmt: Select[Any], user: User) -> Select[Any]:
    """Restrict alerts to the caller's: an account manager sees those about the clients they own
    now (an alert stays with its client when the client is reassigned) and, of alerts about no
    client, those assigned to or meant for them; finance, managers and admins see every alert."""
    if sees_everything(user):
        return stmt
    own_clients = select(Client.id).where(Client.owner_id == user.id)
    about_no_client = and_(Alert.client_id.is_(None), or_(Alert.assignee_id == user.id, Alert.informed_id == user.id))
    return stmt.where(or_(Alert.client_id.in_(own_clients), about_no_client))


def parse_assignee(value: str | None, user: User) -> int | None:
    """`me` or a user id; raise ValidationFailed naming `assignee` otherwise."""
    if value is None or value == "":
        return None
    if value == "me":
        return user.id
    if value.isdigit():
        return int(value)
    raise ValidationFailed("assignee", "must be a user id or `me`", source="query")


def list_alerts(
    session: Session,
    user: User,
    *,
    limit: int,
    offset: int,
    status: str | None = None,
    kind: str | None = None,
    assignee: str | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
    client_id: int | None = None,
) -> tuple[list[Alert], int]:
    """List the alerts the caller may see, newest first. Raises ValidationFailed for bad filters."""
    stmt = scope_alerts(select(Alert), user)
    if status is not None:
        if status not in STATUSES:
            raise ValidationFailed("status", f"must be one of {', '.join(STATUSES)}", source="query")
        stmt = stmt.where(Alert.status == status)
    if kind is not None:
        if kind not in {k.value for k in AlertKind}:
            raise ValidationFailed("kind", f"must be one of {', '.join(k.value for k in AlertKind)}", source="query")
        stmt = stmt.where(Alert.kind == kind)
    if subject_type is not None:
        if subject_type not in {s.value for s in SubjectType}:
            raise ValidationFailed(
                "subject_type", f"must be one of {', '.join(s.value for s in SubjectType)}", source="query"
            )
        stmt = stmt.where(Alert.subject_type == subject_type)
    if subject_id is not None:
        stmt = stmt.where(Alert.subject_id == subject_id)
    if client_id is not None:
        stmt = stmt.where(Alert.client_id == client_id)
    assignee_id = parse_assignee(assignee, user)
    if assignee_id is not None:
        stmt = stmt.where(Alert.assignee_id == assignee_id)
    return paginate(session, stmt.order_by(Alert.raised_on.desc(), Alert.id.desc()), limit, offset)


def get_visible_alert(session: Session, user: User, alert_id: int, *, for_update: bool = False) -> Alert:
    """Load an alert the caller may see; raise NotFound for a missing or foreign one."""
    stmt = scope_alerts(select(Alert).where(Alert.id == alert_id), user)
    if for_update:
        stmt = stmt.with_for_update(of=Alert)
    alert: Alert | None = session.scalars(stmt).first()
    if alert is None:
        raise NotFound("alert", alert_id)
    return alert


def _snapshot(alert: Alert) -> dict[str, object]:
    return {
        "status": alert.status,
        "resolved_on": alert.resolved_on,
        "acknowledged_by": alert.acknowledged_by,
        "resolved_by": alert.resolved_by,
        "resolution": alert.resolution,
    }


def _illegal(alert: Alert, action: str, allowed: list[str]) -> Conflict:
    return Conflict(
        f"cannot {action} an alert that is {alert.status}", extra={"status": alert.status, "allowed": allowed}
    )


def acknowledge(session: Session, actor: User, alert_id: int, at: datetime, note: str | None = None) -> Alert:
    """Mark an open alert acknowledged (seen, being handled). Raises NotFound, Conflict (409)
    when it is already acknowledged or resolved."""
    alert = get_visible_alert(session, actor, alert_id, for_update=True)
    if alert.status != "open":
        raise _illegal(alert, "acknowledge", ["resolve"] if alert.status == "acknowledged" else [])
    before = _snapshot(alert)
    alert.status = "acknowledged"
    alert.acknowledged_by = actor.id
    alert.acknowledged_at = at
    session.flush()
    record(session, actor, "acknowledge", "alert", alert.id, before, _snapshot(alert) | {"note": note})
    return alert


def resolve(session: Session, actor: User, alert_id: int, as_of: date, note: str | None = None) -> Alert:
    """Resolve an open or acknowledged alert by hand on `as_of`; the scan never raises its key
    again. Raises NotFound, Conflict (409) when it is already resolved."""
    alert = get_visible_alert(session, actor, alert_id, for_update=True)
    if alert.status == "resolved":
        raise _illegal(alert, "resolve", [])
    before = _snapshot(alert)
    alert.status = "resolved"
    alert.resolved_on = as_of
    alert.resolved_by = actor.id
    alert.resolution = "manual"
    session.flush()
    record(session, actor, "resolve", "alert", alert.id, before, _snapshot(alert) | {"note": note})
    return alert


# --------------------------------------------------------------------------------------------
# The caller's day
# --------------------------------------------------------------------------------------------


def _desk_clients(user: User) -> Select[Any]:
    """The clients on the caller's desk: the ones they own."""
    return select(Client.id).where(Client.owner_id == user.id)


def _count(session: Session, stmt: Any) -> int:
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def today(session: Session, user: User, as_of: date, *, limit: int = 100) -> TodayOut:
    """Gather the caller's day on `as_of`: their open renewals that need action (next action date
    reached, or ending within 30 days), follow-ups they planned for today, overdue invoices of
    their clients (finance: of every client), their clients' contacts' birthdays in the next
    seven days, and their unresolved alerts. Raises ValidationFailed for a bad `limit`."""
    check_window(limit, 0)
    desk = _desk_clients(user)

    renewals_q = (
        select(
            Renewal.id,
            Renewal.contract_id,
            Contract.number,
            Contract.client_id,
            Client.name,
            Renewal.status,
            Renewal.end_date,
            Renewal.next_action_date,
        )
        .join(Contract, Contract.id == Renewal.contract_id)
        .join(Client, Client.id == Contract.client_id)
        .where(
            Contract.client_id.in_(desk),
            Renewal.status.in_(OPEN_STATUSES),
            or_(Renewal.next_action_date <= as_of, Renewal.end_date <= as_of + timedelta(days=RENEWAL_SOON_DAYS)),
        )
        .order_by(Renewal.end_date, Renewal.id)
    )
    renewals = []
    for r in session.execute(renewals_q.limit(limit)):
        reasons = []
        if r.next_action_date is not None and r.next_action_date <= as_of:
            reasons.append("next_action_due")
        if r.end_date <= as_of + timedelta(days=RENEWAL_SOON_DAYS):
            reasons.append("ending_soon")
        renewals.append(
            TodayRenewal(
                id=r.id,
                contract_id=r.contract_id,
                contract_number=r.number,
                client_id=r.client_id,
                client_name=r.name,
                status=r.status,
                end_date=r.end_date,
                days_left=(r.end_date - as_of).days,
                next_action_date=r.next_action_date,
                reasons=reasons,
            )
        )

    follow_q = (
        select(
            Activity.id,
            Activity.renewal_id,
            Contract.number,
            Contract.client_id,
            Client.name,
            Activity.kind,
            Activity.text,
            Activity.next_follow_up_on,
        )
        .join(Renewal, Renewal.id == Activity.renewal_id)
        .join(Contract, Contract.id == Renewal.contract_id)
        .join(Client, Client.id == Contract.client_id)
        .where(
            Activity.author_id == user.id,
            Activity.next_follow_up_on == as_of,
            Renewal.status.in_(OPEN_STATUSES),
        )
        .order_by(Activity.id)
    )
    if not sees_everything(user):
        follow_q = follow_q.where(Contract.client_id.in_(desk))
    follow_ups = [
        TodayFollowUp(
            activity_id=f.id,
            renewal_id=f.renewal_id,
            contract_number=f.number,
            client_id=f.client_id,
            client_name=f.name,
            kind=f.kind,
            text=f.text,
            next_follow_up_on=f.next_follow_up_on,
        )
        for f in session.execute(follow_q.limit(limit))
    ]

    invoice_q = (
        select(
            Invoice.id,
            Invoice.number,
            Invoice.client_id,
            Client.name,
            Invoice.currency,
            Invoice.balance_minor,
            Invoice.due_date,
            Invoice.dunning_level,
            Invoice.hold_kind,
        )
        .join(Client, Client.id == Invoice.client_id)
        .where(overdue(as_of))
        .order_by(Invoice.due_date, Invoice.id)
    )
    if user.role != "finance":
        invoice_q = invoice_q.where(Invoice.client_id.in_(desk))
    invoices = [
        TodayInvoice(
            id=i.id,
            number=i.number,
            client_id=i.client_id,
            client_name=i.name,
            currency=i.currency,
            balance=money.from_minor(i.balance_minor, i.currency),
            due_date=i.due_date,
            days_overdue=(as_of - i.due_date).days,
            dunning_level=i.dunning_level,
            hold=i.hold_kind,
        )
        for i in session.execute(invoice_q.limit(limit))
    ]

    pairs = birthday_month_days(as_of, BIRTHDAY_WINDOW_DAYS)
    birthday_q = (
        select(Contact.id, Contact.client_id, Client.name.label("client_name"), Contact.name, Contact.birthday)
        .join(Client, Client.id == Contact.client_id)
        .where(
            Contact.client_id.in_(desk),
            Contact.birthday.is_not(None),
            or_(
                *(
                    and_(extract("month", Contact.birthday) == m, extract("day", Contact.birthday) == d)
                    for m, d in sorted(pairs)
                )
            ),
        )
    )
    birthdays = []
    for b in session.execute(birthday_q):
        on = next_celebration(b.birthday, as_of)
        birthdays.append(
            TodayBirthday(
                contact_id=b.id,
                client_id=b.client_id,
                client_name=b.client_name,
                name=b.name,
                birthday=b.birthday,
                celebrate_on=on,
                days_until=(on - as_of).days,
            )
        )
    birthdays.sort(key=lambda b: (b.celebrate_on, b.contact_id))

    mine = or_(Alert.assignee_id == user.id, Alert.informed_id == user.id)
    if user.role == "finance":
        # Finance alerts with nobody assigned (no finance user existed then) are routed to the role.
        mine = or_(mine, and_(Alert.assignee_id.is_(None), Alert.kind.in_(FINANCE_KINDS)))
    alert_q = (
        scope_alerts(select(Alert), user)
        .where(mine, Alert.status.in_(UNRESOLVED))
        .order_by(Alert.raised_on.desc(), Alert.id.desc())
    )
    alerts = [alert_out(a) for a in session.scalars(alert_q.limit(limit))]

    return TodayOut(
        as_of=as_of,
        renewals=renewals,
        follow_ups=follow_ups,
        overdue_invoices=invoices,
        birthdays=birthdays[:limit],
        alerts=alerts,
        counts={
            "renewals": _count(session, renewals_q),
            "follow_ups": _count(session, follow_q),
            "overdue_invoices": _count(session, invoice_q),
            "birthdays": len(birthdays),
            "alerts": _count(session, alert_q),
        },
    )
