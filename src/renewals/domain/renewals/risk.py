"""The stored risk score of each renewal: `rules.risk_score` computed in SQL, set-based.

`renewals.risk_score` orders the worklist (`sort=risk`) through an index, so it is kept up to
date rather than computed when the list is read:

* the daily scan refreshes every open renewal once the day's dunning levels are set
  (`refresh_all`, called from `daily.scan.finish`), since days left, what is overdue and days of
  silence move with the calendar;
* the events that change an input refresh the renewals they touch between scans, with the
  event's day: a payment or its reversal, a credit note or write-off (the client's overdue
  balance and dunning level), an activity (silence), a transition (a decided renewal scores 0),
  a contract edit (monthly value, end date) and a renewal record opened (`refresh_client`,
  `refresh_contract`, `refresh_renewal`).

The SQL is the rule's arithmetic in integers, so it equals `rules.risk_score` exactly (the tests
hold the stored score against the pure rule after each kind of event). With the inputs

    a = clamp(180 − days_left, 0, 180)      urgency × 180
    l = clamp(dunning_level, 0, 4)          dunning × 4
    t = clamp(days of silence, 0, 60)       silence × 60 (no activity: 60)
    X = 7a + 225l + 9t                      36 × (35·urgency + 25·dunning + 15·silence)

and the overdue part 25 × min(overdue / monthly, 3) / 3 = (300/36) × c / m with
c = min(overdue, 3m), the score rounded half-up is floor((36 × total + 18) / 36), that is

    (m × (2X + 36) + 600c) div (72m)

(no overdue: c = 0, m = 1; an overdue balance on a contract worth nothing: c = 3, m = 1).
Days of silence count local calendar days in the service's time zone: the last activity's
instant is compared with the start of each of the 60 days before `as_of`, computed here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, Integer, and_, case, cast, func, literal, or_, select, update
from sqlalchemy.orm import QueryableAttribute, Session

from renewals.db.models import Activity, Contract, Invoice, Renewal
from renewals.db.types import UTCDateTime
from renewals.domain.receivables.queries import unpaid
from renewals.domain.renewals.rules import (
    MAX_DUNNING_LEVEL,
    OPEN_STATUSES,
    RISK_HORIZON_DAYS,
    RISK_OVERDUE_CAP_MONTHS,
    RISK_SILENCE_CAP_DAYS,
)

_CAP = int(RISK_OVERDUE_CAP_MONTHS)


def _clamp(value: ColumnElement[Any], low: int, high: int) -> ColumnElement[int]:
    return case((value < low, low), (value > high, high), else_=value)


def days_until(
    session: Session, day: ColumnElement[date] | QueryableAttribute[date], as_of: date
) -> ColumnElement[int]:
    """Whole days from `as_of` to the date column `day` (negative once it has passed)."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.julianday(day) - func.julianday(literal(as_of.isoformat())), Integer)
    return cast(day - literal(as_of), Integer)


def day_starts(as_of: date, tz: str) -> list[datetime]:
    """The instants (UTC) at which `as_of` and each of the 60 days before it begin in `tz`."""
    zone = ZoneInfo(tz)
    return [
        datetime.combine(as_of - timedelta(days=k), time(), zone).astimezone(UTC) for k in range(RISK_SILENCE_CAP_DAYS)
    ]


def silence_days(last_at: ColumnElement[datetime], as_of: date, tz: str) -> ColumnElement[int]:
    """Days of silence since `last_at` as `rules.risk_score` counts them, capped at 60 (also when
    there was no activity at all)."""
    starts = [literal(start, UTCDateTime()) for start in day_starts(as_of, tz)]
    whens = [(last_at >= start, k) for k, start in enumerate(starts)]
    return case(*whens, else_=RISK_SILENCE_CAP_DAYS)


def score(
    days_left: ColumnElement[int],
    overdue_minor: ColumnElement[int],
    monthly_minor: ColumnElement[int],
    level: ColumnElement[int],
    silent: ColumnElement[int],
) -> ColumnElement[int]:
    """`rules.risk_score` as an integer SQL expression over its inputs (see the module notes)."""
    x = (
        7 * _clamp(RISK_HORIZON_DAYS - days_left, 0, RISK_HORIZON_DAYS)
        + 225 * _clamp(level, 0, MAX_DUNNING_LEVEL)
        + 9 * silent
    )
    base = 2 * x + 36
    # Integers throughout: PostgreSQL's SUM of a bigint is numeric, and a numeric quotient
    # would be rounded, not truncated, into the smallint column.
    owed = cast(func.coalesce(overdue_minor, 0), BigInteger)
    monthly = cast(monthly_minor, BigInteger)
    capped = case((owed > _CAP * monthly, _CAP * monthly), else_=owed)
    return case(
        (owed <= 0, base // 72),
        (monthly <= 0, (base + 600 * _CAP) // 72),
        else_=(monthly * base + 600 * capped) // (72 * monthly),
    )


def _refresh(session: Session, as_of: date, tz: str, where: ColumnElement[bool], invoices: ColumnElement[bool]) -> int:
    """Set the risk score of the renewals matching `where` (joined to their contract); `invoices`
    narrows the invoices read to the same clients. One UPDATE … FROM; return the rows changed."""
    overdue = (
        select(Invoice.client_id, Invoice.currency, func.sum(Invoice.balance_minor).label("minor"))
        .where(invoices, unpaid(), Invoice.due_date < as_of)
        .group_by(Invoice.client_id, Invoice.currency)
        .subquery("overdue")
    )
    levels = (
        select(Invoice.client_id, func.max(Invoice.dunning_level).label("level"))
        .where(invoices, unpaid())
        .group_by(Invoice.client_id)
        .subquery("levels")
    )
    last = (
        select(Activity.renewal_id, func.max(Activity.at).label("at"))
        .join(Renewal, Renewal.id == Activity.renewal_id)
        .join(Contract, Contract.id == Renewal.contract_id)
        .where(where)
        .group_by(Activity.renewal_id)
        .subquery("last")
    )
    inputs = (
        select(
            Renewal.id.label("id"),
            Renewal.status.label("status"),
            days_until(session, Renewal.end_date, as_of).label("days_left"),
            overdue.c.minor.label("overdue"),
            Contract.monthly_value_minor.label("monthly"),
            func.coalesce(levels.c.level, 0).label("level"),
            last.c.at.label("last_at"),
        )
        .join(Contract, Contract.id == Renewal.contract_id)
        .outerjoin(overdue, and_(overdue.c.client_id == Contract.client_id, overdue.c.currency == Contract.currency))
        .outerjoin(levels, levels.c.client_id == Contract.client_id)
        .outerjoin(last, last.c.renewal_id == Renewal.id)
        .where(where)
        .subquery("inputs")
    )
    scored = select(
        inputs.c.id,
        case(
            (
                inputs.c.status.in_(OPEN_STATUSES),
                score(
                    inputs.c.days_left,
                    inputs.c.overdue,
                    inputs.c.monthly,
                    inputs.c.level,
                    silence_days(inputs.c.last_at, as_of, tz),
                ),
            ),
            else_=0,
        ).label("score"),
    ).subquery("scored")
    result = session.execute(
        update(Renewal)
        .where(Renewal.id == scored.c.id, Renewal.risk_score != scored.c.score)
        .values(risk_score=scored.c.score)
        .execution_options(synchronize_session=False)
    )
    changed = max(int(getattr(result, "rowcount", 0) or 0), 0)
    if changed:
        for obj in list(session.identity_map.values()):
            if isinstance(obj, Renewal):
                session.expire(obj, ["risk_score"])
    return changed


def refresh_all(session: Session, as_of: date, tz: str = "UTC") -> int:
    """Refresh every open renewal, and zero any decided one still scored (the daily scan)."""
    where = or_(Renewal.status.in_(OPEN_STATUSES), Renewal.risk_score != 0)
    return _refresh(session, as_of, tz, where, literal(True))


def refresh_client(session: Session, client_id: int, as_of: date, tz: str = "UTC") -> int:
    """Refresh the renewals of one client's contracts (its receivables changed)."""
    return _refresh(session, as_of, tz, Contract.client_id == client_id, Invoice.client_id == client_id)


def refresh_contract(session: Session, contract_id: int, as_of: date, tz: str = "UTC") -> int:
    """Refresh the renewal of one contract (its value or end date changed, or its record opened)."""
    client_id = select(Contract.client_id).where(Contract.id == contract_id).scalar_subquery()
    return _refresh(session, as_of, tz, Contract.id == contract_id, Invoice.client_id == client_id)


def refresh_renewal(session: Session, renewal_id: int, as_of: date, tz: str = "UTC") -> int:
    """Refresh one renewal (an activity was logged on it, or it moved to another state)."""
    client_id = (
        select(Contract.client_id)
        .join(Renewal, Renewal.contract_id == Contract.id)
        .where(Renewal.id == renewal_id)
        .scalar_subquery()
    )
    return _refresh(session, as_of, tz, Renewal.id == renewal_id, Invoice.client_id == client_id)
