"""Payment services: record (idempotent by key), reverse, list — each change audited once."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from typing import Any, cast

import msgspec
from sqlalchemy import Row, Select, Table, bindparam, exists, insert, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.util import identity_key

from renewals.db.dialect import insert_ignoring_conflicts
from renewals.db.models import Allocation, Client, Invoice, Payment, User
from renewals.domain import money
from renewals.domain.access.rules import WRITE_RECEIVABLES, can_see_client, require_role, scope_clients
from renewals.domain.access.visible import load_visible
from renewals.domain.alerts.instant import resolve_for_client_invoices
from renewals.domain.audit import record, record_many
from renewals.domain.pagination import paginate
from renewals.domain.receivables.allocation import (
    Allocation as Allocated,
)
from renewals.domain.receivables.allocation import (
    OpenItem,
    allocate_oldest_first,
    validate_allocations,
)
from renewals.domain.receivables.invoices import refresh
from renewals.domain.receivables.ledger import Figures, status_for
from renewals.domain.receivables.queries import not_disputed, unpaid
from renewals.domain.receivables.schemas import AllocationOut, PaymentIn, PaymentOut, ReversalIn
from renewals.domain.renewals import risk
from renewals.errors import Conflict, NotFound, ValidationFailed

MAX_KEY = 200


def payment_out(payment: Payment) -> PaymentOut:
    cur = payment.currency
    return PaymentOut(
        id=payment.id,
        client_id=payment.client_id,
        amount=money.from_minor(payment.amount_minor, cur),
        currency=cur,
        received_on=payment.received_on,
        method=payment.method,
        reference=payment.reference,
        unapplied=money.from_minor(payment.unapplied_minor, cur),
        allocations=[
            AllocationOut(invoice_id=a.invoice_id, amount=money.from_minor(a.amount_minor, cur))
            for a in payment.allocations
        ],
        reversed=payment.reversed,
        reversed_on=payment.reversed_on,
    )


def _body(payment: Payment) -> dict[str, Any]:
    body: dict[str, Any] = msgspec.to_builtins(payment_out(payment))
    return body


def fingerprint(data: PaymentIn) -> str:
    """A stable digest of the request as sent, to tell a retry from another request reusing a key."""
    canonical = msgspec.json.encode(msgspec.to_builtins(data), order="sorted")
    return hashlib.sha256(canonical).hexdigest()


def _replay(session: Session, actor: User, key: str, digest: str) -> dict[str, Any] | None:
    existing = session.scalar(select(Payment).where(Payment.created_by == actor.id, Payment.idempotency_key == key))
    if existing is None:
        return None
    if existing.request_fingerprint != digest:
        raise Conflict(
            f"Idempotency-Key {key!r} was already used for a different payment request",
            extra=[{"key": "Idempotency-Key", "message": "already used with a different body", "source": "header"}],
        )
    return existing.first_response or _body(existing)


# The payment path's statements, built once (their SQL and cache keys are then computed once).
_INVOICE = Invoice.__table__.c
_OPEN_ITEMS = (
    select(
        Invoice.id,
        Invoice.due_date,
        Invoice.issue_date,
        Invoice.balance_minor,
        Invoice.total_minor,
        Invoice.paid_minor,
        Invoice.credited_minor,
        Invoice.written_off_minor,
        Invoice.voided_on,
    )
    .where(Invoice.client_id == bindparam("client_id"), Invoice.currency == bindparam("currency"), unpaid())
    .order_by(Invoice.due_date, Invoice.issue_date, Invoice.id)
    .with_for_update()
)
_OPEN_UNDISPUTED = _OPEN_ITEMS.where(not_disputed())
_CLIENT_AND_USED_KEY = select(
    Client,
    exists()
    .where(Payment.created_by == bindparam("actor_id"), Payment.idempotency_key == bindparam("key"))
    .label("used"),
).where(Client.id == bindparam("client_id"))
_ALLOCATE = insert(cast(Table, Allocation.__table__))
_PAY_INVOICE = (
    update(cast(Table, Invoice.__table__))
    .where(_INVOICE.id == bindparam("invoice_id"))
    .values(
        paid_minor=bindparam("paid"),
        balance_minor=bindparam("balance"),
        status=bindparam("status"),
        version=_INVOICE.version + 1,
    )
)
_PAYMENT = cast(Table, Payment.__table__)
_FINISH = (
    update(_PAYMENT)
    .where(_PAYMENT.c.id == bindparam("payment_id"))
    .values(unapplied_minor=bindparam("unapplied"), first_response=bindparam("body"), version=_PAYMENT.c.version + 1)
)
_INSERT_BY_DIALECT: dict[str, Any] = {}


def _insert_payment(session: Session, values: dict[str, Any]) -> int | None:
    """Insert the payment; its id, or None when the caller's Idempotency-Key is taken (a
    concurrent request with the same key committed first)."""
    dialect = session.get_bind().dialect.name
    stmt = _INSERT_BY_DIALECT.get(dialect)
    if stmt is None:
        table = Payment.__table__
        stmt = _INSERT_BY_DIALECT[dialect] = insert_ignoring_conflicts(session, table).returning(table.c.id)
    inserted: int | None = session.execute(stmt, values).scalar_one_or_none()
    return inserted


def _open_items(session: Session, client_id: int, currency: str, *, include_disputed: bool) -> list[Row[Any]]:
    """The client's open invoices in one currency, locked, in the order a payment pays them."""
    stmt = _OPEN_ITEMS if include_disputed else _OPEN_UNDISPUTED
    rows: list[Row[Any]] = list(session.execute(stmt, {"client_id": client_id, "currency": currency}))
    held = [row.id for row in rows if session.identity_map.get(identity_key(Invoice, row.id)) is not None]
    if held:
        # Copies the caller's session already holds are brought up to date as a load of the
        # entities would (in the API's fresh sessions there are none).
        current = select(Invoice).where(Invoice.id.in_(held)).execution_options(populate_existing=True)
        session.scalars(current).all()
    return rows


def _decide(
    session: Session, client_id: int, cur: str, amount: Decimal, data: PaymentIn
) -> tuple[Allocated, dict[int, Row[Any]]]:
    invoices = _open_items(session, client_id, cur, include_disputed=data.allocations is not None)
    by_id = {inv.id: inv for inv in invoices}
    items = [
        OpenItem(inv.id, inv.due_date, inv.issue_date, money.from_minor(inv.balance_minor, cur)) for inv in invoices
    ]
    if data.allocations is None:
        return allocate_oldest_first(items, amount), by_id
    given = [
        (a.invoice_id, money.parse_amount(a.amount, cur, f"allocations[{i}].amount"))
        for i, a in enumerate(data.allocations)
    ]
    return validate_allocations(items, amount, given, cur), by_id


def _pay_invoices(session: Session, paid: list[tuple[Row[Any], int]]) -> None:
    """Add what the payment pays to each locked invoice, with its balance and status (as
    `invoices.refresh` computes them), in one statement. An invoice this session already holds
    is paid through that copy instead, so the copy stays loaded and current (read again, it
    would open a transaction of its own in the caller's session)."""
    rows = []
    for inv, minor in paid:
        figures = Figures(inv.total_minor, inv.paid_minor + minor, inv.credited_minor, inv.written_off_minor)
        status = status_for(figures, voided=inv.voided_on is not None)
        held = session.identity_map.get(identity_key(Invoice, inv.id))
        if isinstance(held, Invoice):
            held.paid_minor, held.balance_minor, held.status = figures.paid, figures.balance, status
        else:
            rows.append({"invoice_id": inv.id, "paid": figures.paid, "balance": figures.balance, "status": status})
    if rows:
        session.execute(_PAY_INVOICE, rows)


def _check_client_currency(session: Session, client: Client, currency: str) -> None:
    """Raise ValidationFailed naming `currency` unless it is the client's default or one it was invoiced in."""
    if currency == client.currency:
        return
    invoiced = select(Invoice.id).where(Invoice.client_id == client.id, Invoice.currency == currency).limit(1)
    if session.scalar(invoiced) is None:
        raise ValidationFailed(
            "currency", f"the client is billed in {client.currency} and has no invoice in {currency}"
        )


def _client_and_used_key(session: Session, actor: User, client_id: int, key: str | None) -> tuple[Client | None, bool]:
    """The client (None when there is none) and whether the caller may have used the key already,
    in one query. With no such client the key is reported as possibly used, to be looked up."""
    if key is None:
        return session.get(Client, client_id), False
    row = session.execute(_CLIENT_AND_USED_KEY, {"actor_id": actor.id, "key": key, "client_id": client_id}).first()
    if row is None:
        return None, True
    return row[0], bool(row[1])


def record_payment(
    session: Session, actor: User, data: PaymentIn, idempotency_key: str | None, today: date
) -> tuple[dict[str, Any], bool]:
    """Record a payment and apply it; return the response body and whether it is a replay.

    Without explicit allocations the payment pays the client's open invoices in its currency,
    oldest due date first (disputed invoices are skipped); what is left stays unapplied credit.
    A request repeating an earlier Idempotency-Key with the same body gets the first response
    back and records nothing. Raise Forbidden, NotFound (client), ValidationFailed (amount,
    currency — neither the client's default nor one it was invoiced in —, `received_on` after
    today, allocations, key), Conflict (the key was used with a different body).

    Lean on purpose (it is the API's busiest write): the client and the key's earlier use are
    read in one query; the payment is inserted with `ON CONFLICT DO NOTHING` on the key, no
    savepoint (a concurrent request with the same key that committed first makes the insert
    skip, and its answer is replayed); the allocations go in one statement, and the answer is
    shaped from what was written, not read back.
    """
    require_role(actor, WRITE_RECEIVABLES, "recording a payment")
    key = idempotency_key.strip() if idempotency_key is not None else None
    if key is not None and not 1 <= len(key) <= MAX_KEY:
        raise ValidationFailed("Idempotency-Key", f"must be 1 to {MAX_KEY} characters", source="header")
    digest = fingerprint(data)
    client, used = _client_and_used_key(session, actor, data.client_id, key)
    if used and key is not None:
        replay = _replay(session, actor, key, digest)
        if replay is not None:
            return replay, True
    if client is None or not can_see_client(actor, client):
        raise NotFound("client", data.client_id)
    cur = money.check_currency(data.currency)
    amount = money.parse_amount(data.amount, cur, "amount")
    if amount <= 0:
        raise ValidationFailed("amount", "must be positive")
    received_on = data.received_on or today
    if received_on > today:
        raise ValidationFailed("received_on", f"must not be after today ({today}): money not yet received")
    _check_client_currency(session, client, cur)
    values: dict[str, Any] = {
        "client_id": client.id,
        "amount_minor": money.to_minor(amount, cur),
        "currency": cur,
        "received_on": received_on,
        "method": data.method.strip(),
        "reference": (data.reference or "").strip() or None,
        "unapplied_minor": 0,
        "reversed": False,
        "idempotency_key": key,
        "request_fingerprint": digest,
        "created_by": actor.id,
    }
    payment_id = _insert_payment(session, values)
    if payment_id is None:
        # Another request with the same key committed first: answer as it did (or 409).
        replay = _replay(session, actor, key, digest) if key is not None else None
        if replay is None:
            raise Conflict(f"Idempotency-Key {key!r} is in use by another request; retry")
        return replay, True
    decided, invoices = _decide(session, client.id, cur, amount, data)
    values["unapplied_minor"] = money.to_minor(decided.unapplied, cur)
    allocations: list[dict[str, Any]] = []
    paid: list[tuple[Row[Any], int]] = []
    for alloc in decided.allocations:
        invoice = invoices[alloc.invoice_id]
        minor = money.to_minor(alloc.amount, cur)
        allocations.append(
            {
                "payment_id": payment_id,
                "invoice_id": invoice.id,
                "amount_minor": minor,
                "applied_on": max(received_on, invoice.issue_date),
                "reversed_on": None,
            }
        )
        paid.append((invoice, minor))
    if allocations:
        session.execute(_ALLOCATE, allocations)
        _pay_invoices(session, paid)
        # A settled invoice's reminders and its client's credit warning go at once, not at the next scan.
        resolve_for_client_invoices(session, client.id, [a["invoice_id"] for a in allocations], today)
        risk.refresh_client(session, client.id, today)
    # The answer, shaped by `payment_out` from what was just written (nothing read back).
    recorded = Payment(id=payment_id, **values, allocations=[Allocation(**a) for a in allocations])
    body = _body(recorded)
    session.execute(_FINISH, {"payment_id": payment_id, "unapplied": values["unapplied_minor"], "body": body})
    record_many(session, actor, [("create", "payment", payment_id, None, body)])
    return body, False


def get_visible_payment(session: Session, user: User, payment_id: int, *, for_update: bool = False) -> Payment:
    """Load a payment of a client the user may see, with its allocations (one query); anything else is NotFound."""
    return load_visible(
        session, user, Payment, payment_id, lines=Payment.allocations, what="payment", for_update=for_update
    )


def reverse_payment(session: Session, actor: User, payment_id: int, data: ReversalIn, today: date) -> Payment:
    """Reverse a bounced payment: every invoice it paid gets that amount back as balance.

    Raise Forbidden, NotFound, Conflict (already reversed), ValidationFailed (a reversal date
    before the payment was received).
    """
    # Visibility first: another account manager's payment is 404 whatever the caller's role.
    payment = get_visible_payment(session, actor, payment_id, for_update=True)
    require_role(actor, WRITE_RECEIVABLES, "reversing a payment")
    if payment.reversed:
        raise Conflict(
            f"payment {payment.id} was already reversed on {payment.reversed_on}",
            extra={"reversed": True, "reversed_on": str(payment.reversed_on)},
        )
    reversed_on = data.reversed_on or today
    if reversed_on < payment.received_on:
        raise ValidationFailed("reversed_on", f"must not be before the payment was received ({payment.received_on})")
    if reversed_on > today:
        raise ValidationFailed("reversed_on", f"must not be after today ({today})")
    before = _body(payment)
    live = [a for a in payment.allocations if a.reversed_on is None]
    invoices = {
        inv.id: inv
        for inv in session.scalars(
            select(Invoice).where(Invoice.id.in_([a.invoice_id for a in live])).order_by(Invoice.id).with_for_update()
        )
    }
    for alloc in live:
        alloc.reversed_on = reversed_on
        invoice = invoices[alloc.invoice_id]
        invoice.paid_minor -= alloc.amount_minor
        refresh(invoice)
    payment.reversed, payment.reversed_on, payment.unapplied_minor = True, reversed_on, 0
    payment.reversal_reason = (data.reason or "").strip() or None
    session.flush()
    risk.refresh_client(session, payment.client_id, today)
    record(
        session, actor, "reverse", "payment", payment.id, before, _body(payment) | {"reason": payment.reversal_reason}
    )
    return payment


def list_payments(
    session: Session,
    user: User,
    *,
    limit: int,
    offset: int,
    client_id: int | None = None,
    currency: str | None = None,
    received_from: date | None = None,
    received_to: date | None = None,
    reversed: bool | None = None,
    unapplied: bool | None = None,
) -> tuple[list[Payment], int]:
    """Payments of clients the user may see, newest first. Raise ValidationFailed on a reversed range."""
    stmt: Select[tuple[Payment]] = scope_clients(
        select(Payment).join(Client, Client.id == Payment.client_id), user
    ).options(selectinload(Payment.allocations))
    if received_from is not None and received_to is not None and received_to < received_from:
        raise ValidationFailed("received_to", "must be on or after received_from", source="query")
    if client_id is not None:
        stmt = stmt.where(Payment.client_id == client_id)
    if currency is not None:
        stmt = stmt.where(Payment.currency == currency)
    if received_from is not None:
        stmt = stmt.where(Payment.received_on >= received_from)
    if received_to is not None:
        stmt = stmt.where(Payment.received_on <= received_to)
    if reversed is not None:
        stmt = stmt.where(Payment.reversed.is_(reversed))
    if unapplied is not None:
        stmt = stmt.where(Payment.unapplied_minor > 0 if unapplied else Payment.unapplied_minor == 0)
    return paginate(session, stmt.order_by(Payment.received_on.desc(), Payment.id.desc()), limit, offset)
