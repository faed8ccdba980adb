"""Pure renewal rules: which state may follow which, how risky a renewal is, who may renew, new terms.

Nothing here reads the clock, a session or the network: every date comes in as an argument, so
the daily scan and the API reach the same decision for the same inputs on any day they replay.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from dateutil.relativedelta import relativedelta

from renewals.domain.money import check_currency, round_money
from renewals.errors import Conflict, Forbidden, ValidationFailed

# --------------------------------------------------------------------------------------------
# States and transitions
# --------------------------------------------------------------------------------------------


class RenewalStatus(StrEnum):
    UPCOMING = "upcoming"
    CONTACTED = "contacted"
    PROPOSAL_SENT = "proposal_sent"
    AWAITING_SIGNATURE = "awaiting_signature"
    RENEWED = "renewed"
    LOST = "lost"
    AUTO_RENEWED = "auto_renewed"
    LAPSED = "lapsed"


# Renewal records open this many days before the contract's end (RENEWALS_RENEWAL_HORIZON_DAYS).
DEFAULT_HORIZON_DAYS = 180

# The open states in pipeline order: a renewal moves down this list, never up it (one exception below).
PIPELINE: tuple[RenewalStatus, ...] = (
    RenewalStatus.UPCOMING,
    RenewalStatus.CONTACTED,
    RenewalStatus.PROPOSAL_SENT,
    RenewalStatus.AWAITING_SIGNATURE,
)
OPEN_STATES: frozenset[RenewalStatus] = frozenset(PIPELINE)
# The same open states as stored strings, for SQL filters.
OPEN_STATUSES: tuple[str, ...] = tuple(state.value for state in PIPELINE)
CLOSED_STATES: frozenset[RenewalStatus] = frozenset(
    {RenewalStatus.RENEWED, RenewalStatus.LOST, RenewalStatus.AUTO_RENEWED, RenewalStatus.LAPSED}
)
# Closed states only the daily scan may set: a person decides `renewed` or `lost`, the calendar
# decides `auto_renewed` and `lapsed`.
SYSTEM_STATES: frozenset[RenewalStatus] = frozenset({RenewalStatus.AUTO_RENEWED, RenewalStatus.LAPSED})

# The one step back: a client who refuses the paper at signature stage asks for a revised
# proposal, and the renewal waits on the client's answer again rather than on a signature.
_STEPS_BACK: dict[RenewalStatus, tuple[RenewalStatus, ...]] = {
    RenewalStatus.AWAITING_SIGNATURE: (RenewalStatus.PROPOSAL_SENT,),
}


class IllegalTransition(Conflict):
    """A requested state change the renewal's current state does not allow (409).

    `extra` carries `{"to": message, "allowed": [states in pipeline order]}` so the client can
    offer the legal moves instead of guessing.
    """

    def __init__(self, current: RenewalStatus, to: str, allowed: Sequence[RenewalStatus]) -> None:
        if current in CLOSED_STATES:
            message = f"renewal is {current.value}, a closed state; it cannot change any more"
        elif to in SYSTEM_STATES:
            message = f"{to} is set only by the daily scan, not by hand"
        elif to == current:
            message = f"renewal is already {current.value}"
        else:
            message = f"cannot move a renewal from {current.value} to {to}"
        super().__init__(
            f"Illegal transition: {message}",
            extra={"to": message, "allowed": [state.value for state in allowed]},
        )
        self.current = current
        self.to = to
        self.allowed = tuple(allowed)


def parse_status(value: str, field: str = "to") -> RenewalStatus:
    """Return the status named by `value`; raise ValidationFailed (422) naming `field` if unknown."""
    try:
        return RenewalStatus(value)
    except ValueError:
        known = ", ".join(state.value for state in RenewalStatus)
        raise ValidationFailed(field, f"unknown renewal status {value!r}; one of {known}") from None


def allowed_transitions(current: str, *, by_system: bool = False) -> tuple[RenewalStatus, ...]:
    """List the states reachable from `current`, in pipeline order.

    Allow an open renewal to skip forward (a client who answers the first call with a signed
    order goes straight to `renewed`), to step back from `awaiting_signature` to
    `proposal_sent` (revised proposal), and to end as `lost` from any open state. Closed states
    are final: a lost client won back is a new contract, not a reopened renewal. Only the
    system (`by_system=True`) may also close an open renewal as `auto_renewed` or `lapsed`.

    Raises ValidationFailed for an unknown `current`.
    """
    state = parse_status(current, field="status")
    if state in CLOSED_STATES:
        return ()
    position = PIPELINE.index(state)
    targets = [*_STEPS_BACK.get(state, ()), *PIPELINE[position + 1 :], RenewalStatus.RENEWED]
    targets.append(RenewalStatus.LOST)
    if by_system:
        targets.extend((RenewalStatus.AUTO_RENEWED, RenewalStatus.LAPSED))
    rank = {status: index for index, status in enumerate(RenewalStatus)}
    return tuple(sorted(targets, key=rank.__getitem__))


def check_transition(current: str, to: str, *, by_system: bool = False) -> RenewalStatus:
    """Return the target status if `current` → `to` is allowed.

    Raises ValidationFailed (422) when `to` names no status, IllegalTransition (409, with the
    allowed targets) when the move is not allowed — including staying in the same state.
    """
    state = parse_status(current, field="status")
    target = parse_status(to)
    allowed = allowed_transitions(state, by_system=by_system)
    if target not in allowed:
        raise IllegalTransition(state, target.value, allowed)
    return target


def is_open(status: str) -> bool:
    return parse_status(status, field="status") in OPEN_STATES


def scan_outcome(
    status: str, *, end_date: date, as_of: date, auto_renew: bool, terminated: bool
) -> RenewalStatus | None:
    """Decide what the daily scan does with a renewal: `auto_renewed`, `lapsed`, or nothing.

    Act only from the day after the (inclusive) end date, and only on open renewals: a renewal
    that is `renewed` or `lost` already carries its decision, which is what makes auto-renewal
    happen exactly once. A terminated contract is never auto-renewed; its open renewal lapses.
    """
    state = parse_status(status, field="status")
    if state not in OPEN_STATES or as_of <= end_date:
        return None
    if auto_renew and not terminated:
        return RenewalStatus.AUTO_RENEWED
    return RenewalStatus.LAPSED


# --------------------------------------------------------------------------------------------
# Risk score
# --------------------------------------------------------------------------------------------

RISK_HORIZON_DAYS = 180
RISK_OVERDUE_CAP_MONTHS = Decimal(3)
RISK_SILENCE_CAP_DAYS = 60
MAX_DUNNING_LEVEL = 4
_W_DAYS = Decimal(35)
_W_OVERDUE = Decimal(25)
_W_DUNNING = Decimal(25)
_W_SILENCE = Decimal(15)


def overdue_ratio(overdue_balance: Decimal, monthly_value: Decimal) -> Decimal:
    """Express an overdue balance in months of the contract's value, so risk is currency-free.

    Both amounts must be in the same currency. A contract with no monthly value but an overdue
    balance counts as fully at risk (the cap); a credit (negative balance) counts as nothing.
    """
    if overdue_balance <= 0:
        return Decimal(0)
    if monthly_value <= 0:
        return RISK_OVERDUE_CAP_MONTHS
    return overdue_balance / monthly_value


def risk_score(
    days_left: int,
    overdue_ratio: Decimal,
    dunning_level: int,
    days_since_last_activity: int | None,
) -> int:
    """Score a renewal's risk from 0 (safe) to 100 (about to be lost), to order the worklist.

    The score is a weighted sum of four parts, each scaled to 0..1, rounded half-up:

        35 × urgency   urgency = clamp((180 − days_left) / 180): 0 at 180 days or more before the
                       end (the renewal horizon), 1 on the end date and after
        25 × overdue   overdue = min(overdue_ratio, 3) / 3, where overdue_ratio is the overdue
                       balance in months of the contract's monthly value (see `overdue_ratio`);
                       three months or more owed counts fully, whatever the currency
        25 × dunning   dunning = clamp(dunning_level, 0, 4) / 4
        15 × silence   silence = min(days_since_last_activity, 60) / 60; no activity at all
                       (None) counts as 60 days of silence, since nobody has talked to the client

    Time pressure weighs most because a renewal noticed late is the pain this service removes;
    money owed and dunning weigh equally (the first is the size, the second the age of the debt);
    silence weighs least because it only matters when something else is wrong. Out-of-range
    inputs are clamped, never rejected: a score orders a list, it does not validate data.
    """
    urgency = min(max(Decimal(RISK_HORIZON_DAYS - days_left) / RISK_HORIZON_DAYS, Decimal(0)), Decimal(1))
    overdue = min(max(overdue_ratio, Decimal(0)), RISK_OVERDUE_CAP_MONTHS) / RISK_OVERDUE_CAP_MONTHS
    dunning = Decimal(min(max(dunning_level, 0), MAX_DUNNING_LEVEL)) / MAX_DUNNING_LEVEL
    silent_days = RISK_SILENCE_CAP_DAYS if days_since_last_activity is None else days_since_last_activity
    silence = Decimal(min(max(silent_days, 0), RISK_SILENCE_CAP_DAYS)) / RISK_SILENCE_CAP_DAYS
    total = _W_DAYS * urgency + _W_OVERDUE * overdue + _W_DUNNING * dunning + _W_SILENCE * silence
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --------------------------------------------------------------------------------------------
# Permission to renew a client in dunning
# --------------------------------------------------------------------------------------------

MANAGER_OVERRIDE_LEVEL = 3
_RENEWING_ROLES = frozenset({"admin", "manager", "account_manager"})
_UNRESTRICTED_ROLES = frozenset({"admin", "manager"})


def needs_manager_override(dunning_level: int) -> bool:
    """Tell whether renewing a client this deep in dunning needs a manager or a stated reason."""
    return dunning_level >= MANAGER_OVERRIDE_LEVEL


def check_renewal_permission(dunning_level: int, role: str, override_reason: str | None) -> bool:
    """Allow or refuse renewing a client at its highest dunning level; return True on an override.

    Managers and admins may always renew. An account manager may renew a client at dunning
    level 3 or above only with a non-blank override reason; the True result tells the service
    to write that reason to the audit log. Finance and unknown roles never renew.

    Raises Forbidden (403) with the reason in the message and `extra["override_reason"]`.
    """
    if role not in _RENEWING_ROLES:
        raise Forbidden(f"The {role} role cannot renew contracts", extra={"role": "cannot renew"})
    if role in _UNRESTRICTED_ROLES or not needs_manager_override(dunning_level):
        return False
    if override_reason is None or not override_reason.strip():
        raise Forbidden(
            f"Renewing a client at dunning level {dunning_level} needs a manager, or an "
            "override_reason from the account manager (it goes to the audit log)",
            extra={"override_reason": f"required at dunning level {MANAGER_OVERRIDE_LEVEL} or above"},
        )
    return True


# --------------------------------------------------------------------------------------------
# New terms
# --------------------------------------------------------------------------------------------

MIN_TERM_MONTHS = 1
# The same bounds a contract's own renewal_term_months and renewal_uplift_pct accept, so the
# auto-renewal of any stored contract can never fail validation in the daily scan.
MAX_TERM_MONTHS = 120
MIN_UPLIFT_PCT = Decimal(-100)
MAX_UPLIFT_PCT = Decimal(100)


@dataclass(frozen=True, slots=True)
class TermLine:
    description: str
    quantity: Decimal
    monthly_unit_price: Decimal


@dataclass(frozen=True, slots=True)
class RenewalTerms:
    start_date: date
    end_date: date
    currency: str
    uplift_pct: Decimal
    lines: tuple[TermLine, ...]

    @property
    def monthly_value(self) -> Decimal:
        """Sum of quantity × monthly unit price, rounded to the currency's minor unit."""
        total = sum((line.quantity * line.monthly_unit_price for line in self.lines), Decimal(0))
        return round_money(total, self.currency)


def term_end(start: date, term_months: int) -> date:
    """Return the inclusive end of a term of `term_months` anchored on `start`.

    The end is the day before start + term months, with the anniversary clamped to the month's
    last day — the same anchoring the billing schedule uses, so the last billing period of the
    term is whole: a term starting 31 January for one month ends 27 February (the next anchor is
    28 February), a twelve-month term starting 29 February 2024 ends 27 February 2025.
    """
    return start + relativedelta(months=term_months) - timedelta(days=1)


def uplifted_price(price: Decimal, uplift_pct: Decimal, currency: str) -> Decimal:
    """Return price × (1 + uplift / 100), rounded half-up to the currency's minor unit."""
    return round_money(price * (1 + uplift_pct / 100), currency)


def renewal_terms(
    old_end: date,
    term_months: int | None,
    uplift_pct: Decimal,
    lines: Iterable[TermLine],
    *,
    currency: str,
    new_end: date | None = None,
) -> RenewalTerms:
    """Compute the successor term: it starts the day after `old_end` and runs for the term.

    Give either `term_months` (1–120; the end follows `term_end`) or an explicit `new_end` no
    later than 120 months on, not both. Explicit new prices are given as `lines` with
    `uplift_pct` 0. Uplift lies in [−100, 100] % to catch typos such as "500" for 5.00 %; a
    bigger change is a new price list, given as explicit prices.

    Raises ValidationFailed (422) naming `term_months`, `new_end`, `uplift_pct`, `currency` or
    `lines`.
    """
    check_currency(currency)
    start = old_end + timedelta(days=1)
    if term_months is not None and new_end is not None:
        raise ValidationFailed("term_months", "give either term_months or new_end, not both")
    if new_end is not None:
        latest = term_end(start, MAX_TERM_MONTHS)
        if not start <= new_end <= latest:
            raise ValidationFailed("new_end", f"must fall between {start.isoformat()} and {latest.isoformat()}")
        end = new_end
    elif term_months is None:
        raise ValidationFailed("term_months", "give either term_months or new_end")
    elif isinstance(term_months, bool) or not MIN_TERM_MONTHS <= term_months <= MAX_TERM_MONTHS:
        raise ValidationFailed("term_months", f"must be a whole number from {MIN_TERM_MONTHS} to {MAX_TERM_MONTHS}")
    else:
        end = term_end(start, term_months)
    if not uplift_pct.is_finite() or not MIN_UPLIFT_PCT <= uplift_pct <= MAX_UPLIFT_PCT:
        raise ValidationFailed("uplift_pct", f"must be a percentage between {MIN_UPLIFT_PCT} and {MAX_UPLIFT_PCT}")
    new_lines = tuple(
        TermLine(
            description=line.description,
            quantity=line.quantity,
            monthly_unit_price=uplifted_price(line.monthly_unit_price, uplift_pct, currency),
        )
        for line in lines
    )
    if not new_lines:
        raise ValidationFailed("lines", "a renewed contract needs at least one line")
    return RenewalTerms(start_date=start, end_date=end, currency=currency, uplift_pct=uplift_pct, lines=new_lines)
