"""Factories with keyword arguments: build rows through the services, the way the app does."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from renewals.db.models import Client, Contract, User
from renewals.domain.access.users import UserIn, create_user
from renewals.domain.clients.schemas import ClientIn
from renewals.domain.clients.service import create_client
from renewals.domain.contracts.schemas import ContractIn, LineIn
from renewals.domain.contracts.service import create_contract
from renewals.settings import DEFAULT_TIER_THRESHOLDS, _parse_tiers

PASSWORD = "correct horse battery"
TIERS = _parse_tiers(DEFAULT_TIER_THRESHOLDS)
_seq = itertools.count(1)


def make_user(
    session: Session,
    *,
    role: str = "account_manager",
    email: str | None = None,
    name: str | None = None,
    active: bool = True,
) -> User:
    n = next(_seq)
    return create_user(
        session,
        UserIn(
            email=email or f"{role}{n}@example.test",
            name=name or f"{role} {n}",
            role=role,
            password=PASSWORD,
            active=active,
        ),
    )  # type: ignore[arg-type]


def make_client(
    session: Session,
    *,
    owner: User,
    actor: User | None = None,
    name: str | None = None,
    legal_name: str | None = None,
    currency: str = "USD",
    language: str = "en",
    segment: str = "enterprise",
    credit_limit: Decimal = Decimal("50000"),
) -> Client:
    n = next(_seq)
    return create_client(
        session,
        actor or owner,
        ClientIn(
            name=name or f"Client {n}",
            legal_name=legal_name or f"Client {n} Ltd.",
            segment=segment,
            size="medium",
            language=language,
            currency=currency,
            credit_limit=credit_limit,  # type: ignore[arg-type]
            owner_id=owner.id,
        ),
    )


def make_contract(
    session: Session,
    *,
    client: Client,
    actor: User,
    number: str | None = None,
    start_date: date = date(2026, 1, 1),
    end_date: date = date(2026, 12, 31),
    billing_cycle: str = "monthly",
    status: str = "active",
    currency: str | None = None,
    lines: list[tuple[str, str, str]] | None = None,
    **terms: Any,
) -> Contract:
    n = next(_seq)
    lines = lines if lines is not None else [("42U rack", "2", "1000.00")]
    return create_contract(
        session,
        actor,
        ContractIn(
            client_id=client.id,
            number=number or f"CT-{n:05d}",
            title=f"Contract {n}",
            kind="rental",
            start_date=start_date,
            end_date=end_date,
            billing_cycle=billing_cycle,  # type: ignore[arg-type]
            currency=currency,
            status=status,  # type: ignore[arg-type]
            lines=[LineIn(description=d, quantity=Decimal(q), monthly_unit_price=Decimal(p)) for d, q, p in lines],
            **terms,
        ),
        TIERS,
        as_of=None,
    )
