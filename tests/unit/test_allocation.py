"""Payment allocation: oldest due date first, and checks on explicit allocations."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renewals.domain.receivables.allocation import (
    Allocated,
    OpenItem,
    allocate_oldest_first,
    oldest_first,
    validate_allocations,
)
from renewals.errors import ValidationFailed


def item(invoice_id: int, due: date, balance: str, issued: date | None = None) -> OpenItem:
    return OpenItem(
        invoice_id=invoice_id,
        due_date=due,
        issue_date=issued or due - timedelta(days=30),
        balance=Decimal(balance),
    )


def test_payment_pays_the_oldest_due_date_first() -> None:
    items = [
        item(1, date(2025, 3, 31), "100.00"),
        item(2, date(2025, 1, 31), "100.00"),
        item(3, date(2025, 2, 28), "100.00"),
    ]

    result = allocate_oldest_first(items, Decimal("150.00"))

    assert result.allocations == [Allocated(2, Decimal("100.00")), Allocated(3, Decimal("50.00"))]
    assert result.unapplied == Decimal(0)


def test_overpayment_leaves_the_rest_unapplied() -> None:
    items = [item(1, date(2025, 1, 31), "100.00"), item(2, date(2025, 2, 28), "40.00")]

    result = allocate_oldest_first(items, Decimal("200.00"))

    assert result.applied == Decimal("140.00")
    assert result.unapplied == Decimal("60.00")


def test_payment_with_no_open_invoices_is_all_unapplied() -> None:
    result = allocate_oldest_first([], Decimal("75.50"))

    assert result.allocations == []
    assert result.unapplied == Decimal("75.50")


def test_invoices_due_the_same_day_go_by_issue_date_then_invoice_id() -> None:
    due = date(2025, 1, 31)
    items = [
        item(9, due, "10", issued=date(2025, 1, 1)),
        item(4, due, "10", issued=date(2025, 1, 2)),
        item(7, due, "10", issued=date(2025, 1, 1)),
    ]

    assert [i.invoice_id for i in oldest_first(items)] == [7, 9, 4]
    assert allocate_oldest_first(items, Decimal(15)).allocations == [
        Allocated(7, Decimal(10)),
        Allocated(9, Decimal(5)),
    ]


def test_invoices_with_nothing_left_to_pay_are_skipped() -> None:
    items = [item(1, date(2025, 1, 31), "0"), item(2, date(2025, 2, 28), "20")]

    assert allocate_oldest_first(items, Decimal(5)).allocations == [Allocated(2, Decimal(5))]


def test_krw_payment_allocates_whole_won() -> None:
    items = [item(1, date(2025, 1, 31), "390323"), item(2, date(2025, 2, 28), "390323")]

    result = allocate_oldest_first(items, Decimal(500000))

    assert result.allocations == [Allocated(1, Decimal(390323)), Allocated(2, Decimal(109677))]


def test_negative_payment_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as caught:
        allocate_oldest_first([], Decimal("-1.00"))

    assert "amount" in caught.value.fields


def test_explicit_allocations_within_balances_are_kept_as_given() -> None:
    items = [item(1, date(2025, 1, 31), "100.00"), item(2, date(2025, 2, 28), "100.00")]

    result = validate_allocations(items, Decimal("150.00"), [(2, Decimal("80.00")), (1, Decimal("20.00"))], "USD")

    assert result.allocations == [Allocated(2, Decimal("80.00")), Allocated(1, Decimal("20.00"))]
    assert result.unapplied == Decimal("50.00")


def test_explicit_allocation_above_the_invoice_balance_names_the_field() -> None:
    items = [item(1, date(2025, 1, 31), "100.00"), item(2, date(2025, 2, 28), "30.00")]
    allocations = [(1, Decimal("10.00")), (1, Decimal("1.00")), (2, Decimal("30.01"))]

    with pytest.raises(ValidationFailed) as caught:
        validate_allocations(items, Decimal("500.00"), allocations, "USD")

    assert set(caught.value.fields) == {"allocations[1].invoice_id", "allocations[2].amount"}


def test_explicit_allocation_to_an_invoice_that_is_not_open_names_the_field() -> None:
    items = [item(1, date(2025, 1, 31), "100.00")]

    with pytest.raises(ValidationFailed) as caught:
        validate_allocations(items, Decimal("10.00"), [(1, Decimal("5.00")), (99, Decimal("5.00"))], "USD")

    assert list(caught.value.fields) == ["allocations[1].invoice_id"]


@pytest.mark.parametrize("amount", [Decimal(0), Decimal("-5.00"), Decimal("1.005")])
def test_explicit_allocation_amount_must_be_positive_and_in_minor_units(amount: Decimal) -> None:
    items = [item(1, date(2025, 1, 31), "100.00")]

    with pytest.raises(ValidationFailed) as caught:
        validate_allocations(items, Decimal("10.00"), [(1, amount)], "USD")

    assert list(caught.value.fields) == ["allocations[0].amount"]


def test_explicit_allocations_may_not_exceed_the_payment() -> None:
    items = [item(1, date(2025, 1, 31), "100.00"), item(2, date(2025, 2, 28), "100.00")]

    with pytest.raises(ValidationFailed) as caught:
        validate_allocations(items, Decimal("100.00"), [(1, Decimal("60.00")), (2, Decimal("60.00"))], "USD")

    assert list(caught.value.fields) == ["allocations"]


# --- properties ------------------------------------------------------------------------------

money = st.integers(min_value=0, max_value=5_000_000).map(lambda n: Decimal(n).scaleb(-2))


@st.composite
def open_items(draw: st.DrawFn) -> list[OpenItem]:
    ids = draw(st.lists(st.integers(min_value=1, max_value=10_000), unique=True, max_size=12))
    base = date(2024, 12, 31)
    return [
        OpenItem(
            invoice_id=invoice_id,
            due_date=base + timedelta(days=draw(st.integers(min_value=0, max_value=60))),
            issue_date=base - timedelta(days=draw(st.integers(min_value=0, max_value=60))),
            balance=draw(money),
        )
        for invoice_id in ids
    ]


@given(items=open_items(), amount=money)
def test_allocation_never_exceeds_the_payment_or_any_balance(items: list[OpenItem], amount: Decimal) -> None:
    balances = {i.invoice_id: i.balance for i in items}

    result = allocate_oldest_first(items, amount)

    assert result.applied + result.unapplied == amount
    assert result.applied <= amount
    assert result.unapplied >= 0
    assert len({a.invoice_id for a in result.allocations}) == len(result.allocations)
    for allocated in result.allocations:
        assert 0 < allocated.amount <= balances[allocated.invoice_id]
        assert balances[allocated.invoice_id] - allocated.amount >= 0


@given(items=open_items(), amount=money)
def test_allocation_pays_older_invoices_in_full_before_newer_ones(items: list[OpenItem], amount: Decimal) -> None:
    result = allocate_oldest_first(items, amount)

    paid = {a.invoice_id: a.amount for a in result.allocations}
    ordered = [i for i in oldest_first(items) if i.balance > 0]
    partially_paid_seen = False
    for open_item in ordered:
        got = paid.get(open_item.invoice_id, Decimal(0))
        if partially_paid_seen:
            assert got == 0
        elif got < open_item.balance:
            partially_paid_seen = True
    if result.unapplied > 0:
        assert all(paid.get(i.invoice_id) == i.balance for i in ordered)


@given(
    items=open_items(),
    amount=money,
    picks=st.lists(st.tuples(st.integers(min_value=0, max_value=12), money), max_size=8),
)
def test_accepted_explicit_allocations_respect_the_payment_and_every_balance(
    items: list[OpenItem], amount: Decimal, picks: list[tuple[int, Decimal]]
) -> None:
    ids = [i.invoice_id for i in items] + [0]  # 0 is never an open invoice
    allocations = [(ids[n % len(ids)], value) for n, value in picks]
    balances = {i.invoice_id: i.balance for i in items}

    chosen = [invoice_id for invoice_id, _ in allocations]
    acceptable = (
        len(set(chosen)) == len(chosen)
        and all(0 < value <= balances.get(invoice_id, Decimal(-1)) for invoice_id, value in allocations)
        and sum((value for _, value in allocations), Decimal(0)) <= amount
    )

    if not acceptable:
        with pytest.raises(ValidationFailed) as caught:
            validate_allocations(items, amount, allocations, "USD")
        assert all(f == "allocations" or f.startswith("allocations[") for f in caught.value.fields)
        return
    result = validate_allocations(items, amount, allocations, "USD")

    assert result.allocations == [Allocated(invoice_id, value) for invoice_id, value in allocations]
    assert result.applied + result.unapplied == amount
    assert result.unapplied >= 0
    for allocated in result.allocations:
        assert 0 < allocated.amount <= balances[allocated.invoice_id]
