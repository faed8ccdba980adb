"""Renewal services: open records within the horizon, move them through the state machine,
renew into successor contracts, log activities, and the daily scan's set-based steps.

Decisions come from `rules` (pure); this module loads, persists and audits. Nothing here reads
the clock or commits: `as_of` comes from the edge, and the caller's unit of work commits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import Select, Table, and_, case, exists, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session, selectinload

from renewals.clock import now
from renewals.db.dialect import insert_ignoring_conflicts
from renewals.db.models import Activity, Client, Contract, ContractLine, Invoice, Renewal, User
from renewals.domain import money
from renewals.domain.access.rules import WRITE_CLIENTS, can_see_client, require_role, scope_clients
from renewals.domain.alerts.scan import resolve_for_contract
from renewals.domain.audit import AuditRow, record, record_many
from renewals.domain.clients.service import refresh_tier_and_status
from renewals.domain.contracts import rules as contract_rules
from renewals.domain.contracts.service import snapshot as contract_snapshot
from renewals.domain.pagination import check_window
from renewals.domain.renewals import rules
from renewals.domain.renewals.rules import RenewalStatus
from renewals.domain.renewals.schemas import (
    ActivityIn,
    ActivityOut,
    RenewalOut,
    RenewalPatch,
    TransitionIn,
)
from renewals.errors import Conflict, NotFound, StaleVersion, ValidationFailed

OPEN = tuple(state.value for state in rules.PIPELINE)
OPEN_INVOICE_STATUSES = ("open", "partially_paid")
CHUNK = 500
DEFAULT_HORIZON_DAYS = 180
# An auto-renewed successor keeps the same number with a term suffix: CT-7 → CT-7-R1 → CT-7-R2.
_SUFFIX = re.compile(r"^(?P<base>.+)-R(?P<n>\d+)$")
_NUMBER_MAX = 50


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Receivables:
    open_minor: int = 0
    overdue_minor: int = 0


@dataclass(frozen=True, slots=True)
class _Row:
    renewal: Renewal
    contract_number: str
    currency: str
    monthly_value_minor: int
    auto_renew: bool
    client_id: int
    client_name: str


def _base_select() -> Select[Any]:
    stmt = (
        select(
            Renewal,
            Contract.number,
            Contract.currency,
            Contract.monthly_value_minor,
            Contract.auto_renew,
            Client.id,
            Client.name,
        )
        .join(Contract, Contract.id == Renewal.contract_id)
        .join(Client, Client.id == Contract.client_id)
    )
    return cast("Select[Any]", stmt)


def _rows(result: Iterable[Any]) -> list[_Row]:
    return [_Row(*row) for row in result]


def get_visible_renewal(
    session: Session, user: User, renewal_id: int, *, for_update: bool = False
) -> tuple[Renewal, Contract, Client]:
    """Load a renewal with its contract and client. Raises NotFound unless the user may see the client."""
    stmt = (
        select(Renewal, Contract, Client)
        .join(Contract, Contract.id == Renewal.contract_id)
        .join(Client, Client.id == Contract.client_id)
        .where(Renewal.id == renewal_id)
    )
    if for_update:
        stmt = stmt.with_for_update(of=Renewal)
    row = session.execute(stmt).first()
    if row is None or not can_see_client(user, row[2]):
        raise NotFound("renewal", renewal_id)
    return row[0], row[1], row[2]


def receivables_for(
    session: Session, keys: Iterable[tuple[int, str]], as_of: date
) -> tuple[dict[tuple[int, str], Receivables], dict[int, int]]:
    """Sum open and overdue balances per (client, currency) and the highest dunning level per client.

    One grouped query for the whole set. Overdue means due before `as_of` with a balance left.
    """
    wanted = set(keys)
    client_ids = {client_id for client_id, _ in wanted}
    if not client_ids:
        return {}, {}
    stmt = (
        select(
            Invoice.client_id,
            Invoice.currency,
            func.sum(Invoice.balance_minor),
            func.sum(case((Invoice.due_date < as_of, Invoice.balance_minor), else_=0)),
            func.max(Invoice.dunning_level),
        )
        .where(Invoice.client_id.in_(client_ids), Invoice.status.in_(OPEN_INVOICE_STATUSES), Invoice.balance_minor > 0)
        .group_by(Invoice.client_id, Invoice.currency)
    )
    balances: dict[tuple[int, str], Receivables] = {}
    dunning: dict[int, int] = {}
    for client_id, currency, open_minor, overdue_minor, level in session.execute(stmt):
        balances[(client_id, currency)] = Receivables(int(open_minor or 0), int(overdue_minor or 0))
        dunning[client_id] = max(dunning.get(client_id, 0), int(level or 0))
    return balances, dunning


def dunning_level_of(session: Session, client_id: int) -> int:
    """Return the highest dunning level among the client's open invoices (0 when none)."""
    level = session.scalar(
        select(func.max(Invoice.dunning_level)).where(
            Invoice.client_id == client_id, Invoice.status.in_(OPEN_INVOICE_STATUSES), Invoice.balance_minor > 0
        )
    )
    return int(level or 0)


def _last_activity(session: Session, renewal_ids: Sequence[int]) -> dict[int, datetime]:
    if not renewal_ids:
        return {}
    stmt = (
        select(Activity.renewal_id, func.max(Activity.at))
        .where(Activity.renewal_id.in_(renewal_ids))
        .group_by(Activity.renewal_id)
    )
    out: dict[int, datetime] = {}
    for renewal_id, at in session.execute(stmt):
        if at is not None:
            out[renewal_id] = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return out


def activity_out(activity: Activity) -> ActivityOut:
    return ActivityOut(
        id=activity.id,
        renewal_id=activity.renewal_id,
        kind=activity.kind,
        author_id=activity.author_id,
        at=activity.at,
        text=activity.text,
        next_follow_up_on=activity.next_follow_up_on,
    )


def _risk(row: _Row, rec: Receivables, dunning: int, last_at: datetime | None, as_of: date, tz: str) -> int:
    renewal = row.renewal
    if renewal.status not in OPEN:
        # A decided renewal carries no renewal risk any more: it must not crowd the top of the list.
        return 0
    ratio = rules.overdue_ratio(
        money.from_minor(rec.overdue_minor, row.currency), money.from_minor(row.monthly_value_minor, row.currency)
    )
    silent = None if last_at is None else (as_of - last_at.astimezone(ZoneInfo(tz)).date()).days
    return rules.risk_score((renewal.end_date - as_of).days, ratio, dunning, silent)


def _outs(
    session: Session, rows: Sequence[_Row], as_of: date, tz: str, *, with_activities: bool = False
) -> list[RenewalOut]:
    balances, dunning = receivables_for(session, ((r.client_id, r.currency) for r in rows), as_of)
    last = _last_activity(session, [r.renewal.id for r in rows])
    outs = []
    for row in rows:
        renewal = row.renewal
        rec = balances.get((row.client_id, row.currency), Receivables())
        level = dunning.get(row.client_id, 0)
        outs.append(
            RenewalOut(
                id=renewal.id,
                contract_id=renewal.contract_id,
                owner_id=renewal.owner_id,
                status=renewal.status,
                end_date=renewal.end_date,
                next_action_date=renewal.next_action_date,
                risk_score=_risk(row, rec, level, last.get(renewal.id), as_of, tz),
                open_balance=money.from_minor(rec.open_minor, row.currency),
                overdue_balance=money.from_minor(rec.overdue_minor, row.currency),
                dunning_level=level,
                activities=[activity_out(a) for a in renewal.activities] if with_activities else [],
                client_id=row.client_id,
                client_name=row.client_name,
                contract_number=row.contract_number,
                currency=row.currency,
                monthly_value=money.from_minor(row.monthly_value_minor, row.currency),
                auto_renew=row.auto_renew,
                days_left=(renewal.end_date - as_of).days,
                last_activity_at=last.get(renewal.id),
                sent_for_signature_on=renewal.sent_for_signature_on,
                signed_on=renewal.signed_on,
                signed_by=renewal.signed_by,
                seal_received=renewal.seal_received,
                successor_contract_id=renewal.successor_contract_id,
                lost_reason=renewal.lost_reason,
                decided_on=renewal.decided_on,
                override_reason=renewal.override_reason,
                version=renewal.version,
                allowed_transitions=[s.value for s in rules.allowed_transitions(renewal.status)],
            )
        )
    return outs


def renewal_out(session: Session, user: User, renewal_id: int, as_of: date, tz: str = "UTC") -> RenewalOut:
    """Return one renewal with its activities and receivables figures. Raises NotFound."""
    get_visible_renewal(session, user, renewal_id)
    rows = _rows(
        session.execute(_base_select().where(Renewal.id == renewal_id).options(selectinload(Renewal.activities)))
    )
    return _outs(session, rows, as_of, tz, with_activities=True)[0]


def parse_statuses(values: Iterable[str] | None) -> list[str]:
    """Accept `status=a&status=b` and `status=a,b`. Raises ValidationFailed (query `status`)."""
    out: list[str] = []
    for value in values or ():
        for part in value.split(","):
            name = part.strip()
            if not name:
                continue
            try:
                out.append(RenewalStatus(name).value)
            except ValueError:
                known = ", ".join(s.value for s in RenewalStatus)
                raise ValidationFailed(
                    "status", f"unknown renewal status {name!r}; one of {known}", source="query"
                ) from None
    return out


def list_renewals(
    session: Session,
    user: User,
    *,
    as_of: date,
    limit: int = 50,
    offset: int = 0,
    owner_id: int | None = None,
    statuses: Sequence[str] = (),
    ending_within_days: int | None = None,
    client_id: int | None = None,
    sort: str = "end_date",
    tz: str = "UTC",
) -> tuple[list[RenewalOut], int]:
    """List the worklist the user may see, by end date or by risk (highest first).

    An account manager only ever sees renewals of their own clients, whatever the filters say.
    Raises ValidationFailed naming `limit`, `offset`, `status`, `ending_within_days` or `sort`.
    """
    check_window(limit, offset)
    if sort not in {"end_date", "risk"}:
        raise ValidationFailed("sort", "one of end_date, risk", source="query")
    stmt = scope_clients(_base_select(), user)
    if owner_id is not None:
        stmt = stmt.where(Renewal.owner_id == owner_id)
    if statuses:
        stmt = stmt.where(Renewal.status.in_(statuses))
    if ending_within_days is not None:
        if not 0 <= ending_within_days <= 3660:
            raise ValidationFailed("ending_within_days", "must be between 0 and 3660 (ten years)", source="query")
        stmt = stmt.where(Renewal.end_date >= as_of, Renewal.end_date <= as_of + timedelta(days=ending_within_days))
    if client_id is not None:
        stmt = stmt.where(Contract.client_id == client_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    ordered = stmt.order_by(Renewal.end_date, Renewal.id)
    if sort == "end_date":
        rows = _rows(session.execute(ordered.limit(limit).offset(offset)))
        return _outs(session, rows, as_of, tz), total
    # Risk mixes receivables, activity and dates through the pure rule: score the filtered set
    # (one grouped query each for balances and last activities), then page in memory.
    scored = _outs(session, _rows(session.execute(ordered)), as_of, tz)
    scored.sort(key=lambda r: (-r.risk_score, r.end_date, r.id))
    return scored[offset : offset + limit], total


# --------------------------------------------------------------------------------------------
# Opening renewal records
# --------------------------------------------------------------------------------------------


def open_renewals(
    session: Session,
    as_of: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    *,
    contract_ids: Sequence[int] | None = None,
    id_range: tuple[int, int] | None = None,
) -> int:
    """Create the renewal record of every active contract ending within the horizon that has none.

    One INSERT … SELECT; the unique contract_id makes it idempotent and safe when two scans run
    at once. Contracts already past their end get a record too, so the scan can decide them.
    `contract_ids` limits it to given contracts (a contract just created), `id_range` to an
    inclusive range of contract ids (a scan chunk). Returns the number of records created.
    """
    stamp = now()
    horizon_end = as_of + timedelta(days=horizon_days)
    source = (
        select(
            Contract.id,
            Client.owner_id,
            literal(RenewalStatus.UPCOMING.value, Renewal.status.type),
            Contract.end_date,
            literal(False, Renewal.seal_received.type),
            literal(1, Renewal.version.type),
            literal(stamp, Renewal.created_at.type),
            literal(stamp, Renewal.updated_at.type),
        )
        .join(Client, Client.id == Contract.client_id)
        .where(
            Contract.status == "active",
            Contract.end_date <= horizon_end,
            ~exists().where(Renewal.contract_id == Contract.id),
        )
    )
    if contract_ids is not None:
        if not contract_ids:
            return 0
        source = source.where(Contract.id.in_(contract_ids))
    if id_range is not None:
        source = source.where(Contract.id.between(*id_range))
    columns = ["contract_id", "owner_id", "status", "end_date", "seal_received", "version", "created_at", "updated_at"]
    table = cast(Table, Renewal.__table__)
    stmt = insert_ignoring_conflicts(session, table, ["contract_id"]).from_select(columns, source)
    # Core execution on the session's connection, keeping the rowcount of an INSERT … SELECT.
    result = session.connection().execute(stmt.execution_options(preserve_rowcount=True))
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


def open_renewal_for(session: Session, contract_id: int, as_of: date, horizon_days: int = DEFAULT_HORIZON_DAYS) -> int:
    """Create the renewal record of one contract at once if it is active and inside the horizon."""
    return open_renewals(session, as_of, horizon_days, contract_ids=[contract_id])


# --------------------------------------------------------------------------------------------
# Snapshots and successor contracts
# --------------------------------------------------------------------------------------------

_SNAPSHOT_FIELDS = (
    "id",
    "contract_id",
    "owner_id",
    "status",
    "end_date",
    "next_action_date",
    "sent_for_signature_on",
    "signed_on",
    "signed_by",
    "seal_received",
    "successor_contract_id",
    "lost_reason",
    "decided_on",
    "override_reason",
    "version",
)


def snapshot(renewal: Renewal) -> dict[str, object]:
    return {field: getattr(renewal, field) for field in _SNAPSHOT_FIELDS}


def _term_lines(contract: Contract) -> list[rules.TermLine]:
    return [
        rules.TermLine(
            line.description, line.quantity, money.from_minor(line.monthly_unit_price_minor, contract.currency)
        )
        for line in contract.lines
    ]


def _terms(contract: Contract, data: TransitionIn | None) -> rules.RenewalTerms:
    """The successor's terms: the contract's renewal term and uplift unless the request names others."""
    lines = _term_lines(contract)
    uplift = contract.renewal_uplift_pct
    term_months: int | None = contract.renewal_term_months
    new_end: date | None = None
    if data is not None:
        if data.end_date is not None:
            new_end, term_months = data.end_date, data.term_months
        elif data.term_months is not None:
            term_months = data.term_months
        if data.lines is not None:
            if data.uplift_pct is not None:
                raise ValidationFailed("uplift_pct", "give either new prices in lines or an uplift, not both")
            checked = contract_rules.check_lines(data.lines, contract.currency)
            lines = [rules.TermLine(d, q, p) for d, q, p in checked]
            uplift = Decimal(0)
        elif data.uplift_pct is not None:
            uplift = contract_rules.check_percent(
                data.uplift_pct, "uplift_pct", low=rules.MIN_UPLIFT_PCT, high=rules.MAX_UPLIFT_PCT
            )
    try:
        return rules.renewal_terms(
            contract.end_date, term_months, uplift, lines, currency=contract.currency, new_end=new_end
        )
    except ValidationFailed as exc:
        # The API names the new end `end_date`, like the contract's own field.
        if "new_end" in exc.fields:
            raise ValidationFailed("end_date", exc.fields["new_end"]) from None
        raise


def _next_number(number: str) -> str:
    match = _SUFFIX.match(number)
    base, n = (match["base"], int(match["n"]) + 1) if match else (number, 1)
    suffix = f"-R{n}"
    return f"{base[: _NUMBER_MAX - len(suffix)]}{suffix}"


def _successor_numbers(session: Session, contracts: Sequence[Contract]) -> dict[int, str]:
    """Pick a free number for each successor: old number + `-R1`, `-R2`…, skipping any taken."""
    wanted = {c.id: _next_number(c.number) for c in contracts}
    while True:
        taken = set(session.scalars(select(Contract.number).where(Contract.number.in_(set(wanted.values())))))
        seen: set[str] = set()
        clash = False
        for contract_id, number in wanted.items():
            if number in taken or number in seen:
                wanted[contract_id] = _next_number(number)
                clash = True
            seen.add(wanted[contract_id])
        if not clash:
            return wanted


def _successor(contract: Contract, terms: rules.RenewalTerms, number: str) -> Contract:
    successor = Contract(
        client_id=contract.client_id,
        number=number,
        title=contract.title,
        kind=contract.kind,
        start_date=terms.start_date,
        end_date=terms.end_date,
        billing_cycle=contract.billing_cycle,
        currency=contract.currency,
        tax_rate=contract.tax_rate,
        payment_terms_days=contract.payment_terms_days,
        notice_period_days=contract.notice_period_days,
        auto_renew=contract.auto_renew,
        renewal_term_months=contract.renewal_term_months,
        renewal_uplift_pct=contract.renewal_uplift_pct,
        status="active",
        predecessor_id=contract.id,
        monthly_value_minor=money.to_minor(terms.monthly_value, contract.currency),
        version=1,
    )
    successor.lines = [
        ContractLine(
            position=i,
            description=line.description,
            quantity=line.quantity,
            monthly_unit_price_minor=money.to_minor(line.monthly_unit_price, contract.currency),
        )
        for i, line in enumerate(terms.lines)
    ]
    return successor


# --------------------------------------------------------------------------------------------
# Transitions
# --------------------------------------------------------------------------------------------

_SIGNATURE_FIELDS = ("sent_for_signature_on", "signed_on", "signed_by", "seal_received")
_TERM_FIELDS = ("end_date", "term_months", "uplift_pct", "lines")


def _check_paper_dates(sent: date | None, signed: date | None, as_of: date) -> None:
    if sent is not None and sent > as_of:
        raise ValidationFailed("sent_for_signature_on", "must not be in the future")
    if signed is not None and signed > as_of:
        raise ValidationFailed("signed_on", "must not be in the future")
    if sent is not None and signed is not None and signed < sent:
        raise ValidationFailed("signed_on", "must be on or after sent_for_signature_on")


def _add_activity(
    session: Session,
    renewal: Renewal,
    author: User | None,
    kind: str,
    text: str,
    follow_up: date | None = None,
    at: datetime | None = None,
) -> Activity:
    activity = Activity(
        renewal_id=renewal.id,
        kind=kind,
        author_id=author.id if author else None,
        text=text,
        next_follow_up_on=follow_up,
    )
    if at is not None:
        activity.at = at.astimezone(UTC)
    session.add(activity)
    return activity


def transition(
    session: Session,
    actor: User,
    renewal_id: int,
    data: TransitionIn,
    *,
    as_of: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    tier_thresholds: dict[str, tuple[Decimal, Decimal]] | None = None,
) -> Renewal:
    """Move a renewal to `data.to`, writing one activity and one audit row for it.

    `awaiting_signature` records the date sent for signature; `renewed` checks the dunning rule,
    creates the successor contract (new terms, or the contract's renewal term and uplift) and
    marks the old contract `renewed` in this transaction; `lost` needs a reason.

    Raises NotFound (not visible), Forbidden (role, or dunning level ≥ 3 without a manager or an
    override reason), StaleVersion (409), IllegalTransition (409 with the allowed targets),
    Conflict (renewing a terminated contract) and ValidationFailed (422 naming the field).
    """
    require_role(actor, WRITE_CLIENTS, "changing a renewal")
    renewal, contract, client = get_visible_renewal(session, actor, renewal_id, for_update=True)
    if data.version is not None and data.version != renewal.version:
        raise StaleVersion("renewal", renewal.version)
    target = rules.check_transition(renewal.status, data.to)
    paper = target in {RenewalStatus.AWAITING_SIGNATURE, RenewalStatus.RENEWED}
    for field in _SIGNATURE_FIELDS:
        if not paper and getattr(data, field) is not None:
            raise ValidationFailed(field, "the paper trail is recorded moving to awaiting_signature or renewed")
    if target != RenewalStatus.RENEWED:
        for field in (*_TERM_FIELDS, "override_reason"):
            if getattr(data, field) is not None:
                raise ValidationFailed(field, "applies only when `to` is renewed")
    if target != RenewalStatus.LOST and data.reason is not None:
        raise ValidationFailed("reason", "applies only when `to` is lost")
    before = snapshot(renewal)
    previous = renewal.status
    audit_extra: dict[str, object] = {}

    if target == RenewalStatus.LOST:
        if data.reason is None or not data.reason.strip():
            raise ValidationFailed("reason", "say why the renewal was lost")
        renewal.lost_reason = data.reason.strip()
    if paper:
        sent = data.sent_for_signature_on or renewal.sent_for_signature_on
        if target == RenewalStatus.AWAITING_SIGNATURE and sent is None:
            sent = as_of
        signed = data.signed_on if data.signed_on is not None else renewal.signed_on
        _check_paper_dates(sent, signed, as_of)
        renewal.sent_for_signature_on, renewal.signed_on = sent, signed
        if data.signed_by is not None:
            renewal.signed_by = data.signed_by.strip() or None
        if data.seal_received is not None:
            renewal.seal_received = data.seal_received
    if target == RenewalStatus.RENEWED:
        if contract.status != "active":
            raise Conflict(
                f"the contract is {contract.status}; only an active contract can be renewed",
                extra={"to": f"contract is {contract.status}", "allowed": ["lost"]},
            )
        level = dunning_level_of(session, client.id)
        if rules.check_renewal_permission(level, actor.role, data.override_reason):
            renewal.override_reason = (data.override_reason or "").strip()
            audit_extra = {"override": {"dunning_level": level, "reason": renewal.override_reason}}
        terms = _terms(contract, data)
        contract_before = contract_snapshot(contract)
        successor = _successor(contract, terms, _successor_numbers(session, [contract])[contract.id])
        session.add(successor)
        contract.status = "renewed"
        session.flush()
        renewal.successor_contract_id = successor.id
        record(session, actor, "create", "contract", successor.id, None, contract_snapshot(successor))
        record(session, actor, "renew", "contract", contract.id, contract_before, contract_snapshot(contract))
        if tier_thresholds is not None:
            refresh_tier_and_status(session, client, tier_thresholds)
        open_renewals(session, as_of, horizon_days, contract_ids=[successor.id])

    renewal.status = target.value
    if target in rules.CLOSED_STATES:
        renewal.decided_on = as_of
        renewal.next_action_date = None
    session.flush()
    text = f"{previous} → {target.value}"
    if data.note and data.note.strip():
        text = f"{text}: {data.note.strip()}"
    _add_activity(session, renewal, actor, "note", text)
    record(session, actor, "transition", "renewal", renewal.id, before, snapshot(renewal) | audit_extra)
    session.flush()
    if target in rules.CLOSED_STATES:
        # A decided renewal's warnings and follow-ups are moot from this moment.
        resolve_for_contract(session, contract.id, as_of)
    return renewal


def update_renewal(session: Session, actor: User, renewal_id: int, patch: RenewalPatch, *, as_of: date) -> Renewal:
    """Update the next action date of an open renewal, or the paper trail while awaiting signature.

    Raises NotFound, Forbidden (role), StaleVersion, Conflict (closed renewal, or paper trail
    outside awaiting_signature) and ValidationFailed.
    """
    require_role(actor, WRITE_CLIENTS, "changing a renewal")
    renewal, _, _ = get_visible_renewal(session, actor, renewal_id, for_update=True)
    if patch.version != renewal.version:
        raise StaleVersion("renewal", renewal.version)
    if renewal.status not in OPEN:
        raise Conflict(
            f"renewal is {renewal.status}, a closed state; it cannot change any more", extra={"status": renewal.status}
        )
    before = snapshot(renewal)
    touched_paper = [f for f in _SIGNATURE_FIELDS if getattr(patch, f) is not msgspec.UNSET]
    if touched_paper and renewal.status != RenewalStatus.AWAITING_SIGNATURE:
        raise Conflict(
            "the paper trail is updated while the renewal is awaiting_signature",
            extra={touched_paper[0]: f"renewal is {renewal.status}"},
        )
    if patch.next_action_date is not msgspec.UNSET:
        renewal.next_action_date = patch.next_action_date
    sent = (
        renewal.sent_for_signature_on if patch.sent_for_signature_on is msgspec.UNSET else patch.sent_for_signature_on
    )
    signed = renewal.signed_on if patch.signed_on is msgspec.UNSET else patch.signed_on
    _check_paper_dates(sent, signed, as_of)
    renewal.sent_for_signature_on, renewal.signed_on = sent, signed
    if patch.signed_by is not msgspec.UNSET:
        renewal.signed_by = patch.signed_by.strip() if patch.signed_by and patch.signed_by.strip() else None
    if patch.seal_received is not msgspec.UNSET:
        renewal.seal_received = patch.seal_received
    session.flush()
    after = snapshot(renewal)
    if after != before:
        record(session, actor, "update", "renewal", renewal.id, before, after)
    return renewal


def add_activity(session: Session, actor: User, renewal_id: int, data: ActivityIn, *, as_of: date) -> Activity:
    """Log a call, e-mail, meeting or note; a follow-up date becomes the renewal's next action date.

    Raises NotFound, Forbidden (role) and ValidationFailed (`at` without a time zone, a follow-up
    in the past).
    """
    require_role(actor, WRITE_CLIENTS, "logging an activity")
    renewal, _, _ = get_visible_renewal(session, actor, renewal_id, for_update=True)
    if data.at is not None and data.at.tzinfo is None:
        raise ValidationFailed("at", "give a time zone, e.g. 2026-03-01T09:30:00+09:00")
    if data.next_follow_up_on is not None and data.next_follow_up_on < as_of:
        raise ValidationFailed("next_follow_up_on", f"must be {as_of.isoformat()} or later")
    before = snapshot(renewal)
    activity = _add_activity(session, renewal, actor, data.kind, data.text.strip(), data.next_follow_up_on, data.at)
    if data.next_follow_up_on is not None:
        renewal.next_action_date = data.next_follow_up_on
    session.flush()
    record(
        session,
        actor,
        "activity",
        "renewal",
        renewal.id,
        before,
        snapshot(renewal) | {"activity": msgspec.structs.asdict(activity_out(activity))},
    )
    return activity


# --------------------------------------------------------------------------------------------
# The daily scan: set-based, chunked by id, idempotent
# --------------------------------------------------------------------------------------------


def sync_end_dates(session: Session, contract_ids: Sequence[int] | None = None) -> int:
    """Copy a changed contract end date onto its open renewal (one UPDATE); return rows changed."""
    contract_end = select(Contract.end_date).where(Contract.id == Renewal.contract_id).scalar_subquery()
    stmt = update(Renewal).where(Renewal.status.in_(OPEN), Renewal.end_date != contract_end)
    if contract_ids is not None:
        stmt = stmt.where(Renewal.contract_id.in_(contract_ids))
    result = session.execute(
        stmt.values(end_date=contract_end, version=Renewal.version + 1, updated_at=now()).execution_options(
            synchronize_session=False
        )
    )
    changed = max(int(getattr(result, "rowcount", 0) or 0), 0)
    if changed:
        session.expire_all()
    return changed


def _due_chunks(
    session: Session, as_of: date, outcome: RenewalStatus, id_range: tuple[int, int] | None, chunk: int
) -> Iterable[list[tuple[int, int]]]:
    """Yield (renewal id, contract id) chunks the scan must close as `outcome`, locking them.

    On PostgreSQL the rows are locked FOR UPDATE SKIP LOCKED, so a second scan running at the same
    time passes over them instead of renewing twice; SQLite serialises writers anyway.
    """
    after = 0
    while True:
        stmt = (
            select(
                Renewal.id, Renewal.contract_id, Renewal.status, Contract.end_date, Contract.auto_renew, Contract.status
            )
            .join(Contract, Contract.id == Renewal.contract_id)
            .where(
                Renewal.status.in_(OPEN),
                Contract.end_date < as_of,
                Renewal.id > after,
                Contract.status.in_(("active", "terminated")),
            )
        )
        if outcome == RenewalStatus.AUTO_RENEWED:
            stmt = stmt.where(Contract.auto_renew.is_(True), Contract.status == "active")
        else:
            stmt = stmt.where(or_(Contract.auto_renew.is_(False), Contract.status == "terminated"))
        if id_range is not None:
            stmt = stmt.where(Contract.id.between(*id_range))
        rows = session.execute(
            stmt.order_by(Renewal.id).limit(chunk).with_for_update(of=Renewal, skip_locked=True)
        ).all()
        if not rows:
            return
        after = rows[-1][0]
        picked = [
            (renewal_id, contract_id)
            for renewal_id, contract_id, status, end_date, auto_renew, contract_status in rows
            if rules.scan_outcome(
                status,
                end_date=end_date,
                as_of=as_of,
                auto_renew=auto_renew,
                terminated=contract_status == "terminated",
            )
            == outcome
        ]
        if picked:
            yield picked


def auto_renew_due(
    session: Session,
    as_of: date,
    actor: User | None = None,
    *,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    id_range: tuple[int, int] | None = None,
    chunk: int = CHUNK,
) -> int:
    """Renew every auto-renew contract whose end date has passed and whose renewal is still open.

    Each gets a successor for its renewal term with its uplift; the renewal becomes
    `auto_renewed` and the contract `renewed`, exactly once: the renewal leaves the open states,
    and the successor's predecessor_id is unique. Work goes in chunks of ids with a handful of
    statements per chunk. Returns the number of contracts renewed.
    """
    renewed = 0
    for pairs in _due_chunks(session, as_of, RenewalStatus.AUTO_RENEWED, id_range, chunk):
        renewed += _auto_renew_chunk(session, pairs, as_of, actor, horizon_days)
    return renewed


def _auto_renew_chunk(
    session: Session, pairs: Sequence[tuple[int, int]], as_of: date, actor: User | None, horizon_days: int
) -> int:
    renewal_ids = [r for r, _ in pairs]
    contract_ids = [c for _, c in pairs]
    contracts = list(
        session.scalars(select(Contract).where(Contract.id.in_(contract_ids)).options(selectinload(Contract.lines)))
    )
    renewals = {r.contract_id: r for r in session.scalars(select(Renewal).where(Renewal.id.in_(renewal_ids)))}
    numbers = _successor_numbers(session, contracts)
    stamp = now()
    terms = {c.id: _terms(c, None) for c in contracts}
    # One multi-row INSERT … RETURNING for the successors, one executemany for their lines: the
    # ORM would insert row by row on SQLite, which cannot match returned ids to rows otherwise.
    contract_table = cast(Table, Contract.__table__)
    successor_of: dict[int, int] = dict(
        session.execute(
            insert(contract_table)
            .values([_successor_row(c, terms[c.id], numbers[c.id], stamp) for c in contracts])
            .returning(contract_table.c.predecessor_id, contract_table.c.id)
        )
        .tuples()
        .all()
    )
    session.execute(
        insert(cast(Table, ContractLine.__table__)),
        [
            {
                "contract_id": successor_of[c.id],
                "position": i,
                "description": line.description,
                "quantity": line.quantity,
                "monthly_unit_price_minor": money.to_minor(line.monthly_unit_price, c.currency),
            }
            for c in contracts
            for i, line in enumerate(terms[c.id].lines)
        ],
    )
    contract_before = {c.id: contract_snapshot(c) for c in contracts}
    renewal_before = {cid: snapshot(r) for cid, r in renewals.items()}
    session.execute(
        update(Contract)
        .where(Contract.id.in_(contract_ids), Contract.status == "active")
        .values(status="renewed", version=Contract.version + 1, updated_at=stamp)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Renewal)
        .where(Renewal.id.in_(renewal_ids), Renewal.status.in_(OPEN))
        .values(
            status=RenewalStatus.AUTO_RENEWED.value,
            decided_on=as_of,
            next_action_date=None,
            successor_contract_id=select(Contract.id)
            .where(Contract.predecessor_id == Renewal.contract_id)
            .scalar_subquery(),
            version=Renewal.version + 1,
            updated_at=stamp,
        )
        .execution_options(synchronize_session=False)
    )
    for obj in [*contracts, *renewals.values()]:
        session.expire(obj)
    successors = {
        s.predecessor_id: s
        for s in session.scalars(
            select(Contract).where(Contract.id.in_(list(successor_of.values()))).options(selectinload(Contract.lines))
        )
    }
    audit: list[AuditRow] = []
    activities: list[dict[str, Any]] = []
    for old_id, before in contract_before.items():
        successor = successors[old_id]
        r_before = renewal_before[old_id]
        audit += [
            ("create", "contract", successor.id, None, contract_snapshot(successor)),
            ("renew", "contract", old_id, before, before | {"status": "renewed", "version": _bump(before)}),
            (
                "transition",
                "renewal",
                _int(r_before["id"]),
                r_before,
                r_before
                | {
                    "status": RenewalStatus.AUTO_RENEWED.value,
                    "decided_on": as_of,
                    "next_action_date": None,
                    "successor_contract_id": successor.id,
                    "version": _bump(r_before),
                },
            ),
        ]
        activities.append(
            _activity_row(
                _int(r_before["id"]),
                actor,
                stamp,
                f"{r_before['status']} → auto_renewed: renewed as {successor.number} from "
                f"{successor.start_date.isoformat()} to {successor.end_date.isoformat()}",
            )
        )
    record_many(session, actor, audit)
    _insert_activities(session, activities)
    open_renewals(session, as_of, horizon_days, contract_ids=list(successor_of.values()))
    return len(successor_of)


def _successor_row(contract: Contract, terms: rules.RenewalTerms, number: str, stamp: datetime) -> dict[str, Any]:
    return {
        "client_id": contract.client_id,
        "number": number,
        "title": contract.title,
        "kind": contract.kind,
        "start_date": terms.start_date,
        "end_date": terms.end_date,
        "billing_cycle": contract.billing_cycle,
        "currency": contract.currency,
        "tax_rate": contract.tax_rate,
        "payment_terms_days": contract.payment_terms_days,
        "notice_period_days": contract.notice_period_days,
        "auto_renew": contract.auto_renew,
        "renewal_term_months": contract.renewal_term_months,
        "renewal_uplift_pct": contract.renewal_uplift_pct,
        "status": "active",
        "predecessor_id": contract.id,
        "terminated_on": None,
        "termination_reason": None,
        "monthly_value_minor": money.to_minor(terms.monthly_value, contract.currency),
        "version": 1,
        "created_at": stamp,
        "updated_at": stamp,
    }


def _int(value: object) -> int:
    return int(str(value))


def _bump(snap: dict[str, object]) -> int:
    return _int(snap["version"]) + 1


def _activity_row(renewal_id: int, author: User | None, at: datetime, text: str) -> dict[str, Any]:
    return {
        "renewal_id": renewal_id,
        "kind": "note",
        "author_id": author.id if author else None,
        "at": at,
        "text": text,
        "next_follow_up_on": None,
    }


def _insert_activities(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(cast(Table, Activity.__table__)), rows)


def lapse_due(
    session: Session,
    as_of: date,
    actor: User | None = None,
    *,
    id_range: tuple[int, int] | None = None,
    chunk: int = CHUNK,
) -> int:
    """Close undecided renewals of ended non-auto-renew (or terminated) contracts as `lapsed`.

    Their active contracts become `expired`; so do active contracts past their end whose renewal
    was `lost`. Returns the number of renewals lapsed.
    """
    lapsed = 0
    for pairs in _due_chunks(session, as_of, RenewalStatus.LAPSED, id_range, chunk):
        lapsed += _lapse_chunk(session, pairs, as_of, actor)
    _expire_lost(session, as_of, actor, id_range, chunk)
    return lapsed


def _move_status(
    session: Session,
    actor: User | None,
    model: Any,
    rows: Sequence[Any],
    snapshot: Callable[[Any], dict[str, Any]],
    from_status: str,
    to_status: str,
    action: str,
    entity_type: str,
) -> int:
    """Move rows still in `from_status` to `to_status` in one UPDATE, with one audit row each.

    The version bump keeps optimistic concurrency honest for anyone holding the old version.
    Return how many rows the UPDATE changed.
    """
    before = {row.id: snapshot(row) for row in rows}
    result = session.execute(
        update(model)
        .where(model.id.in_(list(before)), model.status == from_status)
        .values(status=to_status, version=model.version + 1, updated_at=now())
        .execution_options(synchronize_session=False)
    )
    record_many(
        session,
        actor,
        [
            (action, entity_type, row_id, snap, snap | {"status": to_status, "version": _bump(snap)})
            for row_id, snap in before.items()
        ],
    )
    for row in rows:
        session.expire(row)
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


def _expire_contracts(session: Session, contract_ids: Sequence[int], actor: User | None) -> None:
    contracts = list(
        session.scalars(
            select(Contract)
            .where(Contract.id.in_(contract_ids), Contract.status == "active")
            .options(selectinload(Contract.lines))
        )
    )
    if not contracts:
        return
    _move_status(session, actor, Contract, contracts, contract_snapshot, "active", "expired", "expire", "contract")


def _lapse_chunk(session: Session, pairs: Sequence[tuple[int, int]], as_of: date, actor: User | None) -> int:
    renewal_ids = [r for r, _ in pairs]
    renewals = list(session.scalars(select(Renewal).where(Renewal.id.in_(renewal_ids))))
    before = {r.id: snapshot(r) for r in renewals}
    stamp = now()
    session.execute(
        update(Renewal)
        .where(Renewal.id.in_(renewal_ids), Renewal.status.in_(OPEN))
        .values(
            status=RenewalStatus.LAPSED.value,
            decided_on=as_of,
            next_action_date=None,
            version=Renewal.version + 1,
            updated_at=stamp,
        )
        .execution_options(synchronize_session=False)
    )
    record_many(
        session,
        actor,
        [
            (
                "transition",
                "renewal",
                rid,
                snap,
                snap
                | {
                    "status": RenewalStatus.LAPSED.value,
                    "decided_on": as_of,
                    "next_action_date": None,
                    "version": _bump(snap),
                },
            )
            for rid, snap in before.items()
        ],
    )
    _insert_activities(
        session,
        [
            _activity_row(
                r.id,
                actor,
                stamp,
                f"{before[r.id]['status']} → lapsed: the term ended on {r.end_date.isoformat()} with no decision",
            )
            for r in renewals
        ],
    )
    for renewal in renewals:
        session.expire(renewal)
    _expire_contracts(session, [c for _, c in pairs], actor)
    return len(renewals)


def _expire_lost(
    session: Session, as_of: date, actor: User | None, id_range: tuple[int, int] | None, chunk: int
) -> None:
    after = 0
    while True:
        stmt = (
            select(Contract.id)
            .join(Renewal, Renewal.contract_id == Contract.id)
            .where(
                Contract.status == "active",
                Contract.end_date < as_of,
                Contract.id > after,
                Renewal.status.in_((RenewalStatus.LOST.value, RenewalStatus.LAPSED.value)),
            )
        )
        if id_range is not None:
            stmt = stmt.where(Contract.id.between(*id_range))
        ids = list(session.scalars(stmt.order_by(Contract.id).limit(chunk)))
        if not ids:
            return
        after = ids[-1]
        _expire_contracts(session, ids, actor)
        session.flush()


def mark_churned(
    session: Session,
    as_of: date,
    actor: User | None = None,
    *,
    client_id_range: tuple[int, int] | None = None,
    chunk: int = CHUNK,
) -> int:
    """Move active clients with no live contract left, and at least one that ended, to `churned`.

    A contract is live while active, or terminated with an effective date not yet passed. The
    churned clients are the win-back list (`GET /clients?status=churned`); a new active contract
    makes a client active again. Returns the number of clients churned.
    """
    from renewals.domain.clients.service import snapshot as client_snapshot

    live = exists().where(
        Contract.client_id == Client.id,
        or_(Contract.status == "active", and_(Contract.status == "terminated", Contract.terminated_on >= as_of)),
    )
    ended = exists().where(Contract.client_id == Client.id, Contract.status.in_(("expired", "terminated")))
    churned = 0
    after = 0
    while True:
        stmt = select(Client).where(Client.status == "active", ~live, ended, Client.id > after)
        if client_id_range is not None:
            stmt = stmt.where(Client.id.between(*client_id_range))
        clients = list(session.scalars(stmt.order_by(Client.id).limit(chunk)))
        if not clients:
            return churned
        after = clients[-1].id
        churned += _move_status(
            session, actor, Client, clients, client_snapshot, "active", "churned", "churn", "client"
        )


def run_renewal_scan(
    session: Session,
    as_of: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    actor: User | None = None,
    *,
    id_range: tuple[int, int] | None = None,
) -> dict[str, int]:
    """Run the renewal steps of the daily scan in order; return what each step changed.

    Order matters: end dates are synced and records opened first so that every ended contract
    has a renewal to decide; auto-renewal runs before the lapse so an auto-renew contract never
    lapses; churn runs last, once contracts have expired. `id_range` limits the contract steps to
    a range of contract ids (the churn step then runs over all clients only without it).
    """
    return {
        "end_dates_synced": sync_end_dates(session),
        "renewals_opened": open_renewals(session, as_of, horizon_days, id_range=id_range),
        "auto_renewed": auto_renew_due(session, as_of, actor, horizon_days=horizon_days, id_range=id_range),
        "lapsed": lapse_due(session, as_of, actor, id_range=id_range),
        "churned": mark_churned(session, as_of, actor) if id_range is None else 0,
    }


def hand_over_renewals(session: Session, actor: User | None, client_id: int, owner_id: int) -> int:
    """Give a reassigned client's open renewals to its new owner, one audit row each.

    Decided renewals keep the owner who decided them: they are history. Returns the number moved.
    """
    renewals = list(
        session.scalars(
            select(Renewal)
            .join(Contract, Contract.id == Renewal.contract_id)
            .where(Contract.client_id == client_id, Renewal.status.in_(OPEN), Renewal.owner_id != owner_id)
        )
    )
    if not renewals:
        return 0
    before = {r.id: snapshot(r) for r in renewals}
    session.execute(
        update(Renewal)
        .where(Renewal.id.in_(list(before)))
        .values(owner_id=owner_id, version=Renewal.version + 1, updated_at=now())
        .execution_options(synchronize_session=False)
    )
    record_many(
        session,
        actor,
        [
            ("reassign", "renewal", rid, snap, snap | {"owner_id": owner_id, "version": _bump(snap)})
            for rid, snap in before.items()
        ],
    )
    for renewal in renewals:
        session.expire(renewal)
    return len(renewals)
