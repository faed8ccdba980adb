"""Role rules. Pure: who may do what, and which clients a user sees."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Select

from renewals.db.models import Client, User
from renewals.errors import Forbidden

Role = Literal["admin", "manager", "account_manager", "finance"]
ROLES: tuple[str, ...] = ("admin", "manager", "account_manager", "finance")
READ_ALL = frozenset({"admin", "manager", "finance"})
WRITE_CLIENTS = frozenset({"admin", "manager", "account_manager"})
WRITE_RECEIVABLES = frozenset({"admin", "manager", "finance"})
MANAGERS = frozenset({"admin", "manager"})


def sees_everything(user: User) -> bool:
    return user.role in READ_ALL


def scope_clients(stmt: Select[Any], user: User) -> Select[Any]:
    """Restrict a statement that involves `Client` to the clients the user may see."""
    if sees_everything(user):
        return stmt
    return stmt.where(Client.owner_id == user.id)


def can_see_client(user: User, client: Client) -> bool:
    return sees_everything(user) or client.owner_id == user.id


def require_role(user: User, allowed: frozenset[str], action: str) -> None:
    """Raise Forbidden unless the user's role is among `allowed`."""
    if user.role not in allowed:
        roles = ", ".join(sorted(allowed))
        raise Forbidden(f"{action} needs one of the roles: {roles}", extra={"role": user.role})
