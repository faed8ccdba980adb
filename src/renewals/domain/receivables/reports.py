"""Receivables reports: the aging report with DSO, and the statement of account.

Both are point in time. Every balance-changing event carries the date it takes effect (invoice
``issue_date`` and ``voided_on``, allocation ``applied_on`` / ``reversed_on``, payment
``received_on`` / ``reversed_on``, credit note ``issued_on``, write-off ``written_off_on``), and
a figure "as of D" counts only what took effect on or before D. The denormalised current
figures on invoices and payments are never read here, so a past date gives the same figures
whenever it is run, whatever was recorded since.

Two balances meet here, and the statement shows both:

* an invoice's **open balance** as of D = total − live allocations − credit notes − write-offs;
  the aging report buckets these by due date;
* the client's **account balance** as of D = invoices − payments received + payment reversals
  − credit notes − write-offs; the statement's running balance. It differs from the aging total
  by exactly the unapplied credit as of D (payments received and not reversed, minus what of
  them was allocated and not reversed): ``account balance = aging total − unapplied credit``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

import msgspec
from sqlalchemy import BigInteger, ColumnElement, case, cast, func, literal, or_, select, union, union_all
from sqlalchemy.orm import Session

from renewals.db.models import (
    Allocation,
    Client,
    CreditNote,
    Invoice,
    Payment,
    ReceivableChange,
    ReceivableSale,
    ReceivableTotal,
    User,
    WriteOff,
)
from renewals.domain import money
from renewals.domain.access.rules import scope_clients, sees_everything
from renewals.domain.clients.service import get_visible
from renewals.domain.receivables.aging import DEFAULT_BOUNDS, bucket_bounds_as_due_dates, bucket_names, dso
from renewals.errors import ValidationFailed

GroupBy = Literal["client", "owner", "segment"]
GROUP_BY: tuple[str, ...] = ("client", "owner", "segment")
DEFAULT_DSO_DAYS = 90
MAX_DSO_DAYS = 3660
EntryKind = Literal["invoice", "payment", "credit_note", "payment_reversal", "write_off", "invoice_void"]
# Within one day: charges first, then what lowers the balance, reversals and voids last (they
# follow what they undo when both fall on the same day).
_KIND_ORDER: dict[str, int] = {
    "invoice": 0,
    "payment": 1,
    "credit_note": 2,
    "write_off": 3,
    "payment_reversal": 4,
    "invoice_void": 5,
}


# --- shapes (pinned: SPEC "Field names", the aging report) ------------------------------------


class AgingGroup(msgspec.Struct):
    key: int | str
    """The client id, the owner's user id, or the segment."""
    name: str
    buckets: dict[str, Decimal]
    total: Decimal


class AgingCurrency(msgspec.Struct):
    currency: str
    totals: dict[str, Decimal]
    total: Decimal
    dso: Decimal | None
    """Days sales outstanding: open receivables ÷ net invoiced in the trailing `dso_days` × days;
    null when nothing was invoiced in that window."""
    groups: list[AgingGroup]


class AgingReport(msgspec.Struct):
    as_of: date
    buckets: list[str]
    currencies: list[AgingCurrency]
    group_by: str
    dso_days: int


class StatementEntry(msgspec.Struct):
    date: date
    kind: EntryKind
    reference: str
    description: str
    amount: Decimal
    """Signed: positive raises what the client owes (invoice, payment reversal), negative lowers
    it (payment, credit note, write-off, voiding of an invoice)."""
    balance: Decimal
    """The running account balance after this entry."""


class StatementAging(msgspec.Struct):
    as_of: date
    buckets: dict[str, Decimal]
    total: Decimal


class StatementCurrency(msgspec.Struct):
    currency: str
    opening_balance: Decimal
    """The account balance at the end of the day before `from`."""
    entries: list[StatementEntry]
    closing_balance: Decimal
    """opening_balance + Σ entries.amount; equals aging.total − unapplied_credit."""
    unapplied_credit: Decimal
    """Payments received and not reversed by `to` that were not (yet) applied to an invoice."""
    aging: StatementAging


class Statement(msgspec.Struct):
    client_id: int
    client_name: str
    from_: date = msgspec.field(name="from")
    to: date = msgspec.field(name="to")
    buckets: list[str] = msgspec.field(default_factory=list)
    currencies: list[StatementCurrency] = msgspec.field(default_factory=list)


# --- point-in-time building blocks --------------------------------------------------------------


def _not_voided(as_of: date) -> ColumnElement[bool]:
    return or_(Invoice.voided_on.is_(None), Invoice.voided_on > as_of)


def _live_allocations(as_of: date) -> ColumnElement[bool]:
    return (Allocation.applied_on <= as_of) & or_(Allocation.reversed_on.is_(None), Allocation.reversed_on > as_of)


def _live_payments(as_of: date) -> ColumnElement[bool]:
    return (Payment.received_on <= as_of) & or_(Payment.reversed_on.is_(None), Payment.reversed_on > as_of)


def open_invoices(as_of: date, client_id: int | None = None) -> Any:
    """A subquery of invoices issued and not voided as of a date, each with its open balance then.

    Columns: ``invoice_id, client_id, currency, due_date, open_minor``; rows whose balance is
    zero are kept (callers filter), so the subquery stays one flat scan per event table.
    """
    paid = (
        select(Allocation.invoice_id, func.sum(Allocation.amount_minor).label("minor"))
        .where(_live_allocations(as_of))
        .group_by(Allocation.invoice_id)
        .subquery("paid")
    )
    credited = (
        select(CreditNote.invoice_id, func.sum(CreditNote.amount_minor).label("minor"))
        .where(CreditNote.issued_on <= as_of)
        .group_by(CreditNote.invoice_id)
        .subquery("credited")
    )
    written = (
        select(WriteOff.invoice_id, func.sum(WriteOff.amount_minor).label("minor"))
        .where(WriteOff.written_off_on <= as_of)
        .group_by(WriteOff.invoice_id)
        .subquery("written")
    )
    open_minor = (
        Invoice.total_minor
        - func.coalesce(paid.c.minor, 0)
        - func.coalesce(credited.c.minor, 0)
        - func.coalesce(written.c.minor, 0)
    )
    stmt = (
        select(
            Invoice.id.label("invoice_id"),
            Invoice.client_id,
            Invoice.currency,
            Invoice.due_date,
            open_minor.label("open_minor"),
        )
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .outerjoin(credited, credited.c.invoice_id == Invoice.id)
        .outerjoin(written, written.c.invoice_id == Invoice.id)
        .where(Invoice.issue_date <= as_of, _not_voided(as_of))
    )
    if client_id is not None:
        stmt = stmt.where(Invoice.client_id == client_id)
    return stmt.subquery("open_invoices")


def _from_now(session: Session, as_of: date) -> bool:
    """Whether to count back from today's totals (True) or forward from the first change.

    Both give the same figures; the cheaper reads fewer changes: those dated after `as_of`
    (back) or on or before it (forward). Guessed from where `as_of` falls between the first
    and the last change date (two index look-ups).
    """
    first = session.scalar(select(func.min(ReceivableChange.effective_on)))
    last = session.scalar(select(func.max(ReceivableChange.effective_on)))
    if first is None or last is None:
        return True
    return bool(as_of >= first + (last - first) / 2)


def ledger_parts(
    session: Session, as_of: date, client_id: int | None = None, *, from_now: bool | None = None
) -> list[Any]:
    """Subqueries of signed amounts whose sum per (client, currency, due date) is the open balance
    of those invoices as of a date, exactly as ``open_invoices`` gives it (each invoice's balance,
    counted only when positive).

    Columns: ``client_id, currency, due_date, amount_minor``. Read from the ledger the triggers
    keep (``db.models.ledger``): today's totals less the changes dated after `as_of`, or the
    changes dated on or before it, whichever reads fewer rows. An invoice's balance as of D can
    only be negative — which the per-invoice figure counts as nothing — when an allocation live
    on D was reversed later (the services never let today's balance go below zero, and credit
    notes and write-offs only accumulate), or when the invoice was voided by D: for those few
    invoices the negative part is added back. `from_now` forces the direction (tests use both).
    """
    ch = ReceivableChange
    parts: list[Any]
    if _from_now(session, as_of) if from_now is None else from_now:
        tot = ReceivableTotal
        parts = [
            select(tot.client_id, tot.currency, tot.due_date, tot.amount_minor),
            select(ch.client_id, ch.currency, ch.due_date, -ch.amount_minor).where(ch.effective_on > as_of),
        ]
    else:
        parts = [select(ch.client_id, ch.currency, ch.due_date, ch.amount_minor).where(ch.effective_on <= as_of)]
    maybe_negative = union(
        select(Allocation.invoice_id).where(Allocation.applied_on <= as_of, Allocation.reversed_on > as_of),
        select(Invoice.id).where(Invoice.voided_on <= as_of),
    ).subquery("maybe_negative")
    parts.append(
        select(ch.client_id, ch.currency, ch.due_date, -func.sum(ch.amount_minor))
        .where(ch.invoice_id.in_(select(maybe_negative.c.invoice_id)), ch.effective_on <= as_of)
        .group_by(ch.invoice_id, ch.client_id, ch.currency, ch.due_date)
        .having(func.sum(ch.amount_minor) < 0)
    )
    if client_id is not None:
        parts = [p.where(p.selected_columns[0] == client_id) for p in parts]
    columns = ("client_id", "currency", "due_date", "amount_minor")
    return [
        select(*(c.label(name) for c, name in zip(p.subquery().c, columns, strict=True))).subquery(f"part_{i}")
        for i, p in enumerate(parts)
    ]


def ledger_balances(
    session: Session, as_of: date, client_id: int | None = None, *, from_now: bool | None = None
) -> Any:
    """The rows of `ledger_parts` in one subquery, with the same columns."""
    parts = ledger_parts(session, as_of, client_id, from_now=from_now)
    rows = union_all(*(select(*p.c) for p in parts)).subquery("ledger")
    return select(*(c.label(c.name) for c in rows.c)).subquery("balances")


def _bucketed(session: Session, as_of: date, bounds: tuple[int, ...], client_id: int | None) -> Any:
    """Open amounts as of a date with their aging bucket, from a CASE on the due date."""
    ranges = bucket_bounds_as_due_dates(as_of, bounds)
    rows = ledger_balances(session, as_of, client_id)
    # Ranges come newest first and are contiguous, so testing `due_date >= earliest` in order
    # and falling through to the oldest bucket places every row exactly once.
    bucket = case(
        *[(rows.c.due_date >= r.earliest, literal(r.name)) for r in ranges[:-1]],
        else_=literal(ranges[-1].name),
    )
    return select(rows.c.client_id, rows.c.currency, rows.c.amount_minor, bucket.label("bucket")).subquery("bucketed")


def _amount(minor: Any, currency: str) -> Decimal:
    return money.from_minor(int(minor or 0), currency)


# --- aging report --------------------------------------------------------------------------------


def check_group_by(group_by: str) -> GroupBy:
    """Return the grouping if it is known; raise ValidationFailed naming `group_by` otherwise."""
    if group_by not in GROUP_BY:
        raise ValidationFailed("group_by", f"must be one of {', '.join(GROUP_BY)}", source="query")
    return group_by  # type: ignore[return-value]


def aging(
    session: Session,
    user: User,
    as_of: date,
    group_by: str = "client",
    bounds: tuple[int, ...] = DEFAULT_BOUNDS,
    dso_days: int = DEFAULT_DSO_DAYS,
) -> AgingReport:
    """Build the aging report as of a date, per currency, grouped by client, owner or segment.

    Open balances are computed in SQL from the dated events (see the module docstring) and
    bucketed by days past due; currencies are never summed together. DSO per currency is the
    open total ÷ invoices issued in the `dso_days` days ending on `as_of` (net of credit notes
    issued in that window) × `dso_days`. An account manager sees only their own clients.
    Raises ValidationFailed for an unknown `group_by`, bad bucket bounds or a `dso_days`
    outside 1..3660.
    """
    grouping = check_group_by(group_by)
    if not 1 <= dso_days <= MAX_DSO_DAYS:
        raise ValidationFailed("dso_days", f"must be between 1 and {MAX_DSO_DAYS}", source="query")
    names = bucket_names(bounds)
    by_currency: dict[str, dict[Any, tuple[str, list[int]]]] = defaultdict(dict)
    session.flush()  # as session.execute would; then Core rows, without the ORM's per-row work
    rows = session.connection().execute(_aging_statement(session, user, as_of, grouping, bounds)).all()
    for currency, key, name, bucket, minor in rows:
        group = by_currency[currency].get(key)
        if group is None:
            group = by_currency[currency][key] = (name, [0] * len(names))
        group[1][bucket] = minor
    sales = _net_sales(session, user, as_of, dso_days)

    currencies: list[AgingCurrency] = []
    for currency in sorted(set(by_currency) | set(sales)):
        # One scale per currency: a few thousand groups × buckets make the conversion matter.
        digits = money.decimals(currency)

        def amount(minor: int, digits: int = digits) -> Decimal:
            return Decimal(minor).scaleb(-digits)

        zero = amount(0)
        found = by_currency.get(currency, {})
        totals = [sum(column) for column in zip(*(minors for _, minors in found.values()), strict=True)]
        totals = totals or [0] * len(names)
        ordered = [(-sum(minors), name, str(key), key, minors) for key, (name, minors) in found.items()]
        # Largest exposure first, then by name: the order a finance clerk reads the report in.
        ordered.sort(key=lambda r: r[:3])
        groups = [
            AgingGroup(
                key=key,
                name=name,
                buckets={b: amount(m) if m else zero for b, m in zip(names, minors, strict=True)},
                total=amount(-negative),
            )
            for negative, name, _, key, minors in ordered
        ]
        total = amount(sum(totals))
        currencies.append(
            AgingCurrency(
                currency=currency,
                totals={b: amount(m) for b, m in zip(names, totals, strict=True)},
                total=total,
                dso=dso(total, amount(sales.get(currency, 0)), dso_days),
                groups=groups,
            )
        )
    return AgingReport(as_of=as_of, buckets=names, currencies=currencies, group_by=grouping, dso_days=dso_days)


def _aging_statement(session: Session, user: User, as_of: date, group_by: GroupBy, bounds: tuple[int, ...]) -> Any:
    """Rows of (currency, group key, group name, bucket number, open amount in minor units).

    Each part of the ledger is summed per currency, group id and bucket on its own (one
    aggregate the planner can estimate), the parts' sums are added up, and only the result rows
    are joined to the names. A bucket adds up positive invoice balances, so zero means empty.
    """
    spans = bucket_bounds_as_due_dates(as_of, bounds)
    sums = []
    for part in ledger_parts(session, as_of):
        group: Any = {"client": part.c.client_id, "owner": Client.owner_id, "segment": Client.segment}[group_by]
        # Spans come newest first and are contiguous: the first whose earliest day the due date
        # reaches is its bucket, and the oldest takes the rest.
        bucket = case(
            *[(part.c.due_date >= span.earliest, i) for i, span in enumerate(spans[:-1])],
            else_=len(spans) - 1,
        ).label("bucket")
        summed: Any = select(part.c.currency, group.label("key"), bucket, func.sum(part.c.amount_minor).label("minor"))
        if group_by != "client" or not sees_everything(user):
            # By client for someone who sees every client, the totals' own key is enough.
            summed = scope_clients(summed.join(Client, Client.id == part.c.client_id), user)
        sums.append(summed.group_by(part.c.currency, group, bucket))
    both = union_all(*sums).subquery("sums")
    minor = func.sum(both.c.minor)
    summed = (
        select(both.c.currency, both.c.key, both.c.bucket, cast(minor, BigInteger).label("minor"))
        .group_by(both.c.currency, both.c.key, both.c.bucket)
        .having(minor != 0)
        .subquery("summed")
    )
    if group_by == "client":
        name: Any = Client.name
        stmt = select(summed.c.currency, summed.c.key, name, summed.c.bucket, summed.c.minor)
        return stmt.join(Client, Client.id == summed.c.key)
    if group_by == "owner":
        stmt = select(summed.c.currency, summed.c.key, User.name, summed.c.bucket, summed.c.minor)
        return stmt.join(User, User.id == summed.c.key)
    return select(summed.c.currency, summed.c.key, summed.c.key, summed.c.bucket, summed.c.minor)


def _net_sales(session: Session, user: User, as_of: date, days: int) -> dict[str, int]:
    """Invoiced in the window (as_of − days, as_of], net of credit notes issued in it, per currency.

    For someone who sees every client, from the daily sales the triggers keep, less the invoices
    of the window voided by `as_of`; for an account manager, from their clients' invoices.
    """
    since = as_of - timedelta(days=days - 1)
    if sees_everything(user):
        sale = ReceivableSale
        sold: Any = select(sale.currency.label("currency"), sale.amount_minor.label("minor"), sale.entries).where(
            sale.day >= since, sale.day <= as_of
        )
        # Few invoices are ever voided: find them by that date. The issue date is wrapped so no
        # planner walks the window's invoices by it instead (SQLite would).
        issued = func.coalesce(Invoice.issue_date, Invoice.issue_date)
        voided: Any = select(Invoice.currency, -Invoice.total_minor, literal(-1)).where(
            Invoice.voided_on <= as_of, issued >= since, issued <= as_of
        )
        both = union_all(sold, voided).subquery("sales")
        # A currency counts when an invoice or credit note of the window is left, as below.
        entries = func.sum(both.c.entries)
        rows = session.execute(
            select(both.c.currency, func.sum(both.c.minor)).group_by(both.c.currency).having(entries > 0)
        ).all()
        return {currency: int(minor or 0) for currency, minor in rows}
    invoiced_rows: Any = (
        select(Invoice.currency.label("currency"), Invoice.total_minor.label("minor"))
        .join(Client, Client.id == Invoice.client_id)
        .where(Invoice.issue_date >= since, Invoice.issue_date <= as_of, _not_voided(as_of))
    )
    credited_rows: Any = (
        select(CreditNote.currency.label("currency"), (-CreditNote.amount_minor).label("minor"))
        .join(Client, Client.id == CreditNote.client_id)
        .where(CreditNote.issued_on >= since, CreditNote.issued_on <= as_of)
    )
    both = union_all(scope_clients(invoiced_rows, user), scope_clients(credited_rows, user)).subquery("sales")
    rows = session.execute(select(both.c.currency, func.sum(both.c.minor)).group_by(both.c.currency)).all()
    return {currency: int(minor or 0) for currency, minor in rows}


# --- statement of account ------------------------------------------------------------------------


def account_balances(session: Session, client_id: int, as_of: date) -> dict[str, int]:
    """Return the client's account balance in minor units per currency at the end of a day.

    Invoices issued and not voided − payments received and not reversed − credit notes −
    write-offs, each counted only if it took effect on or before `as_of`.
    """
    parts = [
        select(Invoice.currency.label("currency"), Invoice.total_minor.label("minor")).where(
            Invoice.client_id == client_id, Invoice.issue_date <= as_of, _not_voided(as_of)
        ),
        select(Payment.currency, -Payment.amount_minor).where(Payment.client_id == client_id, _live_payments(as_of)),
        select(CreditNote.currency, -CreditNote.amount_minor).where(
            CreditNote.client_id == client_id, CreditNote.issued_on <= as_of
        ),
        select(WriteOff.currency, -WriteOff.amount_minor).where(
            WriteOff.client_id == client_id, WriteOff.written_off_on <= as_of
        ),
    ]
    both = union_all(*parts).subquery("ledger")
    rows = session.execute(select(both.c.currency, func.sum(both.c.minor)).group_by(both.c.currency)).all()
    return {currency: int(minor or 0) for currency, minor in rows}


def unapplied_credit(session: Session, client_id: int, as_of: date) -> dict[str, int]:
    """Return, per currency, what the client had paid by the end of a day but was not yet applied."""
    allocated = (
        select(Allocation.payment_id, func.sum(Allocation.amount_minor).label("minor"))
        .join(Invoice, Invoice.id == Allocation.invoice_id)
        .where(_live_allocations(as_of), Invoice.issue_date <= as_of, _not_voided(as_of))
        .group_by(Allocation.payment_id)
        .subquery("allocated")
    )
    rows = session.execute(
        select(Payment.currency, func.sum(Payment.amount_minor - func.coalesce(allocated.c.minor, 0)))
        .outerjoin(allocated, allocated.c.payment_id == Payment.id)
        .where(Payment.client_id == client_id, _live_payments(as_of))
        .group_by(Payment.currency)
    ).all()
    return {currency: int(minor or 0) for currency, minor in rows}


def client_aging(
    session: Session, client_id: int, as_of: date, bounds: tuple[int, ...] = DEFAULT_BOUNDS
) -> dict[str, dict[str, int]]:
    """Return the client's open balances per currency and bucket (minor units) as of a date."""
    rows = _bucketed(session, as_of, bounds, client_id)
    amount = func.sum(rows.c.amount_minor)
    out: dict[str, dict[str, int]] = {}
    for currency, bucket, minor in session.execute(
        select(rows.c.currency, rows.c.bucket, amount).group_by(rows.c.currency, rows.c.bucket).having(amount != 0)
    ):
        out.setdefault(currency, dict.fromkeys(bucket_names(bounds), 0))[bucket] = int(minor)
    return out


def statement(
    session: Session,
    user: User,
    client_id: int,
    from_: date,
    to: date,
    bounds: tuple[int, ...] = DEFAULT_BOUNDS,
) -> Statement:
    """Build a client's statement of account for the days `from_` … `to` (both inclusive).

    One section per currency with an opening balance (end of the day before `from_`), every
    invoice, payment, payment reversal, credit note and write-off dated in the period in date
    order with a running balance, the closing balance, the unapplied credit and the aging as of
    `to`. Raises NotFound for a client the user may not see, ValidationFailed (naming `to`)
    when the period ends before it starts.
    """
    if to < from_:
        raise ValidationFailed("to", "must not be before `from`", source="query")
    client = get_visible(session, user, client_id)
    opening = account_balances(session, client.id, from_ - timedelta(days=1))
    entries = _entries(session, client.id, from_, to)
    credit = unapplied_credit(session, client.id, to)
    aged = client_aging(session, client.id, to, bounds)
    names = bucket_names(bounds)

    sections: list[StatementCurrency] = []
    currencies = {c for c, m in opening.items() if m} | set(entries) | {c for c, m in credit.items() if m} | set(aged)
    for currency in sorted(currencies):
        balance = opening.get(currency, 0)
        lines: list[StatementEntry] = []
        for day, kind, reference, description, minor in entries.get(currency, []):
            balance += minor
            lines.append(
                StatementEntry(
                    date=day,
                    kind=kind,
                    reference=reference,
                    description=description,
                    amount=_amount(minor, currency),
                    balance=_amount(balance, currency),
                )
            )
        buckets = aged.get(currency, dict.fromkeys(names, 0))
        sections.append(
            StatementCurrency(
                currency=currency,
                opening_balance=_amount(opening.get(currency, 0), currency),
                entries=lines,
                closing_balance=_amount(balance, currency),
                unapplied_credit=_amount(credit.get(currency, 0), currency),
                aging=StatementAging(
                    as_of=to,
                    buckets={b: _amount(m, currency) for b, m in buckets.items()},
                    total=_amount(sum(buckets.values()), currency),
                ),
            )
        )
    return Statement(
        client_id=client.id, client_name=client.name, from_=from_, to=to, buckets=names, currencies=sections
    )


_Entry = tuple[date, EntryKind, str, str, int]


def _entries(session: Session, client_id: int, from_: date, to: date) -> dict[str, list[_Entry]]:
    """Every event of the period per currency, in date order (a few set-based queries)."""
    raw: list[tuple[date, EntryKind, int, str, str, str, int]] = []
    invoices = session.execute(
        select(
            Invoice.issue_date,
            Invoice.voided_on,
            Invoice.id,
            Invoice.currency,
            Invoice.number,
            Invoice.period_start,
            Invoice.period_end,
            Invoice.total_minor,
        ).where(
            Invoice.client_id == client_id,
            or_(
                (Invoice.issue_date >= from_) & (Invoice.issue_date <= to),
                (Invoice.voided_on >= from_) & (Invoice.voided_on <= to),
            ),
        )
    )
    for day, voided_on, ident, currency, number, start, end, minor in invoices:
        ref, period = number or f"#{ident}", f"{start.isoformat()} – {end.isoformat()}"
        if from_ <= day <= to:
            raw.append((day, "invoice", ident, currency, ref, period, minor))
        if voided_on is not None and from_ <= voided_on <= to:
            raw.append((voided_on, "invoice_void", ident, currency, ref, period, -minor))
    payments = session.execute(
        select(
            Payment.id,
            Payment.currency,
            Payment.received_on,
            Payment.reversed_on,
            Payment.method,
            Payment.reference,
            Payment.amount_minor,
        ).where(
            Payment.client_id == client_id,
            or_(
                (Payment.received_on >= from_) & (Payment.received_on <= to),
                (Payment.reversed_on >= from_) & (Payment.reversed_on <= to),
            ),
        )
    )
    for ident, currency, received, reversed_on, method, reference, minor in payments:
        ref = reference or f"#{ident}"
        if from_ <= received <= to:
            raw.append((received, "payment", ident, currency, ref, method, -minor))
        if reversed_on is not None and from_ <= reversed_on <= to:
            raw.append((reversed_on, "payment_reversal", ident, currency, ref, method, minor))
    credits = session.execute(
        select(
            CreditNote.issued_on,
            CreditNote.id,
            CreditNote.currency,
            CreditNote.number,
            Invoice.number,
            CreditNote.amount_minor,
        )
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .where(CreditNote.client_id == client_id, CreditNote.issued_on >= from_, CreditNote.issued_on <= to)
    )
    for day, ident, currency, number, invoice_number, minor in credits:
        raw.append((day, "credit_note", ident, currency, number or f"#{ident}", invoice_number or "", -minor))
    write_offs = session.execute(
        select(WriteOff.written_off_on, WriteOff.id, WriteOff.currency, Invoice.number, WriteOff.amount_minor)
        .join(Invoice, Invoice.id == WriteOff.invoice_id)
        .where(WriteOff.client_id == client_id, WriteOff.written_off_on >= from_, WriteOff.written_off_on <= to)
    )
    for day, ident, currency, invoice_number, minor in write_offs:
        raw.append((day, "write_off", ident, currency, invoice_number or f"#{ident}", "bad debt", -minor))

    raw.sort(key=lambda e: (e[0], _KIND_ORDER[e[1]], e[2]))
    out: dict[str, list[_Entry]] = defaultdict(list)
    for day, kind, _ident, currency, reference, description, minor in raw:
        out[currency].append((day, kind, reference, description, minor))
    return out
