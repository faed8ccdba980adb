"""Contract services: create, edit at a version, terminate, list — each change audited.

Creating or editing a contract also opens what it needs at once: its client's tier and status,
and its renewal record when it ends within the horizon. The API, the CSV import and the demo
book all come through here, so they behave the same.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import Row, Select, bindparam, select
from sqlalchemy.orm import Session, selectinload

from renewals.db.models import Client, Contract, ContractLine, User
from renewals.domain import money
from renewals.domain.access.rules import WRITE_CLIENTS, require_role, scope_clients
from renewals.domain.access.visible import load_visible
from renewals.domain.audit import record
from renewals.domain.clients.service import get_visible, refresh_tier_and_status
from renewals.domain.contracts import rules
from renewals.domain.contracts.fields import SHOWN_COLUMNS, given, shown
from renewals.domain.contracts.schemas import ContractIn, ContractOut, ContractPatch, LineOut, TerminationIn
from renewals.domain.pagination import paginate
from renewals.domain.renewals.records import open_renewal_for, sync_end_dates
from renewals.domain.renewals.rules import DEFAULT_HORIZON_DAYS
from renewals.errors import Conflict, NotFound, StaleVersion, ValidationFailed

TAX_RANGE = (Decimal(0), Decimal(100))
UPLIFT_RANGE = (Decimal(-100), Decimal(100))
# Edited fields that are checked (or set) one by one; every other field of the patch is stored as given.
_CHECKED_ON_EDIT = frozenset({"version", "start_date", "end_date", "tax_rate", "renewal_uplift_pct", "lines", "status"})


def contract_out(contract: Contract) -> ContractOut:
    lines = [(ln.description, ln.quantity, ln.monthly_unit_price_minor) for ln in contract.lines]
    return _shaped(contract, contract.currency, lines)


def _shaped(contract: Contract | Row[Any], currency: str, lines: list[tuple[str, Decimal, int]]) -> ContractOut:
    return ContractOut(
        **shown(contract),
        lines=[
            LineOut(description=d, quantity=q, monthly_unit_price=money.from_minor(p, currency)) for d, q, p in lines
        ],
    )


# A contract with its client (for the access rule) and its lines, built once.
_VIEW = (
    select(
        *SHOWN_COLUMNS,
        ContractLine.description.label("line_description"),
        ContractLine.quantity.label("line_quantity"),
        ContractLine.monthly_unit_price_minor.label("line_price_minor"),
    )
    .join(Client, Client.id == Contract.client_id)
    .outerjoin(ContractLine, ContractLine.contract_id == Contract.id)
    .where(Contract.id == bindparam("contract_id"))
    .order_by(ContractLine.position)
)


def contract_view(session: Session, user: User, contract_id: int) -> ContractOut:
    """The contract as `contract_out` shows it, read in one query with its lines; NotFound unless
    it is under a client the user may see (the rule of `get_visible_contract`)."""
    rows = session.execute(scope_clients(_VIEW, user), {"contract_id": contract_id}).all()
    if not rows:
        raise NotFound("contract", contract_id)
    lines = [(r.line_description, r.line_quantity, r.line_price_minor) for r in rows if r.line_description is not None]
    return _shaped(rows[0], rows[0].currency, lines)


def snapshot(contract: Contract) -> dict[str, object]:
    return msgspec.structs.asdict(contract_out(contract)) | {
        "lines": [msgspec.structs.asdict(x) for x in contract_out(contract).lines]
    }


def get_visible_contract(session: Session, user: User, contract_id: int, *, for_update: bool = False) -> Contract:
    """Load a contract under a client the user may see, with its lines (one query); otherwise NotFound."""
    return load_visible(
        session, user, Contract, contract_id, lines=Contract.lines, what="contract", for_update=for_update
    )


def _set_lines(contract: Contract, lines: list[tuple[str, Decimal, Decimal]]) -> None:
    contract.lines = [
        ContractLine(
            position=i, description=d, quantity=q, monthly_unit_price_minor=money.to_minor(p, contract.currency)
        )
        for i, (d, q, p) in enumerate(lines)
    ]
    contract.monthly_value_minor = money.to_minor(rules.monthly_value(lines, contract.currency), contract.currency)


def _ensure_unique_number(session: Session, number: str) -> None:
    if session.scalar(select(Contract.id).where(Contract.number == number)) is not None:
        raise Conflict(f"contract number {number} is taken", extra={"number": "already used"})


def create_contract(
    session: Session,
    actor: User,
    data: ContractIn,
    tier_thresholds: dict[str, tuple[Decimal, Decimal]],
    *,
    as_of: date | None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> Contract:
    """Create a contract with its lines, refresh its client's tier and, with `as_of` (today),
    open its renewal record if it is active and ends within the horizon. Without `as_of` (a
    history being loaded) the next daily scan opens the record.

    Raises ValidationFailed, NotFound (client), Conflict (number).
    """
    require_role(actor, WRITE_CLIENTS, "creating a contract")
    client = get_visible(session, actor, data.client_id)
    currency = money.check_currency(data.currency or client.currency)
    rules.check_dates(data.start_date, data.end_date)
    tax = rules.check_percent(data.tax_rate, "tax_rate", low=TAX_RANGE[0], high=TAX_RANGE[1])
    uplift = rules.check_percent(
        data.renewal_uplift_pct, "renewal_uplift_pct", low=UPLIFT_RANGE[0], high=UPLIFT_RANGE[1]
    )
    lines = rules.check_lines(data.lines, currency)
    if data.status == "active":
        rules.check_activation(len(lines))
    number = data.number.strip()
    _ensure_unique_number(session, number)
    values = given(data, skip=frozenset({"lines"}))
    contract = Contract(
        **values | {"client_id": client.id, "currency": currency, "tax_rate": tax, "renewal_uplift_pct": uplift}
    )
    _set_lines(contract, lines)
    session.add(contract)
    session.flush()
    record(session, actor, "create", "contract", contract.id, None, snapshot(contract))
    refresh_tier_and_status(session, client, tier_thresholds)
    if as_of is not None:
        open_renewal_for(session, contract.id, as_of, horizon_days)
    return contract


def update_contract(
    session: Session,
    actor: User,
    contract_id: int,
    patch: ContractPatch,
    tier_thresholds: dict[str, tuple[Decimal, Decimal]],
    *,
    as_of: date | None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> Contract:
    """Edit a draft or active contract at the named version. Its renewal record follows at once:
    a new end date is copied onto it and, with `as_of`, an activated or re-dated contract that
    now ends within the horizon gets one.

    Raises StaleVersion, Conflict, ValidationFailed.
    """
    require_role(actor, WRITE_CLIENTS, "changing a contract")
    contract = get_visible_contract(session, actor, contract_id, for_update=True)
    if patch.version != contract.version:
        raise StaleVersion("contract", contract.version)
    if contract.status not in {"draft", "active"}:
        raise Conflict(
            f"a {contract.status} contract is history and cannot be edited", extra={"status": contract.status}
        )
    before = snapshot(contract)
    start = contract.start_date if patch.start_date is msgspec.UNSET else patch.start_date
    end = contract.end_date if patch.end_date is msgspec.UNSET else patch.end_date
    rules.check_dates(start, end)
    contract.start_date, contract.end_date = start, end
    if patch.tax_rate is not msgspec.UNSET:
        contract.tax_rate = rules.check_percent(patch.tax_rate, "tax_rate", low=TAX_RANGE[0], high=TAX_RANGE[1])
    if patch.renewal_uplift_pct is not msgspec.UNSET:
        contract.renewal_uplift_pct = rules.check_percent(
            patch.renewal_uplift_pct, "renewal_uplift_pct", low=UPLIFT_RANGE[0], high=UPLIFT_RANGE[1]
        )
    for field, value in given(patch, skip=_CHECKED_ON_EDIT).items():
        setattr(contract, field, value)
    if patch.lines is not msgspec.UNSET:
        _set_lines(contract, rules.check_lines(patch.lines, contract.currency))
    if patch.status is not msgspec.UNSET:
        rules.check_status_change(contract.status, patch.status)
        contract.status = patch.status
    if contract.status == "active":
        rules.check_activation(len(contract.lines))
    session.flush()
    after = snapshot(contract)
    if after != before:
        record(session, actor, "update", "contract", contract.id, before, after)
    refresh_tier_and_status(session, session.get_one(Client, contract.client_id), tier_thresholds)
    sync_end_dates(session, [contract.id])
    if as_of is not None:
        open_renewal_for(session, contract.id, as_of, horizon_days)
    return contract


def terminate_contract(
    session: Session,
    actor: User,
    contract_id: int,
    data: TerminationIn,
    tier_thresholds: dict[str, tuple[Decimal, Decimal]],
) -> Contract:
    """Terminate an active contract from an effective date; billing stops after it."""
    require_role(actor, WRITE_CLIENTS, "terminating a contract")
    contract = get_visible_contract(session, actor, contract_id, for_update=True)
    rules.check_termination(contract.status, contract.start_date, contract.end_date, data.effective_date)
    before = snapshot(contract)
    contract.status = "terminated"
    contract.terminated_on = data.effective_date
    contract.termination_reason = data.reason.strip()
    session.flush()
    record(session, actor, "terminate", "contract", contract.id, before, snapshot(contract))
    refresh_tier_and_status(session, session.get_one(Client, contract.client_id), tier_thresholds)
    return contract


def list_contracts(
    session: Session,
    user: User,
    *,
    limit: int,
    offset: int,
    client_id: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    billing_cycle: str | None = None,
    auto_renew: bool | None = None,
    end_from: date | None = None,
    end_to: date | None = None,
) -> tuple[list[Contract], int]:
    stmt: Select[tuple[Contract]] = scope_clients(
        select(Contract).join(Client, Client.id == Contract.client_id), user
    ).options(selectinload(Contract.lines))
    for column, value in {
        "client_id": client_id,
        "status": status,
        "kind": kind,
        "billing_cycle": billing_cycle,
        "auto_renew": auto_renew,
    }.items():
        if value is not None:
            stmt = stmt.where(getattr(Contract, column) == value)
    if end_from is not None and end_to is not None and end_to < end_from:
        raise ValidationFailed("end_to", "must be on or after end_from")
    if end_from is not None:
        stmt = stmt.where(Contract.end_date >= end_from)
    if end_to is not None:
        stmt = stmt.where(Contract.end_date <= end_to)
    return paginate(session, stmt.order_by(Contract.end_date, Contract.id), limit, offset)
