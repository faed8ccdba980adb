"""The daily early-warning scan: day-level work, id-range chunks, and a closing step.

The jobs layer fans the scan out like this (any number of workers, any number of times):

    prepare(session, as_of)                  one message: open renewals in the horizon,
                                             auto-renew and lapse what ended yesterday
    for chunk in plan(session, as_of):       one message per id range of contracts, invoices,
        run_chunk(session, as_of, chunk)     renewals and clients
    finish(session, as_of)                   one message: churn clients left with no contract

`run_day` does all of it in one transaction (tests, `renewals scan --sync`).

Every step is idempotent and safe to run concurrently: alerts are inserted with ON CONFLICT DO
NOTHING on their unique dedupe key (never check-then-insert), dunning levels only climb, a lifted
hold is lifted under a guard that a second run no longer matches, and resolution only touches
alerts that are not resolved yet. Each newly raised alert asks for the background job
`alerts.deliver` with `alert_id=<id>` (sent after commit; see renewals.db.uow.request_job).

SQL selects the candidates (the thresholds become date ranges on indexed columns); the pure rules
in renewals.domain.alerts.rules and .lifecycle decide what each row means on `as_of`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, func, insert, or_, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from renewals.clock import now
from renewals.db.dialect import insert_ignoring_conflicts
from renewals.db.models import Activity, Alert, AuditEntry, Client, Contract, Invoice, Renewal, User
from renewals.db.uow import request_job
from renewals.domain import money
from renewals.domain.alerts import lifecycle
from renewals.domain.alerts.episodes import end_episodes, number_episodes
from renewals.domain.alerts.lifecycle import (
    OPEN_RENEWAL_STATUSES,
    UNPAID_INVOICE_STATUSES,
    contract_alert_stands,
    credit_alert_stands,
    follow_up_alert_stands,
    id_ranges,
    invoice_alert_stands,
    over_credit_limit,
)
from renewals.domain.alerts.rules import (
    DEFAULT_THRESHOLDS,
    AlertKind,
    AlertSpec,
    SubjectType,
    Thresholds,
    date_threshold,
    dunning_level,
    notice_deadline_alert,
    opt_out_deadline,
    renewal_due_alert,
)

DEFAULT_CHUNK_SIZE = 1000
DEFAULT_HORIZON_DAYS = 180
# A lapse is announced if the scan sees it within this many days of the end date (a scan that
# was down for a while still tells), but a book loaded with old lapses is not flooded.
LAPSE_ANNOUNCE_DAYS = 30
# A follow-up date the scan missed (it was down) is still raised for this many days after it,
# unless someone has logged a newer activity on the renewal meanwhile.
FOLLOW_UP_CATCH_UP_DAYS = 7
DELIVER_ACTOR = "alerts.deliver"
CHUNK_KINDS: tuple[str, ...] = ("contract", "invoice", "renewal", "client")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One unit of the scan: the rows of `kind` whose ids lie in [lo, hi]."""

    kind: str
    lo: int
    hi: int


# --------------------------------------------------------------------------------------------
# Portable SQL
# --------------------------------------------------------------------------------------------


class _days_before(FunctionElement[date]):
    """`day − n days` for a date column and an integer column, on PostgreSQL and SQLite."""

    type = Date()
    inherit_cache = True


@compiles(_days_before)
def _days_before_default(element: _days_before, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"({compiler.process(day, **kw)} - {compiler.process(days, **kw)})"


@compiles(_days_before, "sqlite")
def _days_before_sqlite(element: _days_before, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, printf('%d days', -({compiler.process(days, **kw)})))"


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert alert rows, skipping any whose dedupe key exists; return the ids actually inserted."""
    if not rows:
        return []
    # One lock order for every writer, so two concurrent scans never deadlock on the unique index.
    rows = sorted(rows, key=lambda row: str(row["dedupe_key"]))
    stamp = now()
    for row in rows:
        row.setdefault("created_at", stamp)
        row.setdefault("updated_at", stamp)
    stmt = insert_ignoring_conflicts(session, Alert.__table__, ["dedupe_key"])
    # Rows as parameters (executemany, batched by SQLAlchemy's insertmanyvalues with RETURNING),
    # not `.values(rows)`: a multi-row VALUES clause is compiled afresh for every call, which cost
    # about three quarters of a daily scan's CPU (docs/benchmarks.md).
    return sorted(session.scalars(stmt.returning(Alert.id), rows))


def _raise(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert the alerts that are new and ask for their delivery after commit; count them."""
    number_episodes(session, rows)
    new_ids = _insert_ignoring_duplicates(session, rows)
    for alert_id in new_ids:
        request_job(session, DELIVER_ACTOR, alert_id=alert_id)
    return len(new_ids)


def _row(
    spec: AlertSpec,
    as_of: date,
    *,
    assignee_id: int | None,
    informed_id: int | None,
    client_id: int | None,
    message: str,
    details: dict[str, Any],
) -> dict[str, Any]:
    return {
        "kind": spec.kind.value,
        "subject_type": spec.subject_type.value,
        "subject_id": spec.subject_id,
        "threshold": spec.threshold,
        "severity": spec.severity.value,
        "assignee_id": assignee_id,
        "informed_id": informed_id,
        "client_id": client_id,
        "status": "open",
        "raised_on": as_of,
        "dedupe_key": spec.dedupe_key,
        "message": message,
        "details": details,
    }


def _resolve_ids(session: Session, ids: Sequence[int], as_of: date) -> int:
    """Mark the alerts resolved on `as_of` (their episodes ended) unless they already are; count those changed."""
    if not ids:
        return 0
    end_episodes(session, ids, as_of)
    result = session.execute(
        update(Alert)
        .where(Alert.id.in_(sorted(ids)), Alert.status != "resolved")
        .values(status="resolved", resolved_on=as_of, resolution="auto", updated_at=now())
        .execution_options(synchronize_session=False)
    )
    _expire_loaded(session, Alert, ids)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _expire_loaded(session: Session, model: type[Any], ids: Sequence[int]) -> None:
    """Forget the cached state of rows changed behind the ORM's back (bulk UPDATEs), so that a
    later change through the same session sees their new version instead of failing as stale."""
    wanted = set(ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model) and getattr(obj, "id", None) in wanted:
            session.expire(obj)


def _first_active(session: Session, role: str) -> int | None:
    """The lowest-id active user of a role: the default assignee of that role's alerts."""
    return session.scalar(select(func.min(User.id)).where(User.role == role, User.active.is_(True)))


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


# --------------------------------------------------------------------------------------------
# The interface the jobs layer calls
# --------------------------------------------------------------------------------------------


def plan(session: Session, as_of: date, chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[Chunk]:
    """List the chunks of the scan: ranges of `chunk_size` ids over each table, from min to max id.

    Raises ValueError for a chunk size below 1.
    """
    del as_of  # every row may carry an alert to resolve, so the ranges span whole tables
    models: dict[str, Any] = {"contract": Contract, "invoice": Invoice, "renewal": Renewal, "client": Client}
    chunks: list[Chunk] = []
    for kind in CHUNK_KINDS:
        model = models[kind]
        lowest, highest = session.execute(select(func.min(model.id), func.max(model.id))).one()
        chunks.extend(Chunk(kind, lo, hi) for lo, hi in id_ranges(lowest, highest, chunk_size))
    return chunks


def prepare(session: Session, as_of: date, horizon_days: int = DEFAULT_HORIZON_DAYS) -> dict[str, int]:
    """Do the day-level renewal work before the chunks: open renewal records within the horizon,
    auto-renew the contracts that ended yesterday, lapse the others. Idempotent."""
    from renewals.domain.renewals import service as renewals_service

    # Order matters: end dates synced and records opened first, so every ended contract has a
    # renewal to decide; auto-renewal before the lapse, so an auto-renew contract never lapses.
    return {
        "end_dates_synced": _count(renewals_service.sync_end_dates(session)),
        "renewals_opened": _count(renewals_service.open_renewals(session, as_of, horizon_days)),
        "auto_renewed": _count(renewals_service.auto_renew_due(session, as_of, horizon_days=horizon_days)),
        "lapsed": _count(renewals_service.lapse_due(session, as_of)),
    }


def run_chunk(
    session: Session, as_of: date, chunk: Chunk, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> dict[str, int]:
    """Raise and resolve the alerts of one chunk; return counts. Idempotent, safe concurrently.

    Raises ValueError for an unknown chunk kind.
    """
    if chunk.kind == "contract":
        return _scan_contracts(session, as_of, chunk.lo, chunk.hi, thresholds)
    if chunk.kind == "invoice":
        return _scan_invoices(session, as_of, chunk.lo, chunk.hi, thresholds)
    if chunk.kind == "renewal":
        return _scan_renewals(session, as_of, chunk.lo, chunk.hi)
    if chunk.kind == "client":
        return _scan_clients(session, as_of, chunk.lo, chunk.hi)
    raise ValueError(f"unknown chunk kind {chunk.kind!r}; one of {', '.join(CHUNK_KINDS)}")


def finish(session: Session, as_of: date, *, auto_reminders: bool = False) -> dict[str, int]:
    """Close the day after every chunk ran: move clients left with no active contract to churned.
    With `auto_reminders` (RENEWALS_AUTO_REMINDERS), also request one payment reminder per client
    whose invoice_overdue alerts were raised today (idempotent per client and day)."""
    from renewals.domain.renewals import service as renewals_service

    counts = {"churned": _count(renewals_service.mark_churned(session, as_of))}
    if auto_reminders:
        # Imported here: notices build on this module (overdue_by_client).
        from renewals.domain.notices.service import request_auto_reminders

        counts["reminders_requested"] = request_auto_reminders(session, as_of)
    return counts


def run_day(
    session: Session,
    as_of: date,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    auto_reminders: bool = False,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> dict[str, int]:
    """Run the whole scan for `as_of` in the caller's transaction and return the summed counts."""
    totals: dict[str, int] = dict(prepare(session, as_of, horizon_days))
    session.flush()
    for chunk in plan(session, as_of, chunk_size):
        for key, value in run_chunk(session, as_of, chunk, thresholds).items():
            totals[key] = totals.get(key, 0) + value
    totals.update(finish(session, as_of, auto_reminders=auto_reminders))
    session.flush()
    return totals


def _count(result: object) -> int:
    """The renewal services answer with a count or with the rows they changed."""
    if isinstance(result, bool):
        return int(result)
    if isinstance(result, int):
        return result
    if isinstance(result, Sequence | set | frozenset):
        return len(result)
    return 0


# --------------------------------------------------------------------------------------------
# Contracts: renewal_due, notice_deadline
# --------------------------------------------------------------------------------------------


def _scan_contracts(session: Session, as_of: date, lo: int, hi: int, thresholds: Thresholds) -> dict[str, int]:
    horizon = as_of + timedelta(days=max(thresholds.renewal_due))
    undecided = or_(Renewal.id.is_(None), Renewal.status.in_(OPEN_RENEWAL_STATUSES))
    base = (
        select(
            Contract.id,
            Contract.number,
            Contract.client_id,
            Contract.end_date,
            Contract.notice_period_days,
            Client.owner_id,
        )
        .join(Client, Client.id == Contract.client_id)
        .outerjoin(Renewal, Renewal.contract_id == Contract.id)
        .where(Contract.id.between(lo, hi), Contract.status == "active", undecided)
    )
    rows: list[dict[str, Any]] = []
    for c in session.execute(base.where(Contract.end_date.between(as_of, horizon))):
        spec = renewal_due_alert(c.id, c.end_date, as_of, thresholds.renewal_due)
        if spec is not None:
            days = (c.end_date - as_of).days
            rows.append(
                _row(
                    spec,
                    as_of,
                    assignee_id=c.owner_id,
                    informed_id=None,
                    client_id=c.client_id,
                    message=f"Contract {c.number} ends in {days} days, on {c.end_date.isoformat()}",
                    details={"contract_number": c.number, "end_date": c.end_date.isoformat(), "days_left": days},
                )
            )
    deadline = _days_before(Contract.end_date, Contract.notice_period_days)
    notice = base.where(
        Contract.auto_renew.is_(True),
        Contract.end_date >= as_of,
        deadline.between(as_of, as_of + timedelta(days=thresholds.notice_lead_days)),
    )
    for c in session.execute(notice):
        spec = notice_deadline_alert(c.id, c.end_date, c.notice_period_days, as_of, thresholds.notice_lead_days)
        if spec is not None:
            opt_out = opt_out_deadline(c.end_date, c.notice_period_days)
            rows.append(
                _row(
                    spec,
                    as_of,
                    assignee_id=c.owner_id,
                    informed_id=None,
                    client_id=c.client_id,
                    message=(
                        f"Contract {c.number} renews automatically unless the client opts out by {opt_out.isoformat()}"
                    ),
                    details={
                        "contract_number": c.number,
                        "opt_out_deadline": opt_out.isoformat(),
                        "end_date": c.end_date.isoformat(),
                    },
                )
            )
    raised = _raise(session, rows)
    return {"raised": raised, "resolved": _resolve_contract_alerts(session, as_of, lo, hi, thresholds)}


def _resolve_contract_alerts(
    session: Session, as_of: date, lo: int, hi: int, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> int:
    stmt = (
        select(
            Alert.id,
            Alert.kind,
            Alert.threshold,
            Contract.status,
            Contract.end_date,
            Contract.auto_renew,
            Contract.notice_period_days,
            Renewal.status.label("renewal_status"),
        )
        .join(Contract, Contract.id == Alert.subject_id)
        .outerjoin(Renewal, Renewal.contract_id == Contract.id)
        .where(
            Alert.subject_type == SubjectType.CONTRACT,
            Alert.subject_id.between(lo, hi),
            Alert.kind.in_(lifecycle.CONTRACT_KINDS),
            Alert.status != "resolved",
        )
    )
    gone = [
        a.id
        for a in session.execute(stmt)
        if not contract_alert_stands(
            a.kind,
            a.threshold,
            contract_status=a.status,
            renewal_status=a.renewal_status,
            end_date=a.end_date,
            auto_renew=a.auto_renew,
            notice_period_days=a.notice_period_days,
            as_of=as_of,
            thresholds=thresholds,
        )
    ]
    return _resolve_ids(session, gone, as_of)


# --------------------------------------------------------------------------------------------
# Invoices: broken promises, dunning levels, invoice_overdue
# --------------------------------------------------------------------------------------------


def _unpaid() -> ColumnElement[bool]:
    return and_(Invoice.status.in_(UNPAID_INVOICE_STATUSES), Invoice.balance_minor > 0)


def _scan_invoices(session: Session, as_of: date, lo: int, hi: int, thresholds: Thresholds) -> dict[str, int]:
    finance_id = _first_active(session, "finance")
    in_range = Invoice.id.between(lo, hi)
    lifted, promise_rows = _lift_broken_promises(session, as_of, in_range, finance_id)
    climbed, overdue_rows = _climb_dunning(session, as_of, in_range, finance_id, thresholds.dunning)
    raised = _raise(session, promise_rows + overdue_rows)
    resolved = _resolve_invoice_alerts(session, as_of, in_range)
    return {"raised": raised, "resolved": resolved, "holds_lifted": lifted, "dunning_changed": climbed}


def _lift_broken_promises(
    session: Session, as_of: date, in_range: ColumnElement[bool], finance_id: int | None
) -> tuple[int, list[dict[str, Any]]]:
    """Lift every promise-to-pay hold whose date has passed unpaid, and shape its alert."""
    broken = and_(in_range, _unpaid(), Invoice.hold_kind == "promise", Invoice.hold_until < as_of)
    # Lock first: a concurrent scan waits here and then no longer matches the guard.
    found = session.execute(
        select(
            Invoice.id,
            Invoice.number,
            Invoice.client_id,
            Invoice.hold_until,
            Invoice.hold_reason,
            Invoice.held_on,
            Invoice.currency,
            Invoice.balance_minor,
            Client.owner_id,
        )
        .join(Client, Client.id == Invoice.client_id)
        .where(broken)
        .order_by(Invoice.id)
        .with_for_update(of=Invoice)
    ).all()
    if not found:
        return 0, []
    session.execute(
        update(Invoice)
        .where(Invoice.id.in_([r.id for r in found]), broken)
        .values(
            hold_kind=None,
            hold_until=None,
            hold_reason=None,
            held_on=None,
            version=Invoice.version + 1,
            updated_at=now(),
        )
        .execution_options(synchronize_session=False)
    )
    _expire_loaded(session, Invoice, [r.id for r in found])
    stamp = now()
    session.execute(
        insert(AuditEntry),
        [
            {
                "at": stamp,
                "actor_id": None,
                "action": "lift_hold",
                "entity_type": "invoice",
                "entity_id": r.id,
                "before": {
                    "hold": {
                        "kind": "promise",
                        "until": _iso(r.hold_until),
                        "reason": r.hold_reason,
                        "held_on": _iso(r.held_on),
                    }
                },
                "after": {"hold": None, "why": f"promise to pay by {_iso(r.hold_until)} broken"},
            }
            for r in found
        ],
    )
    rows = []
    for r in found:
        if r.hold_until is None:  # the guard selected promises with a date
            continue
        spec = AlertSpec.of(AlertKind.PROMISE_BROKEN, r.id, date_threshold(r.hold_until))
        balance = money.from_minor(r.balance_minor, r.currency)
        rows.append(
            _row(
                spec,
                as_of,
                assignee_id=finance_id,
                informed_id=r.owner_id,
                client_id=r.client_id,
                message=(
                    f"Invoice {r.number}: the promise to pay by {r.hold_until.isoformat()} was broken; "
                    f"{balance} {r.currency} still due, the hold is lifted"
                ),
                details={
                    "invoice_number": r.number,
                    "promised_by": r.hold_until.isoformat(),
                    "balance": format(balance, "f"),
                    "currency": r.currency,
                },
            )
        )
    return len(found), rows


def _climb_dunning(
    session: Session, as_of: date, in_range: ColumnElement[bool], finance_id: int | None, dunning: tuple[int, ...]
) -> tuple[int, list[dict[str, Any]]]:
    """Raise the dunning level of unheld overdue invoices to the one their days past due reach,
    and shape the invoice_overdue alert of each one's level. Levels never go down."""
    candidates = session.execute(
        select(
            Invoice.id,
            Invoice.number,
            Invoice.client_id,
            Invoice.due_date,
            Invoice.dunning_level,
            Invoice.currency,
            Invoice.balance_minor,
            Client.owner_id,
        )
        .join(Client, Client.id == Invoice.client_id)
        .where(in_range, _unpaid(), Invoice.hold_kind.is_(None), Invoice.due_date < as_of)
        .order_by(Invoice.id)
        .with_for_update(of=Invoice)
    ).all()
    changes: list[tuple[int, int, int]] = []
    rows: list[dict[str, Any]] = []
    for inv in candidates:
        level = max(dunning_level(inv.due_date, as_of, dunning), inv.dunning_level)
        if level > inv.dunning_level:
            changes.append((inv.id, inv.dunning_level, level))
        if level == 0:
            continue
        days = (as_of - inv.due_date).days
        balance = money.from_minor(inv.balance_minor, inv.currency)
        rows.append(
            _row(
                AlertSpec.of(AlertKind.INVOICE_OVERDUE, inv.id, level),
                as_of,
                assignee_id=finance_id,
                informed_id=inv.owner_id,
                client_id=inv.client_id,
                message=(
                    f"Invoice {inv.number} is {days} days overdue ({balance} {inv.currency}); dunning level {level}"
                ),
                details={
                    "invoice_number": inv.number,
                    "due_date": inv.due_date.isoformat(),
                    "days_overdue": days,
                    "balance": format(balance, "f"),
                    "currency": inv.currency,
                    "dunning_level": level,
                },
            )
        )
    if changes:
        stamp = now()
        for level in sorted({new for _, _, new in changes}):
            ids = [invoice_id for invoice_id, _, new in changes if new == level]
            session.execute(
                update(Invoice)
                .where(Invoice.id.in_(ids), Invoice.dunning_level < level)
                .values(dunning_level=level, version=Invoice.version + 1, updated_at=stamp)
                .execution_options(synchronize_session=False)
            )
        _expire_loaded(session, Invoice, [invoice_id for invoice_id, _, _ in changes])
        session.execute(
            insert(AuditEntry),
            [
                {
                    "at": stamp,
                    "actor_id": None,
                    "action": "dunning",
                    "entity_type": "invoice",
                    "entity_id": invoice_id,
                    "before": {"dunning_level": old},
                    "after": {"dunning_level": new},
                }
                for invoice_id, old, new in changes
            ],
        )
    return len(changes), rows


def _resolve_invoice_alerts(session: Session, as_of: date, in_range: ColumnElement[bool]) -> int:
    stmt = (
        select(Alert.id, Alert.kind, Alert.threshold, Invoice.status, Invoice.balance_minor, Invoice.dunning_level)
        .join(Invoice, Invoice.id == Alert.subject_id)
        .where(
            Alert.subject_type == SubjectType.INVOICE,
            in_range,
            Alert.kind.in_(lifecycle.INVOICE_KINDS),
            Alert.ended_on.is_(None),
        )
    )
    gone = [
        a.id
        for a in session.execute(stmt)
        if not invoice_alert_stands(
            a.kind, a.threshold, status=a.status, balance_minor=a.balance_minor, dunning_level=a.dunning_level
        )
    ]
    return _resolve_ids(session, gone, as_of)


# --------------------------------------------------------------------------------------------
# Renewals: renewal_lapsed, follow_up_due
# --------------------------------------------------------------------------------------------


def _latest_activity(lo: int, hi: int) -> Any:
    """The id of the newest activity of each renewal in the chunk."""
    return (
        select(Activity.renewal_id, func.max(Activity.id).label("latest_id"))
        .where(Activity.renewal_id.between(lo, hi))
        .group_by(Activity.renewal_id)
        .subquery("latest")
    )


def _scan_renewals(session: Session, as_of: date, lo: int, hi: int) -> dict[str, int]:
    manager_id = _first_active(session, "manager")
    rows: list[dict[str, Any]] = []
    lapsed = session.execute(
        select(
            Renewal.id,
            Renewal.end_date,
            Contract.id.label("contract_id"),
            Contract.number,
            Contract.client_id,
            Client.owner_id,
        )
        .join(Contract, Contract.id == Renewal.contract_id)
        .join(Client, Client.id == Contract.client_id)
        .where(
            Renewal.id.between(lo, hi),
            Renewal.status == "lapsed",
            Renewal.end_date.between(as_of - timedelta(days=LAPSE_ANNOUNCE_DAYS), as_of),
        )
    )
    for r in lapsed:
        rows.append(
            _row(
                AlertSpec.of(AlertKind.RENEWAL_LAPSED, r.id),
                as_of,
                assignee_id=r.owner_id,
                informed_id=manager_id,
                client_id=r.client_id,
                message=f"Contract {r.number} ended on {r.end_date.isoformat()} with no renewal decision; it lapsed",
                details={"contract_id": r.contract_id, "contract_number": r.number, "end_date": r.end_date.isoformat()},
            )
        )
    latest = _latest_activity(lo, hi)
    follow_ups = session.execute(
        select(
            Activity.id,
            Activity.renewal_id,
            Activity.author_id,
            Activity.next_follow_up_on,
            Activity.kind,
            Contract.number,
            Contract.client_id,
            Client.owner_id,
        )
        .join(latest, and_(latest.c.renewal_id == Activity.renewal_id, latest.c.latest_id == Activity.id))
        .join(Renewal, Renewal.id == Activity.renewal_id)
        .join(Contract, Contract.id == Renewal.contract_id)
        .join(Client, Client.id == Contract.client_id)
        .where(
            Renewal.id.between(lo, hi),
            Renewal.status.in_(OPEN_RENEWAL_STATUSES),
            Activity.next_follow_up_on.between(as_of - timedelta(days=FOLLOW_UP_CATCH_UP_DAYS), as_of),
        )
    )
    for f in follow_ups:
        if f.next_follow_up_on is None:  # selected by its date
            continue
        rows.append(
            _row(
                AlertSpec.of(AlertKind.FOLLOW_UP_DUE, f.renewal_id, date_threshold(f.next_follow_up_on)),
                as_of,
                # An activity logged by the system has no author: the account manager follows up.
                assignee_id=f.author_id if f.author_id is not None else f.owner_id,
                informed_id=None,
                client_id=f.client_id,
                message=f"Follow up on the renewal of contract {f.number} (planned for "
                f"{f.next_follow_up_on.isoformat()} after a {f.kind})",
                details={
                    "activity_id": f.id,
                    "contract_number": f.number,
                    "follow_up_on": f.next_follow_up_on.isoformat(),
                },
            )
        )
    raised = _raise(session, rows)
    return {"raised": raised, "resolved": _resolve_renewal_alerts(session, as_of, lo, hi)}


def _resolve_renewal_alerts(session: Session, as_of: date, lo: int, hi: int) -> int:
    latest = _latest_activity(lo, hi)
    stmt = (
        select(Alert.id, Alert.details, Renewal.status, latest.c.latest_id)
        .join(Renewal, Renewal.id == Alert.subject_id)
        .outerjoin(latest, latest.c.renewal_id == Renewal.id)
        .where(
            Alert.subject_type == SubjectType.RENEWAL,
            Alert.subject_id.between(lo, hi),
            Alert.kind == AlertKind.FOLLOW_UP_DUE,
            Alert.status != "resolved",
        )
    )
    gone = [
        a.id
        for a in session.execute(stmt)
        if not follow_up_alert_stands(
            renewal_status=a.status,
            latest_activity_id=a.latest_id,
            source_activity_id=(a.details or {}).get("activity_id"),
        )
    ]
    return _resolve_ids(session, gone, as_of)


# --------------------------------------------------------------------------------------------
# Clients: credit_limit
# --------------------------------------------------------------------------------------------


def _open_balances(as_of: date, lo: int, hi: int) -> Any:
    """Each client's open balance in its own currency (other currencies are never summed in),
    over the invoices issued by `as_of`."""
    return (
        select(Invoice.client_id, func.sum(Invoice.balance_minor).label("open_minor"))
        .join(Client, and_(Client.id == Invoice.client_id, Client.currency == Invoice.currency))
        .where(Invoice.client_id.between(lo, hi), _unpaid(), Invoice.issue_date <= as_of)
        .group_by(Invoice.client_id)
        .subquery("balances")
    )


def _scan_clients(session: Session, as_of: date, lo: int, hi: int) -> dict[str, int]:
    finance_id = _first_active(session, "finance")
    balances = _open_balances(as_of, lo, hi)
    over = session.execute(
        select(
            Client.id, Client.name, Client.currency, Client.credit_limit_minor, Client.owner_id, balances.c.open_minor
        )
        .join(balances, balances.c.client_id == Client.id)
        .where(Client.credit_limit_minor > 0, balances.c.open_minor > Client.credit_limit_minor)
    )
    rows = []
    for c in over:
        if not over_credit_limit(int(c.open_minor), c.credit_limit_minor):
            continue
        limit = money.from_minor(c.credit_limit_minor, c.currency)
        balance = money.from_minor(int(c.open_minor), c.currency)
        rows.append(
            _row(
                AlertSpec.of(AlertKind.CREDIT_LIMIT, c.id, c.credit_limit_minor),
                as_of,
                assignee_id=finance_id,
                informed_id=c.owner_id,
                client_id=c.id,
                message=f"{c.name} owes {balance} {c.currency}, above its credit limit of {limit} {c.currency}",
                details={
                    "open_balance": format(balance, "f"),
                    "credit_limit": format(limit, "f"),
                    "currency": c.currency,
                },
            )
        )
    raised = _raise(session, rows)
    return {"raised": raised, "resolved": _resolve_client_alerts(session, as_of, lo, hi)}


def _resolve_client_alerts(session: Session, as_of: date, lo: int, hi: int) -> int:
    balances = _open_balances(as_of, lo, hi)
    stmt = (
        select(
            Alert.id,
            Alert.threshold,
            Client.credit_limit_minor,
            func.coalesce(balances.c.open_minor, 0).label("open_minor"),
        )
        .join(Client, Client.id == Alert.subject_id)
        .outerjoin(balances, balances.c.client_id == Client.id)
        .where(
            Alert.subject_type == SubjectType.CLIENT,
            Alert.subject_id.between(lo, hi),
            Alert.kind == AlertKind.CREDIT_LIMIT,
            Alert.ended_on.is_(None),
        )
    )
    gone = [
        a.id
        for a in session.execute(stmt)
        if not credit_alert_stands(
            a.threshold, open_balance_minor=int(a.open_minor), credit_limit_minor=a.credit_limit_minor
        )
    ]
    return _resolve_ids(session, gone, as_of)


# --------------------------------------------------------------------------------------------
# Resolution on the event, for the receivables and renewal services
# --------------------------------------------------------------------------------------------


def resolve_for_invoice(session: Session, invoice_id: int, as_of: date) -> int:
    """Resolve at once the alerts an invoice's change made moot: its overdue and broken-promise
    alerts once it is paid, credited, voided or written off, and its client's credit-limit alert
    once the balance is back within the limit. Return how many were resolved."""
    return resolve_for_invoices(session, [invoice_id], as_of)


def resolve_for_invoices(session: Session, invoice_ids: Sequence[int], as_of: date) -> int:
    """Do what `resolve_for_invoice` does for several invoices (those one payment touched)."""
    if not invoice_ids:
        return 0
    session.flush()
    ids = sorted(set(invoice_ids))
    client_ids = sorted(set(session.scalars(select(Invoice.client_id).where(Invoice.id.in_(ids)))))
    resolved = _resolve_invoice_alerts(session, as_of, Invoice.id.in_(ids))
    for client_id in client_ids:
        resolved += _resolve_client_alerts(session, as_of, client_id, client_id)
    return resolved


def resolve_for_client(session: Session, client_id: int, as_of: date) -> int:
    """Resolve the client's credit-limit alert if its open balance is within the limit again."""
    session.flush()
    return _resolve_client_alerts(session, as_of, client_id, client_id)


def resolve_for_contract(session: Session, contract_id: int, as_of: date) -> int:
    """Resolve at once the renewal_due and notice_deadline alerts of a contract that was renewed,
    terminated or decided, and the follow-ups of its closed renewal. Return how many."""
    session.flush()
    resolved = _resolve_contract_alerts(session, as_of, contract_id, contract_id)
    renewal_id = session.scalar(select(Renewal.id).where(Renewal.contract_id == contract_id))
    if renewal_id is not None:
        resolved += _resolve_renewal_alerts(session, as_of, renewal_id, renewal_id)
    return resolved


# --------------------------------------------------------------------------------------------
# Payment reminders: one letter per client
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OverdueInvoice:
    """One line of a grouped payment reminder."""

    invoice_id: int
    number: str | None
    contract_id: int
    issue_date: date
    due_date: date
    days_overdue: int
    dunning_level: int
    currency: str
    total_minor: int
    balance_minor: int


def overdue_by_client(session: Session, as_of: date, client_id: int) -> list[OverdueInvoice]:
    """List every invoice of the client that a payment reminder on `as_of` should name, oldest
    due first, with its dunning level on that date.

    Never a paid, credited, voided or written-off invoice, nor one on hold (disputed, or a promise
    to pay whose date has not passed): one reminder lists them all, never one letter per invoice.
    """
    on_hold = or_(
        Invoice.hold_kind == "dispute",
        and_(Invoice.hold_kind == "promise", or_(Invoice.hold_until.is_(None), Invoice.hold_until >= as_of)),
    )
    found = session.execute(
        select(
            Invoice.id,
            Invoice.number,
            Invoice.contract_id,
            Invoice.issue_date,
            Invoice.due_date,
            Invoice.dunning_level,
            Invoice.currency,
            Invoice.total_minor,
            Invoice.balance_minor,
        )
        .where(
            Invoice.client_id == client_id,
            _unpaid(),
            Invoice.due_date < as_of,
            or_(Invoice.hold_kind.is_(None), ~on_hold),
        )
        .order_by(Invoice.due_date, Invoice.id)
    )
    return [
        OverdueInvoice(
            invoice_id=i.id,
            number=i.number,
            contract_id=i.contract_id,
            issue_date=i.issue_date,
            due_date=i.due_date,
            days_overdue=(as_of - i.due_date).days,
            dunning_level=dunning_level(i.due_date, as_of),
            currency=i.currency,
            total_minor=i.total_minor,
            balance_minor=i.balance_minor,
        )
        for i in found
    ]


__all__ = [
    "CHUNK_KINDS",
    "DELIVER_ACTOR",
    "Chunk",
    "OverdueInvoice",
    "finish",
    "overdue_by_client",
    "plan",
    "prepare",
    "resolve_for_client",
    "resolve_for_contract",
    "resolve_for_invoice",
    "resolve_for_invoices",
    "run_chunk",
    "run_day",
]
