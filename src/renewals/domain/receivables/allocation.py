"""Payment allocation: which open invoices a payment pays, and how much stays unapplied.

A payment pays the oldest due date first; invoices due the same day go by issue date, then by
invoice id (creation order), so the same inputs always allocate the same way. Explicit
allocations given by the user are checked against the same open items instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from renewals.domain.money import round_money
from renewals.errors import ValidationFailed

_ZERO = Decimal(0)


class OpenItem(NamedTuple):
    """An invoice with a balance to pay, in the payment's currency."""

    invoice_id: int
    due_date: date
    issue_date: date
    balance: Decimal


class Allocated(NamedTuple):
    invoice_id: int
    amount: Decimal


@dataclass(frozen=True)
class Allocation:
    """What a payment (or credit) pays, and what is left of it as unapplied credit."""

    allocations: list[Allocated]
    unapplied: Decimal

    @property
    def applied(self) -> Decimal:
        return sum((a.amount for a in self.allocations), _ZERO)


def oldest_first(items: Iterable[OpenItem]) -> list[OpenItem]:
    """Order open items as a payment pays them: due date, then issue date, then invoice id."""
    return sorted(items, key=lambda item: (item.due_date, item.issue_date, item.invoice_id))


def allocate_oldest_first(items: Iterable[OpenItem], amount: Decimal) -> Allocation:
    """Spread an amount over the open items, oldest due date first, and return the remainder.

    Items with no balance left are skipped. Raise ValidationFailed when the amount is negative.
    """
    if amount < 0:
        raise ValidationFailed("amount", "must not be negative")
    remaining = amount
    allocations: list[Allocated] = []
    for item in oldest_first(items):
        if remaining <= 0:
            break
        if item.balance <= 0:
            continue
        paid = min(item.balance, remaining)
        allocations.append(Allocated(item.invoice_id, paid))
        remaining -= paid
    return Allocation(allocations, remaining)


def validate_allocations(
    items: Iterable[OpenItem],
    amount: Decimal,
    allocations: Sequence[tuple[int, Decimal]],
    currency: str,
) -> Allocation:
    """Check explicit allocations against the open items and the payment; return them as given.

    Each allocation must name an open item at most once and pay a positive amount, in the
    currency's minor unit, no more than that invoice's balance; together they must not exceed
    the payment. What is left stays unapplied (it is not spread automatically).

    Raise ValidationFailed naming every offending field, e.g. ``allocations[2].amount``.
    """
    if amount < 0:
        raise ValidationFailed("amount", "must not be negative")
    balances = {item.invoice_id: item.balance for item in items}
    errors: dict[str, str] = {}
    seen: set[int] = set()
    result: list[Allocated] = []
    for i, (invoice_id, paid) in enumerate(allocations):
        if invoice_id not in balances:
            errors[f"allocations[{i}].invoice_id"] = (
                f"invoice {invoice_id} is not an open invoice of this client in {currency}"
            )
            continue
        if invoice_id in seen:
            errors[f"allocations[{i}].invoice_id"] = f"invoice {invoice_id} is allocated more than once"
            continue
        seen.add(invoice_id)
        if paid <= 0:
            errors[f"allocations[{i}].amount"] = "must be positive"
        elif paid != round_money(paid, currency):
            errors[f"allocations[{i}].amount"] = f"has more decimals than {currency} allows"
        elif paid > balances[invoice_id]:
            errors[f"allocations[{i}].amount"] = f"exceeds the balance of invoice {invoice_id} ({balances[invoice_id]})"
        result.append(Allocated(invoice_id, paid))
    total = sum((a.amount for a in result), _ZERO)
    if not errors and total > amount:
        errors["allocations"] = f"allocations total {total}, more than the payment of {amount}"
    if errors:
        raise ValidationFailed(errors)
    return Allocation(result, amount - total)
