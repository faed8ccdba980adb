"""Successor contracts: the new term's dates, prices and number when a contract is renewed, by a
person (`transitions`) or by the daily auto-renewal (`steps`). Both build the successor here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from renewals.db.models import Contract, ContractLine
from renewals.domain import money
from renewals.domain.contracts import rules as contract_rules
from renewals.domain.contracts.fields import carried_over
from renewals.domain.renewals import rules
from renewals.domain.renewals.schemas import TransitionIn
from renewals.errors import ValidationFailed

# An auto-renewed successor keeps the same number with a term suffix: CT-7 → CT-7-R1 → CT-7-R2.
_SUFFIX = re.compile(r"^(?P<base>.+)-R(?P<n>\d+)$")
_NUMBER_MAX = 50


def term_lines(contract: Contract) -> list[rules.TermLine]:
    """The contract's lines as the pure renewal rules take them."""
    return [
        rules.TermLine(
            line.description, line.quantity, money.from_minor(line.monthly_unit_price_minor, contract.currency)
        )
        for line in contract.lines
    ]


def successor_terms(contract: Contract, data: TransitionIn | None) -> rules.RenewalTerms:
    """The successor's terms: the contract's renewal term and uplift unless the request names others."""
    lines = term_lines(contract)
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


def successor_numbers(session: Session, contracts: Sequence[Contract]) -> dict[int, str]:
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


def successor_values(contract: Contract, terms: rules.RenewalTerms, number: str) -> dict[str, Any]:
    """The column values of the contract renewing `contract` on `terms` under `number`: every
    column the successor does not set itself is carried over (see contracts.fields)."""
    return carried_over(contract) | {
        "number": number,
        "start_date": terms.start_date,
        "end_date": terms.end_date,
        "status": "active",
        "predecessor_id": contract.id,
        "monthly_value_minor": money.to_minor(terms.monthly_value, contract.currency),
        "version": 1,
    }


def line_values(terms: rules.RenewalTerms, currency: str) -> list[dict[str, Any]]:
    """The successor's lines as column values, in order."""
    return [
        {
            "position": i,
            "description": line.description,
            "quantity": line.quantity,
            "monthly_unit_price_minor": money.to_minor(line.monthly_unit_price, currency),
        }
        for i, line in enumerate(terms.lines)
    ]


def new_successor(contract: Contract, terms: rules.RenewalTerms, number: str) -> Contract:
    """The successor contract with its lines, not yet added to the session."""
    successor = Contract(**successor_values(contract, terms, number))
    successor.lines = [ContractLine(**values) for values in line_values(terms, contract.currency)]
    return successor
