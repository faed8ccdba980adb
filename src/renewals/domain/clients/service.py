"""Client services: load, decide with the pure rules, persist, audit."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import msgspec
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from renewals.db.models import Client, Contact, Contract, User
from renewals.domain import money
from renewals.domain.access.rules import MANAGERS, WRITE_CLIENTS, can_see_client, require_role, scope_clients
from renewals.domain.access.users import normalise_email
from renewals.domain.alerts.store import hand_over as hand_over_alerts
from renewals.domain.audit import record
from renewals.domain.clients.rules import legal_name_key, tier_for
from renewals.domain.clients.schemas import ClientIn, ClientOut, ClientPatch, ContactIn, ContactOut
from renewals.domain.pagination import paginate
from renewals.domain.renewals.records import hand_over_renewals
from renewals.errors import Conflict, NotFound, StaleVersion, ValidationFailed


def client_out(client: Client) -> ClientOut:
    return ClientOut(
        id=client.id,
        name=client.name,
        legal_name=client.legal_name,
        segment=client.segment,
        size=client.size,
        language=client.language,
        currency=client.currency,
        credit_limit=money.from_minor(client.credit_limit_minor, client.currency),
        owner_id=client.owner_id,
        status=client.status,
        tier=client.tier,
        version=client.version,
    )


def snapshot(client: Client) -> dict[str, object]:
    return msgspec.structs.asdict(client_out(client))


def get_visible(session: Session, user: User, client_id: int, *, for_update: bool = False) -> Client:
    """Load a client the user may see; anything else is NotFound, never Forbidden (no existence leak)."""
    client = session.get(Client, client_id, with_for_update=for_update)
    if client is None or not can_see_client(user, client):
        raise NotFound("client", client_id)
    return client


def _check_owner(session: Session, actor: User, owner_id: int | None) -> int:
    if owner_id is None:
        if actor.role != "account_manager":
            raise ValidationFailed("owner_id", "name the account manager who owns this client")
        return actor.id
    if actor.role == "account_manager" and owner_id != actor.id:
        raise ValidationFailed("owner_id", "an account manager can only create clients they own")
    owner = session.get(User, owner_id)
    if owner is None or owner.role not in {"account_manager", "manager"} or not owner.active:
        raise ValidationFailed("owner_id", "must be an active account manager or manager")
    return owner_id


def _ensure_unique_legal_name(session: Session, key: str, exclude_id: int | None = None) -> None:
    stmt = select(Client.id, User.name, User.email).join(User, User.id == Client.owner_id)
    stmt = stmt.where(Client.legal_name_key == key)
    if exclude_id is not None:
        stmt = stmt.where(Client.id != exclude_id)
    existing = session.execute(stmt).first()
    if existing is not None:
        # Name the owner so the two managers can talk, but show nothing of the client itself.
        raise Conflict(
            f"a client with this legal name already exists, owned by {existing.name} ({existing.email})",
            extra={"legal_name": "already registered", "owner": {"name": existing.name, "email": existing.email}},
        )


def create_client(session: Session, actor: User, data: ClientIn) -> Client:
    """Create a client. Raises ValidationFailed, Conflict (duplicate legal name), Forbidden."""
    require_role(actor, WRITE_CLIENTS, "creating a client")
    money.check_currency(data.currency)
    credit = money.parse_amount(data.credit_limit, data.currency, "credit_limit")
    owner_id = _check_owner(session, actor, data.owner_id)
    key = legal_name_key(data.legal_name)
    if not key:
        raise ValidationFailed("legal_name", "must not be blank")
    _ensure_unique_legal_name(session, key)
    client = Client(
        name=data.name.strip(),
        legal_name=data.legal_name.strip(),
        legal_name_key=key,
        segment=data.segment,
        size=data.size,
        language=data.language,
        currency=data.currency,
        credit_limit_minor=money.to_minor(credit, data.currency),
        owner_id=owner_id,
        status="prospect",
        tier="C",
    )
    session.add(client)
    session.flush()
    record(session, actor, "create", "client", client.id, None, snapshot(client))
    return client


def update_client(session: Session, actor: User, client_id: int, patch: ClientPatch) -> Client:
    """Apply a partial update at the named version. Raises StaleVersion, NotFound, ValidationFailed."""
    require_role(actor, WRITE_CLIENTS, "changing a client")
    client = get_visible(session, actor, client_id, for_update=True)
    if patch.version != client.version:
        raise StaleVersion("client", client.version)
    before = snapshot(client)
    currency = client.currency if patch.currency is msgspec.UNSET else money.check_currency(patch.currency)
    if patch.owner_id is not msgspec.UNSET and patch.owner_id != client.owner_id:
        require_role(actor, MANAGERS, "reassigning a client")
        previous_owner_id = client.owner_id
        client.owner_id = _check_owner(session, actor, patch.owner_id)
        # Open renewals and unresolved alerts follow the client to its new owner.
        hand_over_renewals(session, actor, client.id, client.owner_id)
        hand_over_alerts(session, client.id, previous_owner_id, client.owner_id)
    if patch.legal_name is not msgspec.UNSET:
        key = legal_name_key(patch.legal_name)
        if not key:
            raise ValidationFailed("legal_name", "must not be blank")
        _ensure_unique_legal_name(session, key, exclude_id=client.id)
        client.legal_name, client.legal_name_key = patch.legal_name.strip(), key
    for field in ("name", "segment", "size", "language"):
        value = getattr(patch, field)
        if value is not msgspec.UNSET:
            setattr(client, field, value.strip() if isinstance(value, str) else value)
    if patch.credit_limit is not msgspec.UNSET or currency != client.currency:
        credit = (
            money.from_minor(client.credit_limit_minor, client.currency)
            if patch.credit_limit is msgspec.UNSET
            else patch.credit_limit
        )
        credit = money.parse_amount(credit, currency, "credit_limit")
        client.currency = currency
        client.credit_limit_minor = money.to_minor(credit, currency)
    session.flush()
    after = snapshot(client)
    if after != before:
        record(session, actor, "update", "client", client.id, before, after)
    return client


def list_clients(
    session: Session,
    user: User,
    *,
    limit: int,
    offset: int,
    owner_id: int | None = None,
    status: str | None = None,
    segment: str | None = None,
    tier: str | None = None,
    language: str | None = None,
    q: str | None = None,
) -> tuple[list[Client], int]:
    stmt: Select[tuple[Client]] = scope_clients(select(Client), user)
    filters = {"owner_id": owner_id, "status": status, "segment": segment, "tier": tier, "language": language}
    for column, value in filters.items():
        if value is not None:
            stmt = stmt.where(getattr(Client, column) == value)
    if q:
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(func.lower(Client.name).like(pattern) | func.lower(Client.legal_name).like(pattern))
    return paginate(session, stmt.order_by(Client.name, Client.id), limit, offset)


def refresh_tier_and_status(session: Session, client: Client, thresholds: dict[str, tuple[Decimal, Decimal]]) -> None:
    """Recompute the ABC tier from active contracts' annual value, and `active` on a first active contract."""
    rows = session.execute(
        select(Contract.currency, func.sum(Contract.monthly_value_minor))
        .where(Contract.client_id == client.id, Contract.status == "active")
        .group_by(Contract.currency)
    ).all()
    annual: dict[str, Decimal] = defaultdict(Decimal)
    for currency, monthly_minor in rows:
        annual[currency] = money.from_minor(int(monthly_minor or 0), currency) * 12
    client.tier = tier_for(annual, thresholds)
    if rows and client.status != "active":
        client.status = "active"


def contact_out(contact: Contact) -> ContactOut:
    return ContactOut(
        id=contact.id,
        client_id=contact.client_id,
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        role=contact.role,
        birthday=contact.birthday,
        is_billing=contact.is_billing,
        is_signatory=contact.is_signatory,
    )


def add_contact(session: Session, actor: User, client_id: int, data: ContactIn) -> Contact:
    """Add a contact to a client the actor may change."""
    require_role(actor, WRITE_CLIENTS, "adding a contact")
    client = get_visible(session, actor, client_id)
    email = normalise_email(data.email) if data.email else None
    contact = Contact(
        client_id=client.id,
        name=data.name.strip(),
        email=email,
        phone=data.phone,
        role=data.role,
        birthday=data.birthday,
        is_billing=data.is_billing,
        is_signatory=data.is_signatory,
    )
    session.add(contact)
    session.flush()
    record(session, actor, "create", "contact", contact.id, None, msgspec.structs.asdict(contact_out(contact)))
    return contact


def list_contacts(
    session: Session, user: User, client_id: int, *, limit: int, offset: int
) -> tuple[list[Contact], int]:
    get_visible(session, user, client_id)
    stmt = select(Contact).where(Contact.client_id == client_id).order_by(Contact.id)
    return paginate(session, stmt, limit, offset)
