"""The demo book's renewals: records opened within the horizon and moved through every state.

Everything goes through the renewal services, the way an account manager and the daily scan
would have done it, so the worklist, the activity log and the audit log all have content.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from renewals.db.models import Renewal, User
from renewals.domain.daily import scan
from renewals.domain.renewals import service
from renewals.domain.renewals.schemas import ActivityIn, ActivityKind, TransitionIn

_NOTES: list[tuple[ActivityKind, str]] = [
    ("call", "Called the IT director: happy with the service, wants a quote for two more racks"),
    ("email", "Sent the renewal proposal with the new price list"),
    ("meeting", "Quarterly review on site; procurement asks for a three-year option"),
    ("note", "Client is moving part of the workload to a hyperscaler; price will decide"),
]


def load(
    session: Session,
    users: dict[int, User],
    manager: User,
    as_of: date,
    horizon_days: int,
    tier_thresholds: dict[str, tuple[Decimal, Decimal]],
) -> dict[str, int]:
    """Open the renewal records and give a realistic spread of states, activities and follow-ups.

    `users` maps user ids to the account managers who own the demo clients; `manager` decides the
    one renewal of a client deep in dunning. Returns how many renewals ended in each state.
    """
    # The renewal steps of the day, as the scan runs them: records opened, auto-renewal, lapse.
    scan.prepare(session, as_of, horizon_days)
    upcoming = list(
        session.scalars(
            select(Renewal)
            .where(Renewal.status == "upcoming", Renewal.end_date >= as_of)
            .order_by(Renewal.end_date, Renewal.id)
        )
    )
    for i, renewal in enumerate(upcoming):
        owner = users.get(renewal.owner_id, manager)
        step = i % 7
        if step == 6:
            continue  # left untouched: nobody has called yet
        kind, text = _NOTES[i % len(_NOTES)]
        follow_up = as_of + timedelta(days=(0, 1, 3, 7, 14, 2)[step])
        service.add_activity(
            session, owner, renewal.id, ActivityIn(kind=kind, text=text, next_follow_up_on=follow_up), as_of=as_of
        )
        if step >= 1:
            service.transition(session, owner, renewal.id, TransitionIn(to="contacted"), as_of=as_of)
        if step >= 2:
            service.transition(
                session,
                owner,
                renewal.id,
                TransitionIn(to="proposal_sent", note="Proposal sent by e-mail"),
                as_of=as_of,
            )
        if step in (3, 4):
            service.transition(
                session,
                owner,
                renewal.id,
                TransitionIn(
                    to="awaiting_signature",
                    sent_for_signature_on=as_of - timedelta(days=4),
                    note="Two originals sent by courier for signature and company seal",
                ),
                as_of=as_of,
            )
        if step == 4:
            service.transition(
                session,
                manager,
                renewal.id,
                TransitionIn(
                    to="renewed",
                    signed_on=as_of - timedelta(days=1),
                    signed_by="Director",
                    seal_received=True,
                    note="Signed and sealed originals received",
                ),
                as_of=as_of,
                horizon_days=horizon_days,
                tier_thresholds=tier_thresholds,
            )
        if step == 5:
            service.transition(
                session,
                owner,
                renewal.id,
                TransitionIn(to="lost", reason="Moved the workload to a hyperscaler on price"),
                as_of=as_of,
            )
    session.flush()
    counts: dict[str, int] = {}
    for status in session.scalars(select(Renewal.status)):
        counts[status] = counts.get(status, 0) + 1
    return counts
