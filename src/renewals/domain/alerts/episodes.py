"""Episodes of a warning: a cause that ends and comes back is warned about again.

An alert's episode ends on the day the scan (or an event: a payment, a credit note) sees its
cause gone; ``ended_on`` records it, also on an alert a person had already resolved by hand
(resolving by hand says "dealt with", not "the client is back under its limit"). For the kinds
in ``EPISODE_KINDS`` the next alert on the same subject and threshold is numbered after the
episodes that ended: its dedupe key names the episode, so raising stays "insert unless the key
exists" and a repeated or concurrent scan still raises each episode once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from renewals.db.models import Alert
from renewals.domain.alerts.rules import EPISODE_KINDS, episode_key


def number_episodes(session: Session, rows: list[dict[str, Any]]) -> None:
    """Give each alert row of an episode kind the dedupe key of its subject's current episode.

    One grouped query over the rows' subjects (a chunk's worth at most).
    """
    wanted = [row for row in rows if row["kind"] in EPISODE_KINDS]
    if not wanted:
        return
    subjects = sorted({row["subject_id"] for row in wanted})
    ended = {
        (kind, subject_type, subject_id, threshold): n
        for kind, subject_type, subject_id, threshold, n in session.execute(
            select(Alert.kind, Alert.subject_type, Alert.subject_id, Alert.threshold, func.count())
            .where(
                Alert.kind.in_(sorted({row["kind"] for row in wanted})),
                Alert.subject_id.in_(subjects),
                Alert.ended_on.is_not(None),
            )
            .group_by(Alert.kind, Alert.subject_type, Alert.subject_id, Alert.threshold)
        )
    }
    for row in wanted:
        done = ended.get((row["kind"], row["subject_type"], row["subject_id"], row["threshold"]), 0)
        row["dedupe_key"] = episode_key(row["dedupe_key"], done + 1)


def end_episodes(session: Session, ids: Sequence[int], as_of: date) -> None:
    """Record that the causes of these alerts were gone on `as_of` (those not ended already)."""
    if ids:
        session.execute(
            update(Alert)
            .where(Alert.id.in_(sorted(ids)), Alert.ended_on.is_(None))
            .values(ended_on=as_of)
            .execution_options(synchronize_session=False)
        )
