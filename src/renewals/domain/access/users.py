"""Users, password hashing (argon2) and bearer tokens signed with the secret key."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeGuard

import jwt
import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renewals.db.models import User
from renewals.domain.access.rules import ROLES, Role, require_role
from renewals.domain.audit import record
from renewals.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a missing user takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class UserIn(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    name: str
    role: Role
    password: str
    active: bool = True


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or not domain or len(email) > 254:
        raise ValidationFailed("email", "not an e-mail address")
    return email


def create_user(session: Session, data: UserIn, actor: User | None = None) -> User:
    """Create a user with an argon2 password hash. Raises Conflict for a taken e-mail."""
    email = normalise_email(data.email)
    if data.role not in ROLES:
        raise ValidationFailed("role", f"must be one of {', '.join(ROLES)}")
    if not 8 <= len(data.password) <= 256:
        raise ValidationFailed("password", "must be 8 to 256 characters")
    if not data.name.strip():
        raise ValidationFailed("name", "must not be empty")
    if session.scalar(select(func.count()).where(User.email == email)):
        raise Conflict(f"a user with e-mail {email} exists", extra={"email": "already taken"})
    user = User(
        token_generation=0,
        email=email,
        name=data.name.strip(),
        role=data.role,
        active=data.active,
        password_hash=_hasher.hash(data.password),
    )
    session.add(user)
    session.flush()
    record(session, actor, "create", "user", user.id, None, user_snapshot(user))
    return user


def user_snapshot(user: User) -> dict[str, object]:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role, "active": user.active}


def authenticate(session: Session, email: str, password: str) -> User:
    """Return the active user with these credentials, or raise NotAuthenticated."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    try:
        if user is None:
            _hasher.verify(_DUMMY_HASH, password)
            raise NotAuthenticated("wrong e-mail or password")
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise NotAuthenticated("wrong e-mail or password") from None
    if not user.active:
        # The same answer as a wrong password: a disabled account is not confirmed to exist.
        raise NotAuthenticated("wrong e-mail or password")
    return user


def issue_token(user: User, secret: str, ttl_hours: int, issued: datetime) -> str:
    """A bearer token for the user, issued at `issued` and valid for `ttl_hours`."""
    claims = {
        "sub": str(user.id),
        "gen": user.token_generation,
        "role": user.role,
        "iat": issued,
        "exp": issued + timedelta(hours=ttl_hours),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def token_subject(token: str, secret: str) -> tuple[int, int]:
    """(user id, token generation) a bearer token was signed for; NotAuthenticated when forged,
    expired or malformed."""
    user_id, generation, _ = token_claims(token, secret)
    return user_id, generation


def token_claims(token: str, secret: str) -> tuple[int, int, int]:
    """(user id, token generation, expiry in seconds since the epoch) of a bearer token;
    NotAuthenticated when forged, expired or malformed."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        raise NotAuthenticated("invalid or expired token") from None
    subject, generation, expires = claims["sub"], claims.get("gen", 0), claims["exp"]
    if not isinstance(subject, str) or not subject.isdecimal() or len(subject) > 18:
        raise NotAuthenticated("invalid or expired token")
    if not isinstance(generation, int) or isinstance(generation, bool):
        raise NotAuthenticated("invalid or expired token")
    return int(subject), generation, int(expires)


def user_from_token(session: Session, token: str, secret: str) -> User:
    """Resolve a bearer token to its active user, or raise NotAuthenticated (also for a token
    issued before the user was deactivated or changed password)."""
    user_id, generation = token_subject(token, secret)
    return token_user(session, user_id, generation)


def token_user(session: Session, user_id: int, generation: int) -> User:
    """The active user a token of this generation was issued to, or raise NotAuthenticated."""
    user = session.get(User, user_id)
    if not token_still_valid(user, generation):
        raise NotAuthenticated("invalid or expired token")
    return user


def token_still_valid(user: User | None, generation: int) -> TypeGuard[User]:
    """Whether a token of this generation still signs this user in: the user exists, is active
    and has not moved its token generation on since."""
    return user is not None and user.active and user.token_generation == generation


class UserPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    role: Role | None = None
    active: bool | None = None
    password: str | None = None


def update_user(session: Session, actor: User, user_id: int, data: UserPatch) -> User:
    """Change a user's name, role, password or active flag (admins only). Deactivating, or a
    new password, ends every token issued before. Raise Forbidden, NotFound, ValidationFailed,
    Conflict (an admin deactivating or demoting themselves)."""
    require_role(actor, frozenset({"admin"}), "changing users")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    before = user_snapshot(user)
    if user.id == actor.id and (data.active is False or (data.role is not None and data.role != "admin")):
        raise Conflict("an admin cannot deactivate or demote themselves", extra={"active": "own account"})
    if data.name is not None:
        if not data.name.strip() or len(data.name) > 200:
            raise ValidationFailed("name", "must be 1 to 200 characters")
        user.name = data.name.strip()
    if data.role is not None:
        if data.role not in ROLES:
            raise ValidationFailed("role", f"must be one of {', '.join(ROLES)}")
        user.role = data.role
    if data.password is not None:
        if not 8 <= len(data.password) <= 256:
            raise ValidationFailed("password", "must be 8 to 256 characters")
        user.password_hash = _hasher.hash(data.password)
        user.token_generation += 1
    if data.active is not None and data.active != user.active:
        user.active = data.active
        if not data.active:
            user.token_generation += 1
    session.flush()
    record(session, actor, "update", "user", user.id, before, user_snapshot(user))
    return user


def names(session: Session, roles: tuple[str, ...] = ROLES) -> dict[int, str]:
    """User id → name of the users with these roles (for owner pickers and names in lists)."""
    rows = session.execute(select(User.id, User.name).where(User.role.in_(roles)).order_by(User.name, User.id))
    return {r.id: r.name for r in rows}
