"""Guarded time travel: a run for a day far ahead changes years of the book, and cannot be undone.

A scan auto-renews, lapses and churns as of its day; a billing run issues every invoice up to
its day. Run for a date far in the future by mistake (a typo in the year), either would write
effects nobody can take back. So a day more than `max_days_ahead` past today is refused, unless
an admin asks for it on purpose with `force`. A dry run may look at any day: it writes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta

from renewals.db.models import User
from renewals.errors import Forbidden, ValidationFailed

DEFAULT_MAX_DAYS_AHEAD = 31


def check_run_day(
    day: date,
    today: date,
    actor: User | None,
    *,
    field: str,
    force: bool = False,
    dry_run: bool = False,
    max_days_ahead: int = DEFAULT_MAX_DAYS_AHEAD,
) -> None:
    """Raise ValidationFailed (naming `field`) for a day too far ahead without `force`, and
    Forbidden when someone other than an admin (or the command line, `actor` None) forces it."""
    if dry_run or day <= today + timedelta(days=max_days_ahead):
        return
    if not force:
        raise ValidationFailed(
            field,
            f"{day.isoformat()} is more than {max_days_ahead} days after today ({today.isoformat()}); "
            "try it with dry_run first, and an admin may run it with force",
        )
    if actor is not None and actor.role != "admin":
        raise Forbidden("only an admin may force a run more than a month ahead")
