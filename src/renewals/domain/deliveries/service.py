"""Delivery records: claim a delivery (once it succeeded, never again), build what goes on the
wire, and record the outcome. The network call itself happens between two transactions, so no
database lock is held while a webhook or mail server answers slowly.

A claim moves the row to `sending`; a second claim of a row that is `sending` waits for the first
(DeliveryBusy, retried later) unless the first has been silent for CLAIM_LEASE — the worker that
made it died — and a `delivered` row is never claimed again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from renewals.db.dialect import insert_one_ignoring_conflicts
from renewals.db.models import Alert, User
from renewals.db.models.deliveries import Delivery
from renewals.db.uow import request_job
from renewals.domain.deliveries import signing
from renewals.domain.deliveries.transport import Outcome
from renewals.domain.jobrecords.service import finish as finish_job
from renewals.domain.jobrecords.service import start as start_job
from renewals.errors import RenewalsError

CLAIM_LEASE = timedelta(seconds=60)
OPEN_STATUSES = ("open", "acknowledged")


class DeliveryBusy(RenewalsError):
    """Another worker is sending this delivery right now; try again later."""

    status_code = 409


class DeliveryFailed(RenewalsError):
    """The receiver did not accept the delivery; it is recorded and will be retried."""

    status_code = 502


@dataclass(frozen=True)
class WebhookClaim:
    delivery_id: int
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class DigestClaim:
    delivery_id: int
    message: EmailMessage


def alert_payload(alert: Alert) -> dict[str, Any]:
    """The alert as the webhook carries it (the API's pinned alert fields, plus its message)."""
    return {
        "id": alert.id,
        "kind": alert.kind,
        "subject_type": alert.subject_type,
        "subject_id": alert.subject_id,
        "threshold": alert.threshold,
        "severity": alert.severity,
        "assignee_id": alert.assignee_id,
        "status": alert.status,
        "raised_on": alert.raised_on.isoformat(),
        "resolved_on": alert.resolved_on.isoformat() if alert.resolved_on else None,
        "dedupe_key": alert.dedupe_key,
        "client_id": alert.client_id,
        "message": alert.message,
    }


def _claim(session: Session, where: Any, at: datetime) -> Delivery | None:
    """Move the matching delivery to `sending` and count the attempt. Return None when it was
    already delivered; raise DeliveryBusy when another worker holds a fresh claim on it."""
    delivery = session.execute(select(Delivery).where(where)).scalar_one()
    claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Delivery)
        .where(
            Delivery.id == delivery.id,
            or_(
                Delivery.status.in_(("pending", "failed")),
                (Delivery.status == "sending") & (Delivery.claimed_at < at - CLAIM_LEASE),
            ),
        )
        .values(status="sending", claimed_at=at, attempts=Delivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(delivery)
    if claimed.rowcount:
        return delivery
    if delivery.status == "delivered":
        return None
    raise DeliveryBusy(f"delivery {delivery.id} is being sent by another worker")


def claim_webhook(session: Session, alert_id: int, url: str, secret: str, at: datetime) -> WebhookClaim | None:
    """Claim the webhook delivery of one alert and build the signed request. Return None when there
    is nothing to send: the alert no longer exists or its delivery already succeeded. Raise
    DeliveryBusy when another worker is sending it now."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        return None
    insert_one_ignoring_conflicts(
        session,
        Delivery.__table__,
        {
            "channel": "webhook",
            "alert_id": alert_id,
            "target": url,
            "status": "pending",
            "attempts": 0,
            "created_at": at,
        },
    )
    delivery = _claim(session, (Delivery.channel == "webhook") & (Delivery.alert_id == alert_id), at)
    if delivery is None:
        return None
    sent_at = at.isoformat()
    body = json.dumps(
        {"event": "alert.raised", "delivery_id": delivery.id, "sent_at": sent_at, "alert": alert_payload(alert)},
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    headers = {
        signing.SIGNATURE_HEADER: signing.signature(secret, body),
        signing.TIMESTAMP_HEADER: sent_at,
        signing.DELIVERY_HEADER: str(delivery.id),
        signing.EVENT_HEADER: "alert.raised",
    }
    return WebhookClaim(delivery.id, url, body, headers)


def record(session: Session, delivery_id: int, outcome: Outcome, at: datetime) -> None:
    """Record the outcome of one attempt: delivered for good, or failed with the reason."""
    if outcome.ok:
        values: dict[str, Any] = {"status": "delivered", "delivered_at": at, "last_error": None}
    else:
        values = {"status": "failed", "last_error": (outcome.error or "failed")[:2000]}
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == "sending")
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def plan_digests(session: Session, as_of: date, at: datetime) -> list[int]:
    """Record one e-mail digest for `as_of` per active assignee with open or acknowledged alerts,
    listing those alerts, and request its sending (after commit). Digests already recorded for
    that day are left alone. Return the ids of the digests created now."""
    rows = session.execute(
        select(User.id, User.email, Alert.id)
        .join(User, User.id == Alert.assignee_id)
        .where(Alert.status.in_(OPEN_STATUSES), User.active.is_(True), Alert.raised_on <= as_of)
        .order_by(Alert.assignee_id, Alert.raised_on, Alert.id)
    ).all()
    by_assignee: dict[int, tuple[str, list[int]]] = {}
    for assignee_id, email, alert_id in rows:
        by_assignee.setdefault(assignee_id, (email, []))[1].append(alert_id)
    created = []
    for assignee_id, (email, alert_ids) in by_assignee.items():
        delivery_id = insert_one_ignoring_conflicts(
            session,
            Delivery.__table__,
            {
                "channel": "email",
                "digest_date": as_of,
                "assignee_id": assignee_id,
                "target": email,
                "status": "pending",
                "attempts": 0,
                "details": {"alert_ids": alert_ids},
                "created_at": at,
            },
        )
        if delivery_id is not None:
            created.append(delivery_id)
            request_job(session, "digests.deliver", delivery_id=delivery_id)
    return created


def digest_job(session: Session, job_id: int | None, as_of: date, at: datetime, *, enabled: bool) -> None:
    """Plan the day's digests as a job (when SMTP is configured) and mark the job done with how many
    were recorded. A job that already started (a redelivered message) is left alone."""
    job = start_job(session, job_id, at) if job_id is not None else None
    if job_id is not None and job is None:
        return
    created = plan_digests(session, as_of, at) if enabled else []
    if job is not None:
        finish_job(session, job, {"as_of": as_of.isoformat(), "digests": len(created), "smtp": enabled}, at)


def claim_digest(session: Session, delivery_id: int, mail_from: str, at: datetime) -> DigestClaim | None:
    """Claim one digest and build its e-mail. Return None when it was already sent or no longer
    exists. Raise DeliveryBusy when another worker is sending it now."""
    if session.get(Delivery, delivery_id) is None:
        return None
    delivery = _claim(session, Delivery.id == delivery_id, at)
    if delivery is None:
        return None
    alert_ids = list((delivery.details or {}).get("alert_ids", []))
    alerts = session.execute(select(Alert).where(Alert.id.in_(alert_ids)).order_by(Alert.raised_on, Alert.id))
    lines = [
        f"- [{a.severity}] {a.kind} on {a.subject_type} {a.subject_id}, raised {a.raised_on.isoformat()}"
        f" ({a.status}){': ' + a.message if a.message else ''}"
        for a in alerts.scalars()
    ]
    day = delivery.digest_date.isoformat() if delivery.digest_date else ""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = delivery.target
    message["Subject"] = f"renewals: {len(lines)} open alert{'s' if len(lines) != 1 else ''} on {day}"
    message["X-Renewals-Delivery"] = str(delivery.id)
    message.set_content(
        f"Your open alerts on {day}:\n\n" + "\n".join(lines) + "\n\nAcknowledge or resolve them in /api/v1/alerts.\n"
    )
    return DigestClaim(delivery.id, message)
