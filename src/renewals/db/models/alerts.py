"""Early-warning alerts raised by the daily scan (see renewals.domain.alerts)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from renewals.db.models.base import Base, BigId, Timestamped
from renewals.db.types import UTCDateTime

ALERT_STATUSES = ("open", "acknowledged", "resolved")


class Alert(Timestamped, Base):
    """One warning about one subject at one threshold and episode; `dedupe_key` keeps it unique.

    Raising is "insert unless the key exists" (ON CONFLICT DO NOTHING), so a scan that runs twice
    or on two workers at once raises nothing twice. For the kinds whose cause can end and come
    back (a credit limit breached again, an invoice reopened), the key names the episode: once an
    alert has `ended_on`, the next occurrence is raised under a new key.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(BigId)
    # Days, a dunning level, a YYYYMMDD date or a credit limit in minor units (hence BIGINT).
    threshold: Mapped[int | None] = mapped_column(BigInteger)
    severity: Mapped[str] = mapped_column(String(10))
    # NULL when no user of the routed role exists: the role still sees it in /alerts.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Someone told as well: the account manager of a finance alert, the manager of a lapse.
    informed_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The client the subject belongs to, for scoping an account manager's view.
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    raised_on: Mapped[date] = mapped_column(Date)
    resolved_on: Mapped[date | None] = mapped_column(Date)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Why it was resolved: `auto` by the scan or an event, `manual` through the API.
    resolution: Mapped[str | None] = mapped_column(String(20))
    # The day the scan or an event saw the cause gone (set also on an alert resolved by hand
    # earlier): the episode is over, and the same cause coming back is a new episode.
    ended_on: Mapped[date | None] = mapped_column(Date)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    message: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_alerts_subject", "subject_type", "subject_id", "kind"),
        Index("ix_alerts_status_kind", "status", "kind"),
        Index("ix_alerts_assignee_id_status", "assignee_id", "status"),
        Index("ix_alerts_client_id_status", "client_id", "status"),
        Index("ix_alerts_raised_on", "raised_on"),
    )
