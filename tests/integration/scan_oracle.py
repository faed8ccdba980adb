"""The oracle of the set-based scan: the same day evaluated row by row in Python with the pure
rules (`alerts.rules`, `alerts.lifecycle`), as the scan did before it was written in SQL.

Plain SELECTs read each subject; the pure functions decide; the rows, messages and details are
built in Python exactly as the per-row scan built them; the writes are plain per-row statements.
`run_day_per_row` runs the whole day (the shared renewal steps of `prepare` and `finish`, and
this evaluation for every subject) in the caller's transaction, so a test can run it in a
savepoint, read the outcome and roll it back, then run the real scan on the same book.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session

from renewals.db.models import Activity, Alert, AuditEntry, Client, Contract, Invoice, Renewal, User
from renewals.domain import money
from renewals.domain.alerts import lifecycle
from renewals.domain.alerts.rules import (
    DEFAULT_THRESHOLDS,
    EPISODE_KINDS,
    AlertKind,
    AlertSpec,
    Thresholds,
    date_threshold,
    dunning_level,
    episode_key,
    follow_up_window,
    lapse_window,
    notice_deadline_alert,
    opt_out_deadline,
    renewal_due_alert,
)
from renewals.domain.daily import scan
from renewals.domain.receivables.ledger import OPEN_STATUSES as UNPAID
from renewals.domain.renewals.rules import OPEN_STATUSES as OPEN_RENEWAL


def run_day_per_row(session: Session, as_of: date, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> None:
    """The whole scan of `as_of`, per row, in the caller's transaction."""
    scan.prepare(session, as_of)
    session.flush()
    finance = _first(session, "finance")
    manager = _first(session, "manager")
    raised: list[dict[str, Any]] = []
    raised += _contracts(session, as_of, thresholds)
    raised += _invoices(session, as_of, thresholds, finance)
    raised += _renewals(session, as_of, manager)
    raised += _clients(session, as_of, finance)
    _insert_new(session, raised)
    _resolve(session, as_of, thresholds)
    scan.finish(session, as_of)
    session.flush()


def _first(session: Session, role: str) -> int | None:
    return session.scalar(select(func.min(User.id)).where(User.role == role, User.active.is_(True)))


def _row(spec: AlertSpec, as_of: date, assignee: Any, informed: Any, client: Any, message: str, details: Any) -> Any:
    return {
        "kind": spec.kind.value,
        "subject_type": spec.subject_type.value,
        "subject_id": spec.subject_id,
        "threshold": spec.threshold,
        "severity": spec.severity.value,
        "assignee_id": assignee,
        "informed_id": informed,
        "client_id": client,
        "status": "open",
        "raised_on": as_of,
        "dedupe_key": spec.dedupe_key,
        "message": message,
        "details": details,
    }


def _undecided(session: Session, contract_id: int) -> bool:
    status = session.scalar(select(Renewal.status).where(Renewal.contract_id == contract_id))
    return status is None or status in OPEN_RENEWAL


def _contracts(session: Session, as_of: date, t: Thresholds) -> list[dict[str, Any]]:
    rows = []
    for c, owner in session.execute(
        select(Contract, Client.owner_id).join(Client, Client.id == Contract.client_id).order_by(Contract.id)
    ):
        if c.status != "active" or not _undecided(session, c.id):
            continue
        due = renewal_due_alert(c.id, c.end_date, as_of, t.renewal_due)
        if due is not None:
            days = (c.end_date - as_of).days
            rows.append(
                _row(
                    due,
                    as_of,
                    owner,
                    None,
                    c.client_id,
                    f"Contract {c.number} ends in {days} days, on {c.end_date.isoformat()}",
                    {"contract_number": c.number, "end_date": c.end_date.isoformat(), "days_left": days},
                )
            )
        notice = notice_deadline_alert(c.id, c.end_date, c.notice_period_days, as_of, t.notice_lead_days)
        if c.auto_renew and c.end_date >= as_of and notice is not None:
            opt_out = opt_out_deadline(c.end_date, c.notice_period_days).isoformat()
            rows.append(
                _row(
                    notice,
                    as_of,
                    owner,
                    None,
                    c.client_id,
                    f"Contract {c.number} renews automatically unless the client opts out by {opt_out}",
                    {"contract_number": c.number, "opt_out_deadline": opt_out, "end_date": c.end_date.isoformat()},
                )
            )
    return rows


def _invoices(session: Session, as_of: date, t: Thresholds, finance: int | None) -> list[dict[str, Any]]:
    rows = []
    for inv, owner in session.execute(
        select(Invoice, Client.owner_id).join(Client, Client.id == Invoice.client_id).order_by(Invoice.id)
    ):
        unpaid = inv.status in UNPAID and inv.balance_minor > 0
        held, version = inv.hold_kind, inv.version
        balance = money.from_minor(inv.balance_minor, inv.currency)
        if unpaid and inv.hold_kind == "promise" and inv.hold_until is not None and inv.hold_until < as_of:
            spec = AlertSpec.of(AlertKind.PROMISE_BROKEN, inv.id, date_threshold(inv.hold_until))
            until = inv.hold_until.isoformat()
            rows.append(
                _row(
                    spec,
                    as_of,
                    finance,
                    owner,
                    inv.client_id,
                    f"Invoice {inv.number}: the promise to pay by {until} was broken; "
                    f"{balance} {inv.currency} still due, the hold is lifted",
                    {
                        "invoice_number": inv.number,
                        "promised_by": until,
                        "balance": format(balance, "f"),
                        "currency": inv.currency,
                    },
                )
            )
            before = {
                "kind": "promise",
                "until": until,
                "reason": inv.hold_reason,
                "held_on": inv.held_on.isoformat() if inv.held_on else None,
            }
            _audit(
                session,
                "lift_hold",
                inv.id,
                {"hold": before},
                {"hold": None, "why": f"promise to pay by {until} broken"},
            )
            version += 1
            _set_invoice(
                session, inv.id, hold_kind=None, hold_until=None, hold_reason=None, held_on=None, version=version
            )
            held = None
        if not (unpaid and inv.due_date < as_of and held is None):
            continue
        level = max(dunning_level(inv.due_date, as_of, t.dunning), inv.dunning_level)
        if level > inv.dunning_level:
            _audit(session, "dunning", inv.id, {"dunning_level": inv.dunning_level}, {"dunning_level": level})
            _set_invoice(session, inv.id, dunning_level=level, version=version + 1)
        if level == 0:
            continue
        days = (as_of - inv.due_date).days
        rows.append(
            _row(
                AlertSpec.of(AlertKind.INVOICE_OVERDUE, inv.id, level),
                as_of,
                finance,
                owner,
                inv.client_id,
                f"Invoice {inv.number} is {days} days overdue ({balance} {inv.currency}); dunning level {level}",
                {
                    "invoice_number": inv.number,
                    "due_date": inv.due_date.isoformat(),
                    "days_overdue": days,
                    "balance": format(balance, "f"),
                    "currency": inv.currency,
                    "dunning_level": level,
                },
            )
        )
    return rows


def _renewals(session: Session, as_of: date, manager: int | None) -> list[dict[str, Any]]:
    rows = []
    first, last = lapse_window(as_of)
    catch_up, today = follow_up_window(as_of)
    for r, c, owner in session.execute(
        select(Renewal, Contract, Client.owner_id)
        .join(Contract, Contract.id == Renewal.contract_id)
        .join(Client, Client.id == Contract.client_id)
        .order_by(Renewal.id)
    ):
        if r.status == "lapsed" and first <= r.end_date <= last:
            end = r.end_date.isoformat()
            rows.append(
                _row(
                    AlertSpec.of(AlertKind.RENEWAL_LAPSED, r.id),
                    as_of,
                    owner,
                    manager,
                    c.client_id,
                    f"Contract {c.number} ended on {end} with no renewal decision; it lapsed",
                    {"contract_id": c.id, "contract_number": c.number, "end_date": end},
                )
            )
        latest = session.scalar(
            select(Activity).where(Activity.renewal_id == r.id).order_by(Activity.id.desc()).limit(1)
        )
        if r.status not in OPEN_RENEWAL or latest is None or latest.next_follow_up_on is None:
            continue
        if catch_up <= latest.next_follow_up_on <= today:
            planned = latest.next_follow_up_on.isoformat()
            rows.append(
                _row(
                    AlertSpec.of(AlertKind.FOLLOW_UP_DUE, r.id, date_threshold(latest.next_follow_up_on)),
                    as_of,
                    latest.author_id if latest.author_id is not None else owner,
                    None,
                    c.client_id,
                    f"Follow up on the renewal of contract {c.number} (planned for {planned} after a {latest.kind})",
                    {"activity_id": latest.id, "contract_number": c.number, "follow_up_on": planned},
                )
            )
    return rows


def _balance(session: Session, client: Client, as_of: date) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Invoice.balance_minor), 0)).where(
                Invoice.client_id == client.id,
                Invoice.currency == client.currency,
                Invoice.status.in_(UNPAID),
                Invoice.balance_minor > 0,
                Invoice.issue_date <= as_of,
            )
        )
        or 0
    )


def _clients(session: Session, as_of: date, finance: int | None) -> list[dict[str, Any]]:
    rows = []
    for client in session.scalars(select(Client).order_by(Client.id)):
        open_minor = _balance(session, client, as_of)
        if not lifecycle.over_credit_limit(open_minor, client.credit_limit_minor):
            continue
        limit = money.from_minor(client.credit_limit_minor, client.currency)
        balance = money.from_minor(open_minor, client.currency)
        rows.append(
            _row(
                AlertSpec.of(AlertKind.CREDIT_LIMIT, client.id, client.credit_limit_minor),
                as_of,
                finance,
                client.owner_id,
                client.id,
                f"{client.name} owes {balance} {client.currency}, above its credit limit of {limit} {client.currency}",
                {"open_balance": format(balance, "f"), "credit_limit": format(limit, "f"), "currency": client.currency},
            )
        )
    return rows


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> None:
    """Number each episode kind's key after its ended episodes, then insert each row whose key is new."""
    for row in rows:
        if row["kind"] in EPISODE_KINDS:
            ended = session.scalar(
                select(func.count()).where(
                    Alert.kind == row["kind"],
                    Alert.subject_type == row["subject_type"],
                    Alert.subject_id == row["subject_id"],
                    Alert.threshold == row["threshold"],
                    Alert.ended_on.is_not(None),
                )
            )
            row["dedupe_key"] = episode_key(row["dedupe_key"], int(ended or 0) + 1)
        if session.scalar(select(Alert.id).where(Alert.dedupe_key == row["dedupe_key"])) is None:
            session.execute(insert(Alert).values(**row))


def _resolve(session: Session, as_of: date, t: Thresholds) -> None:
    """Resolve (and end the episode of) every alert whose cause the pure rules say is gone."""
    for alert in session.scalars(select(Alert).order_by(Alert.id)):
        if alert.kind in lifecycle.CONTRACT_KINDS:
            c = session.get(Contract, alert.subject_id)
            if c is None or alert.status == "resolved":
                continue
            renewal = session.scalar(select(Renewal.status).where(Renewal.contract_id == c.id))
            stands = lifecycle.contract_alert_stands(
                alert.kind,
                alert.threshold,
                contract_status=c.status,
                renewal_status=renewal,
                end_date=c.end_date,
                auto_renew=c.auto_renew,
                notice_period_days=c.notice_period_days,
                as_of=as_of,
                thresholds=t,
            )
        elif alert.kind in lifecycle.INVOICE_KINDS:
            inv = session.get(Invoice, alert.subject_id)
            if inv is None or alert.ended_on is not None:
                continue
            stands = lifecycle.invoice_alert_stands(
                alert.kind,
                alert.threshold,
                status=inv.status,
                balance_minor=inv.balance_minor,
                dunning_level=inv.dunning_level,
            )
        elif alert.kind == AlertKind.FOLLOW_UP_DUE:
            r = session.get(Renewal, alert.subject_id)
            if r is None or alert.status == "resolved":
                continue
            latest = session.scalar(select(func.max(Activity.id)).where(Activity.renewal_id == r.id))
            stands = lifecycle.follow_up_alert_stands(
                renewal_status=r.status,
                latest_activity_id=latest,
                source_activity_id=(alert.details or {}).get("activity_id"),
            )
        elif alert.kind == AlertKind.CREDIT_LIMIT:
            client = session.get(Client, alert.subject_id)
            if client is None or alert.ended_on is not None:
                continue
            stands = lifecycle.credit_alert_stands(
                alert.threshold,
                open_balance_minor=_balance(session, client, as_of),
                credit_limit_minor=client.credit_limit_minor,
            )
        else:
            continue
        if stands:
            continue
        if alert.ended_on is None:
            alert.ended_on = as_of
        if alert.status != "resolved":
            alert.status, alert.resolved_on, alert.resolution = "resolved", as_of, "auto"
    session.flush()


def _audit(session: Session, action: str, invoice_id: int, before: Any, after: Any) -> None:
    session.execute(
        insert(AuditEntry).values(
            action=action, entity_type="invoice", entity_id=invoice_id, before=before, after=after
        )
    )


def _set_invoice(session: Session, invoice_id: int, **values: Any) -> None:
    session.execute(
        update(Invoice).where(Invoice.id == invoice_id).values(**values).execution_options(synchronize_session=False)
    )


def outcome(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """What a scan leaves that the oracle decides: every alert (but its id and stamps), the
    invoices' dunning levels, holds and versions, and the scan's audit entries, each sorted."""
    alerts = session.execute(
        select(
            Alert.dedupe_key,
            Alert.kind,
            Alert.subject_type,
            Alert.subject_id,
            Alert.threshold,
            Alert.severity,
            Alert.assignee_id,
            Alert.informed_id,
            Alert.client_id,
            Alert.status,
            Alert.raised_on,
            Alert.resolved_on,
            Alert.resolution,
            Alert.ended_on,
            Alert.message,
            Alert.details,
        )
    ).all()
    invoices = session.execute(
        select(Invoice.id, Invoice.dunning_level, Invoice.hold_kind, Invoice.hold_until, Invoice.version)
    ).all()
    audit = session.execute(
        select(
            AuditEntry.action, AuditEntry.entity_type, AuditEntry.entity_id, AuditEntry.before, AuditEntry.after
        ).where(and_(AuditEntry.action.in_(("dunning", "lift_hold")), AuditEntry.actor_id.is_(None)))
    ).all()
    return {
        "alerts": sorted(((*tuple(a[:15]), repr(a[15])) for a in alerts), key=repr),
        "invoices": sorted(tuple(i) for i in invoices),
        "audit": sorted((tuple(a) for a in audit), key=repr),
    }


Key = tuple[str, str, int, int | None]


def fresh_book_keys(session: Session, as_of: date, t: Thresholds = DEFAULT_THRESHOLDS) -> list[Key]:
    """The (kind, subject type, subject id, threshold) of every alert a scan of `as_of` must raise
    on a book that has none yet, once the day's renewal steps are done: a few whole-table SELECTs
    and the pure rules, nothing of the scan's own SQL. Sorted."""
    keys: list[Key] = []

    def add(spec: AlertSpec | None) -> None:
        if spec is not None:
            keys.append((spec.kind.value, spec.subject_type.value, spec.subject_id, spec.threshold))

    decided = {
        contract_id
        for contract_id, status in session.execute(select(Renewal.contract_id, Renewal.status))
        if status not in OPEN_RENEWAL
    }
    for cid, status, end, notice_days, auto in session.execute(
        select(Contract.id, Contract.status, Contract.end_date, Contract.notice_period_days, Contract.auto_renew)
    ):
        if status != "active" or cid in decided:
            continue
        add(renewal_due_alert(cid, end, as_of, t.renewal_due))
        if auto and end >= as_of:
            add(notice_deadline_alert(cid, end, notice_days, as_of, t.notice_lead_days))
    for iid, status, balance, due, hold, until, stored in session.execute(
        select(
            Invoice.id,
            Invoice.status,
            Invoice.balance_minor,
            Invoice.due_date,
            Invoice.hold_kind,
            Invoice.hold_until,
            Invoice.dunning_level,
        )
    ):
        if status not in UNPAID or balance <= 0:
            continue
        if hold == "promise" and until is not None and until < as_of:
            add(AlertSpec.of(AlertKind.PROMISE_BROKEN, iid, date_threshold(until)))
            hold = None  # the scan lifts it
        if hold is None and due < as_of:
            level = max(dunning_level(due, as_of, t.dunning), stored)
            add(AlertSpec.of(AlertKind.INVOICE_OVERDUE, iid, level) if level else None)
    first, last = lapse_window(as_of)
    catch_up, today = follow_up_window(as_of)
    latest: dict[int, tuple[int, date | None]] = {}
    for aid, rid, follow_up in session.execute(
        select(Activity.id, Activity.renewal_id, Activity.next_follow_up_on).order_by(Activity.id)
    ):
        latest[rid] = (aid, follow_up)
    for rid, status, end in session.execute(select(Renewal.id, Renewal.status, Renewal.end_date)):
        if status == "lapsed" and first <= end <= last:
            add(AlertSpec.of(AlertKind.RENEWAL_LAPSED, rid))
        follow_up = latest.get(rid, (0, None))[1]
        if status in OPEN_RENEWAL and follow_up is not None and catch_up <= follow_up <= today:
            add(AlertSpec.of(AlertKind.FOLLOW_UP_DUE, rid, date_threshold(follow_up)))
    for client in session.scalars(select(Client)):
        if lifecycle.over_credit_limit(_balance(session, client, as_of), client.credit_limit_minor):
            add(AlertSpec.of(AlertKind.CREDIT_LIMIT, client.id, client.credit_limit_minor))
    return sorted(keys, key=repr)
