"""The alert rules as SQL expressions, for the set-based scan.

Each expression is built from the rules' data in `rules` (band cut-offs, dunning cut-offs,
severities, dedupe keys), so the database decides exactly what the pure functions decide for
one row (`tests/integration/test_scan_oracle.py` checks it on generated books). The texts an
alert carries (its message and details) are built here too, so that a row raised in SQL reads
exactly as one built in Python did: amounts in the currency's minor-unit digits, dates as ISO.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from babel.numbers import get_currency_precision
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Exists,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    null,
    select,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import SQLCoreOperations

from renewals.db.models import Alert
from renewals.db.sqlfunc import json_object, zero_padded
from renewals.domain.alerts.rules import (
    EPISODE_KINDS,
    SUBJECT_OF,
    AlertKind,
    dunning_cutoffs,
    renewal_due_bands,
    severities,
)
from renewals.domain.money import CURRENCIES

# The currencies by number of minor-unit digits, for those that do not have two.
_DIGITS: dict[int, list[str]] = {}
for _code in sorted(CURRENCIES):
    _digits = int(get_currency_precision(_code))
    if _digits != 2:
        _DIGITS.setdefault(_digits, []).append(_code)

# A column or expression: a mapped attribute or a Core element.
Sql = SQLCoreOperations[Any]

# The columns `store.raise_selected` inserts, in the order `alert_columns` yields them.
ALERT_COLUMNS: tuple[str, ...] = (
    "kind",
    "subject_type",
    "subject_id",
    "threshold",
    "severity",
    "assignee_id",
    "informed_id",
    "client_id",
    "status",
    "raised_on",
    "dedupe_key",
    "message",
    "details",
)


def day(value: date) -> ColumnElement[date]:
    """A date as a typed SQL value."""
    return literal(value, Date)


def constant(text: str) -> ColumnElement[str]:
    """A constant string written into the statement (no parameter: PostgreSQL must know its type)."""
    if "%" in text:
        raise ValueError(f"no % in a constant: {text!r}")
    return literal_column("'" + text.replace("'", "''") + "'", Text)


def text_of(*parts: Any) -> ColumnElement[str]:
    """Concatenate text: Python strings are constants, expressions are cast to text."""
    pieces = [constant(p) if isinstance(p, str) else cast(p, Text) for p in parts]
    joined = pieces[0]
    for piece in pieces[1:]:
        joined = joined + piece
    return joined


def or_none(value: Sql) -> ColumnElement[str]:
    """A nullable value as Python's f-string shows it: `None` when NULL."""
    return func.coalesce(cast(value, Text), literal("None", Text))


def json_of(*pairs: Any) -> ColumnElement[Any]:
    """A JSON object from alternating constant keys and SQL values, in the order given."""
    return json_object(*(constant(p) if i % 2 == 0 else p for i, p in enumerate(pairs)))


def money_text(minor: Sql, currency: Sql) -> ColumnElement[str]:
    """A non-negative amount in minor units as `money.from_minor` prints it (`1234.50`, `5000`)."""
    minor = cast(minor, BigInteger)  # a SUM is NUMERIC on PostgreSQL: keep integer division

    def shown(digits: int) -> ColumnElement[str]:
        if digits == 0:
            return cast(minor, Text)
        unit = 10**digits
        return text_of(minor // unit, ".", zero_padded(cast(minor % unit, Text), literal_column(str(digits))))

    return case(
        *((currency.in_(codes), shown(digits)) for digits, codes in sorted(_DIGITS.items())),
        else_=shown(2),
    )


def renewal_band(end_date: Sql, as_of: date, thresholds: tuple[int, ...]) -> ColumnElement[int]:
    """`rules.renewal_due_threshold` of the end date on `as_of`: the band, or NULL."""
    return case(
        (end_date < day(as_of), null()),
        *(
            (end_date <= day(cut), literal(threshold, BigInteger))
            for cut, threshold in renewal_due_bands(as_of, thresholds)
        ),
        else_=null(),
    )


def dunning_of(due_date: Sql, as_of: date, thresholds: tuple[int, ...]) -> ColumnElement[int]:
    """`rules.dunning_level` of the due date on `as_of`: 0 to the number of thresholds."""
    return case(
        *((due_date <= day(cut), literal(level)) for cut, level in dunning_cutoffs(as_of, thresholds)),
        else_=literal(0),
    )


def severity_of(kind: AlertKind, threshold: Sql, thresholds: tuple[int, ...]) -> ColumnElement[str]:
    """`rules.severity` of a graded kind for the threshold in the row."""
    graded = severities(kind, thresholds)
    return case(*((threshold == t, literal(s.value)) for t, s in graded.items()), else_=null())


def dedupe_key_of(kind: AlertKind, subject_id: Sql, threshold: Sql | None) -> Any:
    """`rules.dedupe_key`, numbered by episode (`rules.episode_key`) for the kinds that come back:
    one more than the episodes of the same kind, subject and threshold that ended (`ended_on`
    set, by the scan, an event, or after a resolution by hand), so a cause that ends and comes
    back is warned about again under a new key."""
    subject_type = SUBJECT_OF[kind]
    part: Any = "-" if threshold is None else threshold
    key = text_of(f"{kind.value}:{subject_type.value}:", subject_id, ":", part)
    if kind not in EPISODE_KINDS or threshold is None:
        return key
    earlier = aliased(Alert)
    ended = (
        select(func.count())
        .where(
            earlier.kind == kind.value,
            earlier.subject_type == subject_type.value,
            earlier.subject_id == subject_id,
            earlier.threshold == threshold,
            earlier.ended_on.is_not(None),
        )
        .scalar_subquery()
    )
    return key + case((ended == 0, constant("")), else_=text_of(":e", ended + 1))


def standing(kind: AlertKind, subject_id: Sql, threshold: Sql | None) -> Exists:
    """There is already an alert of this kind, subject and threshold whose key the scan would
    raise: any such alert, or for the kinds that come back one whose episode has not ended.

    The scan raises only where this is false, so a standing alert is never offered again; the
    unique dedupe key still guards against a concurrent scan."""
    other = aliased(Alert)
    where = [
        other.subject_type == SUBJECT_OF[kind].value,
        other.subject_id == subject_id,
        other.kind == kind.value,
        other.threshold.is_(None) if threshold is None else other.threshold == threshold,
    ]
    if kind in EPISODE_KINDS:
        where.append(other.ended_on.is_(None))
    return exists().where(and_(*where))


@dataclass(frozen=True, slots=True)
class Said:
    """What a new alert says: its threshold (part of the key), severity, message and details."""

    threshold: Sql | None
    severity: Sql | str
    message: Sql
    details: Sql


def alert_columns(
    kind: AlertKind,
    as_of: date,
    said: Said,
    *,
    subject_id: Sql,
    assignee_id: Sql | int | None,
    informed_id: Sql | int | None,
    client_id: Sql,
) -> list[Any]:
    """The SELECT list of a new open alert raised on `as_of`, in `ALERT_COLUMNS` order."""
    threshold, severity = said.threshold, said.severity

    def value(v: Any) -> Any:
        return null() if v is None else literal(v, BigInteger) if isinstance(v, int) else v

    return [
        constant(kind.value),
        constant(SUBJECT_OF[kind].value),
        subject_id,
        null() if threshold is None else threshold,
        constant(severity) if isinstance(severity, str) else severity,
        value(assignee_id),
        value(informed_id),
        client_id,
        constant("open"),
        day(as_of),
        dedupe_key_of(kind, subject_id, threshold),
        said.message,
        said.details,
    ]
