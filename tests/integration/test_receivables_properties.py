"""Properties of the receivables reports against the real database, for random books.

Each example empties the database, then replays a random sequence of business days: every day
the billing run issues what is due, then the day's events are recorded through the services —
new contracts, payments (often partial, sometimes over), bounces, credit notes, write-offs —
each dated that day, in date order, the way a finance clerk records them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from renewals.db.engine import make_sessionmaker
from renewals.db.models import Client, Invoice, Payment, User
from renewals.domain.receivables.billing import run_billing
from renewals.domain.receivables.ledger import OPEN_STATUSES
from renewals.domain.receivables.reports import account_balances, aging, statement, unapplied_credit
from tests.conftest import truncate_all
from tests.factories import make_client, make_contract
from tests.integration.receivables_arrange import bounce, credit, pay, write_off

START = date(2026, 1, 1)
END = date(2026, 12, 31)
KINDS = ("contract", "contract", "contract", "pay", "pay", "pay", "bounce", "credit", "write_off")

day_event = st.tuples(
    st.integers(0, 240),  # day of the year it happens on
    st.sampled_from(KINDS),
    st.integers(0, 1),  # which client
    st.sampled_from(["USD", "KRW"]),
    st.integers(1, 3000),  # size of the amount
    st.integers(0, 10_000),  # which payment / invoice, payment terms
)
books = st.lists(day_event, min_size=3, max_size=14)
# The explain phase replays each failure hundreds of times against the database: skip it.
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Book:
    session: Session
    finance: User
    manager: User
    clients: list[Client] = field(default_factory=list)
    billed_through: date | None = None

    def bill(self, through: date) -> None:
        if self.billed_through is None or through > self.billed_through:
            run_billing(self.session, through, None)
            self.end_transaction()
            self.billed_through = through

    def end_transaction(self) -> None:
        # In the service each request or job has its own session, so it never sees rows loaded
        # before the billing run updated payments and invoices in bulk; forget them here too.
        self.session.flush()
        self.session.expire_all()

    def record(self, events: list[tuple[int, str, int, str, int, int]]) -> None:
        """Replay the events in date order, billing every day before its events."""
        for day_no, kind, who, currency, size, pick in sorted(events, key=lambda e: e[0]):
            day = START + timedelta(days=day_no)
            self.bill(day)
            client = self.clients[who]
            if kind == "contract":
                price = f"{size}.{pick % 100:02d}" if currency == "USD" else str(size * 1000)
                make_contract(
                    self.session,
                    client=client,
                    actor=self.manager,
                    start_date=day,
                    end_date=day + timedelta(days=89),
                    currency=currency,
                    payment_terms_days=pick % 61,
                    lines=[("Capacity", "1", price)],
                )
                run_billing(self.session, day, None)  # its first period starts today
                self.end_transaction()
            elif kind == "pay":
                invoiced = select(Invoice.id).where(Invoice.client_id == client.id, Invoice.currency == currency)
                if currency != client.currency and self.session.scalar(invoiced.limit(1)) is None:
                    continue  # refused by the payment guard: a currency the client does not deal in
                amount = f"{size}.{pick % 100:02d}" if currency == "USD" else str(size * 700)
                pay(self.session, client=client, actor=self.finance, amount=amount, currency=currency, on=day)
            elif kind == "bounce":
                live = self.session.scalars(
                    select(Payment).where(Payment.reversed.is_(False)).order_by(Payment.id)
                ).all()
                if live:
                    bounce(self.session, payment=live[pick % len(live)], actor=self.finance, on=day)
            else:
                owing = self.session.scalars(
                    select(Invoice)
                    .where(Invoice.status.in_(OPEN_STATUSES), Invoice.balance_minor > 0)
                    .order_by(Invoice.id)
                ).all()
                if not owing:
                    continue
                target = owing[pick % len(owing)]
                if kind == "write_off":
                    write_off(self.session, invoice=target, actor=self.manager, on=day)
                else:
                    minor = max(1, target.balance_minor * (size % 100 + 1) // 100)
                    amount = Decimal(minor).scaleb(-2) if target.currency == "USD" else Decimal(minor)
                    credit(self.session, invoice=target, actor=self.finance, amount=str(amount), on=day)
            self.end_transaction()
        statuses = sorted(s for (s,) in self.session.execute(select(Invoice.status).distinct()))
        event(f"invoice statuses: {', '.join(statuses) or 'none'}")


def new_book(engine: Engine) -> tuple[Session, Book]:
    truncate_all(engine)
    session = make_sessionmaker(engine)()
    # These users never sign in: skip the (deliberately slow) password hashing of make_user.
    manager, finance = (
        User(email=f"{role}@example.test", name=role, role=role, password_hash="!", active=True)
        for role in ("manager", "finance")
    )
    session.add_all([manager, finance])
    session.flush()
    book = Book(session, finance, manager)
    book.clients = [
        make_client(session, owner=manager, currency="USD"),
        make_client(session, owner=manager, currency="KRW"),
    ]
    return session, book


@PROPERTY
@given(events=books, mid=st.integers(0, 240))
def test_aging_buckets_sum_to_the_total_open_balance(engine, events, mid):
    session, book = new_book(engine)
    try:
        book.record(events)

        for as_of in (START + timedelta(days=mid), END):
            report = aging(session, book.finance, as_of)
            for section in report.currencies:
                assert sum(section.totals.values()) == section.total
                assert sum(g.total for g in section.groups) == section.total
                assert all(amount >= 0 for g in section.groups for amount in g.buckets.values())

        # At the end of the year the point-in-time figures meet the invoices' current balances.
        current = dict(
            session.execute(
                select(Invoice.currency, func.sum(Invoice.balance_minor))
                .where(Invoice.status.in_(OPEN_STATUSES), Invoice.balance_minor > 0)
                .group_by(Invoice.currency)
            ).all()
        )
        at_year_end = {s.currency: s.total for s in aging(session, book.finance, END).currencies if s.total}
        assert at_year_end == {c: Decimal(int(m)).scaleb(-2 if c == "USD" else 0) for c, m in current.items() if m}
    finally:
        session.close()


@PROPERTY
@given(events=books, later=books, split=st.integers(0, 240))
def test_aging_as_of_a_date_is_unchanged_by_anything_recorded_after_it(engine, events, later, split):
    session, book = new_book(engine)
    try:
        as_of = START + timedelta(days=split)
        book.record([e for e in events if e[0] <= split])
        book.bill(as_of)  # the day's billing run has happened by the end of the day
        before = {g: aging(session, book.finance, as_of, g) for g in ("client", "owner", "segment")}
        balances_before = [account_balances(session, c.id, as_of) for c in book.clients]

        # Everything recorded from here on is dated after `as_of`: billing runs, payments,
        # bounces of earlier payments, credit notes and write-offs of earlier invoices.
        book.record([e for e in events if e[0] > split] + [(split + 1 + e[0], *e[1:]) for e in later])
        book.bill(as_of + timedelta(days=300))

        assert {g: aging(session, book.finance, as_of, g) for g in before} == before
        assert [account_balances(session, c.id, as_of) for c in book.clients] == balances_before
    finally:
        session.close()


@PROPERTY
@given(events=books, first=st.integers(0, 240), length=st.integers(0, 120))
def test_statement_opening_plus_entries_equals_closing(engine, events, first, length):
    session, book = new_book(engine)
    try:
        book.record(events)
        book.bill(END)
        start, end = START + timedelta(days=first), START + timedelta(days=first + length)

        for client in book.clients:
            result = statement(session, book.finance, client.id, start, end)
            closing = account_balances(session, client.id, end)
            unapplied = unapplied_credit(session, client.id, end)
            for section in result.currencies:
                assert section.opening_balance + sum(e.amount for e in section.entries) == section.closing_balance
                assert [e.date for e in section.entries] == sorted(e.date for e in section.entries)
                assert all(start <= e.date <= end for e in section.entries)
                minor = closing.get(section.currency, 0)
                assert section.closing_balance == Decimal(minor).scaleb(-2 if section.currency == "USD" else 0)
                # The account balance is what is open on invoices less what was paid but not applied.
                assert section.closing_balance == section.aging.total - section.unapplied_credit
                assert section.unapplied_credit == Decimal(unapplied.get(section.currency, 0)).scaleb(
                    -2 if section.currency == "USD" else 0
                )
    finally:
        session.close()
