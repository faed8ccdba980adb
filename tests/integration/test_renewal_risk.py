"""The stored risk score (`renewals.risk`) against the pure rule (`rules.risk_score`).

The pure rule is the oracle: after each kind of event that feeds it (the day's scan, a payment
and its reversal, a credit note, a write-off, an activity, a transition, a contract edit, a
reassignment, a renewal record opened), every renewal's stored score equals the rule applied to
the book as it stands, on both backends. The SQL arithmetic itself is held against the rule over
generated inputs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, literal, select

from renewals.db.models import Activity, Contract, Invoice, Renewal
from renewals.db.types import UTCDateTime
from renewals.domain.clients.schemas import ClientPatch
from renewals.domain.clients.service import update_client
from renewals.domain.contracts.schemas import ContractPatch, LineIn
from renewals.domain.contracts.service import update_contract
from renewals.domain.daily.scan import run_day
from renewals.domain.money import from_minor
from renewals.domain.receivables.invoices import issue_credit_note, write_off
from renewals.domain.receivables.ledger import OPEN_STATUSES as UNPAID_STATUSES
from renewals.domain.receivables.payments import record_payment, reverse_payment
from renewals.domain.receivables.schemas import CreditNoteIn, PaymentIn, ReversalIn, WriteOffIn
from renewals.domain.renewals import risk, rules
from renewals.domain.renewals.reads import list_renewals
from renewals.domain.renewals.records import open_renewal_for
from renewals.domain.renewals.schemas import ActivityIn, TransitionIn
from renewals.domain.renewals.transitions import add_activity, transition
from tests.factories import TIERS, make_client, make_contract, make_user
from tests.integration.renewals_arrange import contract_ending, open_invoice

AS_OF = date(2026, 6, 1)


def expected_scores(session, as_of):
    """Every renewal's score by the pure rule, from the rows as they stand (Python, not SQL)."""
    out = {}
    for renewal, contract in session.execute(
        select(Renewal, Contract).join(Contract, Contract.id == Renewal.contract_id).order_by(Renewal.id)
    ):
        if renewal.status not in rules.OPEN_STATUSES:
            out[renewal.id] = 0
            continue
        invoices = session.scalars(select(Invoice).where(Invoice.client_id == contract.client_id)).all()
        unpaid = [i for i in invoices if i.status in UNPAID_STATUSES and i.balance_minor > 0]
        overdue = sum(i.balance_minor for i in unpaid if i.currency == contract.currency and i.due_date < as_of)
        level = max((i.dunning_level for i in unpaid), default=0)
        times = session.scalars(select(Activity.at).where(Activity.renewal_id == renewal.id)).all()
        silent = None if not times else (as_of - max(times).astimezone(UTC).date()).days
        ratio = rules.overdue_ratio(
            from_minor(overdue, contract.currency), from_minor(contract.monthly_value_minor, contract.currency)
        )
        out[renewal.id] = rules.risk_score((renewal.end_date - as_of).days, ratio, level, silent)
    return out


def stored_scores(session):
    session.expire_all()
    return dict(session.execute(select(Renewal.id, Renewal.risk_score).order_by(Renewal.id)).all())


def check(session, as_of):
    """Assert the stored scores equal the rule's; return them."""
    stored = stored_scores(session)
    assert stored == expected_scores(session, as_of)
    return stored


@pytest.fixture
def world(session):
    roles = {"mina": "account_manager", "wei": "account_manager", "finance": "finance", "manager": "manager"}
    people = {name: make_user(session, role=role, name=name.title()) for name, role in roles.items()}
    acme = make_client(session, owner=people["mina"], name="Acme")
    other = make_client(session, owner=people["wei"], name="Globex")
    # The client's overdue balance counts against each of its contracts, in months of that contract.
    soon, soon_renewal = contract_ending(
        session, client=acme, actor=people["mina"], end=date(2026, 9, 30), as_of=AS_OF, lines=[("Rack", "10", "1000")]
    )
    later, later_renewal = contract_ending(
        session, client=acme, actor=people["mina"], end=date(2026, 11, 20), as_of=AS_OF, lines=[("Rack", "1", "1000")]
    )
    contract_ending(session, client=other, actor=people["wei"], end=date(2026, 8, 15), as_of=AS_OF)
    old = open_invoice(session, contract=soon, due=date(2026, 3, 1), balance="1500.00")
    open_invoice(session, contract=later, due=date(2026, 4, 20), balance="3000.00")
    open_invoice(session, contract=later, due=date(2026, 6, 20), balance="1000.00")  # not yet due
    session.commit()
    return people | {
        "acme": acme,
        "soon": soon,
        "later": later,
        "soon_renewal": soon_renewal.id,
        "later_renewal": later_renewal.id,
        "old_invoice": old.id,
    }


def test_the_stored_score_is_the_rule_after_every_kind_of_event(session, world):
    mina, finance, acme = world["mina"], world["finance"], world["acme"]
    soon_id, later_id = world["soon_renewal"], world["later_renewal"]

    # The day's scan: dunning levels set from the days past due, then every renewal scored.
    run_day(session, AS_OF)
    scanned = check(session, AS_OF)
    assert scanned[later_id] > scanned[soon_id] > 0  # owes three months, and is in dunning

    body, _ = record_payment(
        session, finance, PaymentIn(client_id=acme.id, amount="2000.00", currency="USD"), None, AS_OF
    )
    paid = check(session, AS_OF)
    assert paid[soon_id] < scanned[soon_id]  # the oldest invoice (the soon contract's) is paid off

    reverse_payment(session, finance, body["id"], ReversalIn(reason="Bounced"), AS_OF)
    assert check(session, AS_OF) == scanned

    issue_credit_note(session, finance, world["old_invoice"], CreditNoteIn(amount="1000.00", reason="Goodwill"), AS_OF)
    credited = check(session, AS_OF)
    assert credited[soon_id] < scanned[soon_id]

    manager = world["manager"]
    write_off(session, manager, world["old_invoice"], WriteOffIn(reason="Settled out of court"), AS_OF)
    check(session, AS_OF)

    # Logged late in the evening UTC ten days ago: silence counts calendar days.
    at = datetime(2026, 5, 22, 23, 30, tzinfo=UTC)
    add_activity(session, mina, later_id, ActivityIn(kind="call", text="Spoke to the CFO", at=at), as_of=AS_OF)
    spoke = check(session, AS_OF)
    assert spoke[later_id] < credited[later_id]

    later = world["later"]
    four_racks = [LineIn(description="Rack", quantity=Decimal(4), monthly_unit_price=Decimal(1000))]
    update_contract(session, mina, later.id, ContractPatch(version=later.version, lines=four_racks), TIERS, as_of=AS_OF)
    bigger = check(session, AS_OF)
    assert bigger[later_id] < spoke[later_id]  # the same debt is fewer months of a larger contract

    transition(session, mina, soon_id, TransitionIn(to="contacted"), as_of=AS_OF)
    check(session, AS_OF)
    transition(session, mina, soon_id, TransitionIn(to="lost", reason="Went in-house"), as_of=AS_OF)
    assert check(session, AS_OF)[soon_id] == 0

    update_client(session, world["manager"], acme.id, ClientPatch(version=acme.version, owner_id=world["wei"].id))
    check(session, AS_OF)

    # A week on, the scan moves every score with the calendar.
    run_day(session, AS_OF + timedelta(days=7))
    week_on = check(session, AS_OF + timedelta(days=7))
    assert week_on[later_id] > bigger[later_id]
    session.rollback()


def test_a_renewal_record_opened_by_a_contract_is_scored_at_once(session, world):
    acme, mina = world["acme"], world["mina"]
    run_day(session, AS_OF)
    contract = make_contract(session, client=acme, actor=mina, start_date=date(2025, 7, 1), end_date=date(2026, 6, 30))
    open_renewal_for(session, contract.id, AS_OF)
    scores = check(session, AS_OF)
    opened = session.scalar(select(Renewal.id).where(Renewal.contract_id == contract.id))
    assert scores[opened] > 0
    session.rollback()


def test_the_worklist_by_risk_follows_the_stored_score_after_an_event(session, world):
    mina, finance, acme = world["mina"], world["finance"], world["acme"]
    run_day(session, AS_OF)
    before, _ = list_renewals(session, mina, as_of=AS_OF, sort="risk")
    assert [r.id for r in before] == [world["later_renewal"], world["soon_renewal"]]

    record_payment(session, finance, PaymentIn(client_id=acme.id, amount="5000.00", currency="USD"), None, AS_OF)
    after, total = list_renewals(session, mina, as_of=AS_OF, sort="risk")

    # Debt paid, the later renewal falls behind the sooner one: the order is right before the next scan.
    assert [r.id for r in after] == [world["soon_renewal"], world["later_renewal"]]
    assert total == 2
    assert [r.risk_score for r in after] == sorted((r.risk_score for r in after), reverse=True)
    assert all(r.overdue_balance == 0 for r in after)
    session.rollback()


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    days_left=st.integers(-400, 400),
    overdue=st.integers(-(10**9), 10**12),
    monthly=st.integers(-10, 10**10),
    level=st.integers(-1, 6),
    silent=st.one_of(st.none(), st.integers(-5, 90)),
)
def test_the_sql_arithmetic_equals_the_rule(session, days_left, overdue, monthly, level, silent):
    at = None if silent is None else datetime.combine(AS_OF - timedelta(days=silent), datetime.min.time(), UTC)
    last = literal(at, UTCDateTime())
    expr = risk.score(
        literal(days_left),
        literal(overdue, BigInteger()),
        literal(monthly, BigInteger()),
        literal(level),
        risk.silence_days(last, AS_OF, "UTC"),
    )
    ratio = rules.overdue_ratio(Decimal(overdue), Decimal(monthly))
    assert session.scalar(select(expr)) == rules.risk_score(days_left, ratio, level, silent)
