"""Pure early-warning rules: which threshold a subject has crossed on `as_of`, how severe, which key.

The daily scan may run late, twice, or on two machines at once. Every rule here is therefore a
function of the subject's dates and `as_of` alone, and every alert carries a dedupe key built
from (kind, subject, threshold) that the database keeps unique: raising is "insert if the key is
new", so a repeated or concurrent scan changes nothing.

Threshold per kind (the last part of the dedupe key):

    kind              subject    threshold
    renewal_due       contract   days before the end date it crossed: 90, 60, 30 or 7
    notice_deadline   contract   the lead days (14): one warning per opt-out deadline
    renewal_lapsed    renewal    none: a renewal lapses once
    invoice_overdue   invoice    the dunning level, 1 to 4
    credit_limit      client     the credit limit in minor units: raising the limit re-arms it
    follow_up_due     renewal    the follow-up date as YYYYMMDD (`date_threshold`)
    promise_broken    invoice    the promised payment date as YYYYMMDD (`date_threshold`)
    client_response   client     none: one alert per answer, keyed by the answer's id (not a scan rule)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class AlertKind(StrEnum):
    RENEWAL_DUE = "renewal_due"
    NOTICE_DEADLINE = "notice_deadline"
    RENEWAL_LAPSED = "renewal_lapsed"
    INVOICE_OVERDUE = "invoice_overdue"
    CREDIT_LIMIT = "credit_limit"
    FOLLOW_UP_DUE = "follow_up_due"
    PROMISE_BROKEN = "promise_broken"
    CLIENT_RESPONSE = "client_response"


class SubjectType(StrEnum):
    CONTRACT = "contract"
    RENEWAL = "renewal"
    INVOICE = "invoice"
    CLIENT = "client"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


SUBJECT_OF: dict[AlertKind, SubjectType] = {
    AlertKind.RENEWAL_DUE: SubjectType.CONTRACT,
    AlertKind.NOTICE_DEADLINE: SubjectType.CONTRACT,
    AlertKind.RENEWAL_LAPSED: SubjectType.RENEWAL,
    AlertKind.INVOICE_OVERDUE: SubjectType.INVOICE,
    AlertKind.CREDIT_LIMIT: SubjectType.CLIENT,
    AlertKind.FOLLOW_UP_DUE: SubjectType.RENEWAL,
    AlertKind.PROMISE_BROKEN: SubjectType.INVOICE,
    AlertKind.CLIENT_RESPONSE: SubjectType.CLIENT,
}

RENEWAL_DUE_THRESHOLDS: tuple[int, ...] = (90, 60, 30, 7)
NOTICE_LEAD_DAYS = 14
DUNNING_THRESHOLDS: tuple[int, ...] = (1, 15, 30, 60)
MAX_DUNNING_LEVEL = len(DUNNING_THRESHOLDS)
# A lapse is announced if the scan sees it within this many days of the end date (a scan that
# was down for a while still tells), but a book loaded with old lapses is not flooded.
LAPSE_ANNOUNCE_DAYS = 30
# A follow-up date the scan missed (it was down) is still raised for this many days after it,
# unless someone has logged a newer activity on the renewal meanwhile.
FOLLOW_UP_CATCH_UP_DAYS = 7


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The scan's configurable thresholds (RENEWALS_RENEWAL_THRESHOLDS, RENEWALS_NOTICE_DEADLINE_DAYS,
    RENEWALS_DUNNING_DAYS); the edges build it from the settings."""

    renewal_due: tuple[int, ...] = RENEWAL_DUE_THRESHOLDS
    notice_lead_days: int = NOTICE_LEAD_DAYS
    dunning: tuple[int, ...] = DUNNING_THRESHOLDS


DEFAULT_THRESHOLDS = Thresholds()


def _ascending(thresholds: Iterable[int], *, minimum: int, what: str) -> tuple[int, ...]:
    """Return the thresholds sorted ascending; raise ValueError on a misconfiguration."""
    values = tuple(sorted(thresholds))
    if not values:
        raise ValueError(f"{what} thresholds must not be empty")
    if len(set(values)) != len(values):
        raise ValueError(f"{what} thresholds must not repeat: {values}")
    if values[0] < minimum:
        raise ValueError(f"{what} thresholds must be at least {minimum}: {values}")
    return values


# --------------------------------------------------------------------------------------------
# Renewals and notice deadlines
# --------------------------------------------------------------------------------------------


def renewal_due_threshold(
    end_date: date, as_of: date, thresholds: Iterable[int] = RENEWAL_DUE_THRESHOLDS
) -> int | None:
    """Return the nearest threshold the contract has crossed on `as_of`, or None.

    The answer is the smallest threshold t with days_left ≤ t, where days_left = end − as_of
    (0 on the inclusive end date). With the defaults a contract is in the 90 band from 90 to 61
    days, in the 60 band from 60 to 31, in the 30 band from 30 to 8 and in the 7 band from 7 to 0.
    Run every day, the scan thus sees 90 for thirty days, then 60 for thirty days, and so on;
    the dedupe key turns each band into one alert, in decreasing order. A contract first seen
    at 45 days (or a scan that was down for a fortnight) gets 60 on day 45, nothing new on day
    44 (still 60, same key), 30 on day 30: never the 90 it missed, because a 90-day warning
    45 days out would be stale news. A contract created 20 days before its end gets only 30.

    None before the largest threshold and after the end date (that is `renewal_lapsed` or
    auto-renewal, not a warning). Raises ValueError on empty, repeated or negative thresholds.
    """
    bands = _ascending(thresholds, minimum=0, what="renewal_due")
    days_left = (end_date - as_of).days
    if days_left < 0:
        return None
    return next((threshold for threshold in bands if days_left <= threshold), None)


def opt_out_deadline(end_date: date, notice_period_days: int) -> date:
    """Return the last day a client can still stop an auto-renewal: end date minus notice period."""
    if notice_period_days < 0:
        raise ValueError(f"notice period must not be negative: {notice_period_days}")
    return end_date - timedelta(days=notice_period_days)


def notice_deadline_due(
    end_date: date, notice_period_days: int, as_of: date, lead_days: int = NOTICE_LEAD_DAYS
) -> date | None:
    """Return the opt-out deadline when it is `lead_days` or fewer away and not yet past.

    The window is [deadline − lead_days, deadline], so a scan that runs on any day of it (or a
    contract created inside it) still warns, once, under the key threshold `lead_days`. The
    caller applies it to auto-renew contracts only: for the others there is nothing to opt out.
    """
    if lead_days < 0:
        raise ValueError(f"lead days must not be negative: {lead_days}")
    deadline = opt_out_deadline(end_date, notice_period_days)
    return deadline if 0 <= (deadline - as_of).days <= lead_days else None


# --------------------------------------------------------------------------------------------
# Receivables
# --------------------------------------------------------------------------------------------


def days_past_due(due_date: date, as_of: date) -> int:
    """Count the days an invoice is past due on `as_of`; 0 on and before the due date."""
    return max((as_of - due_date).days, 0)


def dunning_level(due_date: date, as_of: date, thresholds: Iterable[int] = DUNNING_THRESHOLDS) -> int:
    """Return the dunning level, 0 to len(thresholds), from the days past due on `as_of`.

    Level n is reached on the day the invoice is thresholds[n−1] days past due: with the
    defaults level 1 the day after the due date, 2 at 15 days, 3 at 30, 4 at 60. The caller
    applies it only to invoices with a balance and without a hold, and keeps a held invoice at
    the level it had. Raises ValueError on empty, repeated or non-positive thresholds.
    """
    steps = _ascending(thresholds, minimum=1, what="dunning")
    late = days_past_due(due_date, as_of)
    return sum(1 for step in steps if late >= step)


# --------------------------------------------------------------------------------------------
# Severity, dedupe key, alert spec
# --------------------------------------------------------------------------------------------


def severity(kind: str, threshold: int | None = None) -> Severity:
    """Grade an alert so the digest and the today page can put the urgent ones first.

    renewal_due: critical at 7 days or fewer, warning at 30 or fewer, info above;
    invoice_overdue: info at level 1, warning at 2, critical at 3 and 4 (level 3 is where
    renewing needs a manager); renewal_lapsed: critical (revenue already lost);
    notice_deadline, credit_limit, promise_broken, client_response: warning; follow_up_due: info.

    Raises ValueError for an unknown kind, or a missing threshold where the grade needs one.
    """
    alert_kind = AlertKind(kind)
    if alert_kind in (AlertKind.RENEWAL_DUE, AlertKind.INVOICE_OVERDUE):
        if threshold is None:
            raise ValueError(f"{alert_kind.value} needs a threshold to grade")
        if alert_kind is AlertKind.RENEWAL_DUE:
            if threshold <= 7:
                return Severity.CRITICAL
            return Severity.WARNING if threshold <= 30 else Severity.INFO
        if threshold >= 3:
            return Severity.CRITICAL
        return Severity.WARNING if threshold == 2 else Severity.INFO
    if alert_kind is AlertKind.RENEWAL_LAPSED:
        return Severity.CRITICAL
    if alert_kind is AlertKind.FOLLOW_UP_DUE:
        return Severity.INFO
    return Severity.WARNING


def dedupe_key(kind: str, subject_type: str, subject_id: int, threshold: int | None) -> str:
    """Build the stable key the database keeps unique, e.g. `renewal_due:contract:42:30`.

    A missing threshold is written `-` (`renewal_lapsed:renewal:7:-`). The key uses only
    values that never change for one occurrence, so the same cause always maps to the same key.
    """
    part = "-" if threshold is None else str(threshold)
    return f"{AlertKind(kind).value}:{SubjectType(subject_type).value}:{subject_id}:{part}"


# Kinds whose cause can end and come back on the same subject at the same threshold: a client
# falls back under its limit and breaches it again, a paid invoice is reopened by a bounce.
EPISODE_KINDS: frozenset[str] = frozenset({"credit_limit", "invoice_overdue", "promise_broken"})


def episode_key(key: str, episode: int) -> str:
    """Name the episode in a dedupe key: the first keeps the plain key, later ones add `:e<n>`."""
    return key if episode <= 1 else f"{key}:e{episode}"


def date_threshold(day: date) -> int:
    """Encode a date as YYYYMMDD, the threshold of alerts that recur once per date."""
    return day.year * 10000 + day.month * 100 + day.day


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """One alert the scan wants to exist; inserting it is a no-op when its key already does."""

    kind: AlertKind
    subject_type: SubjectType
    subject_id: int
    threshold: int | None
    severity: Severity
    dedupe_key: str

    @classmethod
    def of(cls, kind: str, subject_id: int, threshold: int | None = None) -> AlertSpec:
        """Build the spec for `kind` on its subject type, with severity and key filled in."""
        alert_kind = AlertKind(kind)
        subject_type = SUBJECT_OF[alert_kind]
        return cls(
            kind=alert_kind,
            subject_type=subject_type,
            subject_id=subject_id,
            threshold=threshold,
            severity=severity(alert_kind, threshold),
            dedupe_key=dedupe_key(alert_kind, subject_type, subject_id, threshold),
        )


def renewal_due_alert(
    contract_id: int, end_date: date, as_of: date, thresholds: Iterable[int] = RENEWAL_DUE_THRESHOLDS
) -> AlertSpec | None:
    """Return the renewal_due alert a contract warrants on `as_of`, if any."""
    threshold = renewal_due_threshold(end_date, as_of, thresholds)
    return None if threshold is None else AlertSpec.of(AlertKind.RENEWAL_DUE, contract_id, threshold)


def notice_deadline_alert(
    contract_id: int, end_date: date, notice_period_days: int, as_of: date, lead_days: int = NOTICE_LEAD_DAYS
) -> AlertSpec | None:
    """Return the notice_deadline alert an auto-renew contract warrants on `as_of`, if any."""
    if notice_deadline_due(end_date, notice_period_days, as_of, lead_days) is None:
        return None
    return AlertSpec.of(AlertKind.NOTICE_DEADLINE, contract_id, lead_days)


def invoice_overdue_alert(
    invoice_id: int, due_date: date, as_of: date, thresholds: Iterable[int] = DUNNING_THRESHOLDS
) -> AlertSpec | None:
    """Return the invoice_overdue alert for the invoice's dunning level on `as_of`, if overdue."""
    level = dunning_level(due_date, as_of, thresholds)
    return None if level == 0 else AlertSpec.of(AlertKind.INVOICE_OVERDUE, invoice_id, level)


# --------------------------------------------------------------------------------------------
# The rules as data: what the set-based scan's SQL compares with (`alerts/conditions.py`)
# --------------------------------------------------------------------------------------------


def renewal_due_bands(as_of: date, thresholds: Iterable[int] = RENEWAL_DUE_THRESHOLDS) -> list[tuple[date, int]]:
    """`renewal_due_threshold` as cut-offs on the end date, nearest first: a contract ending on
    or after `as_of` is in the band of the first (last_end_date, threshold) whose date it does
    not pass. Raises ValueError like `renewal_due_threshold`."""
    bands = _ascending(thresholds, minimum=0, what="renewal_due")
    return [(as_of + timedelta(days=threshold), threshold) for threshold in bands]


def dunning_cutoffs(as_of: date, thresholds: Iterable[int] = DUNNING_THRESHOLDS) -> list[tuple[date, int]]:
    """`dunning_level` as cut-offs on the due date, highest level first: an invoice is at the
    level of the first (latest_due_date, level) whose date its due date is on or before.
    Raises ValueError like `dunning_level`."""
    steps = _ascending(thresholds, minimum=1, what="dunning")
    return [(as_of - timedelta(days=step), level) for level, step in reversed(list(enumerate(steps, start=1)))]


def notice_window(as_of: date, lead_days: int = NOTICE_LEAD_DAYS) -> tuple[date, date]:
    """The opt-out deadlines `notice_deadline_due` warns about on `as_of`, inclusive."""
    if lead_days < 0:
        raise ValueError(f"lead days must not be negative: {lead_days}")
    return as_of, as_of + timedelta(days=lead_days)


def lapse_window(as_of: date) -> tuple[date, date]:
    """The end dates of lapsed renewals the scan announces on `as_of`, inclusive."""
    return as_of - timedelta(days=LAPSE_ANNOUNCE_DAYS), as_of


def follow_up_window(as_of: date) -> tuple[date, date]:
    """The follow-up dates the scan raises on `as_of` (today and the catch-up days), inclusive."""
    return as_of - timedelta(days=FOLLOW_UP_CATCH_UP_DAYS), as_of


def severities(kind: str, thresholds: Iterable[int]) -> dict[int, Severity]:
    """`severity` of a graded kind for each of its possible thresholds (renewal_due days or
    dunning levels), for a CASE in SQL."""
    return {threshold: severity(kind, threshold) for threshold in thresholds}
