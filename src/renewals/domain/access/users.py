"""Users, password hashing (argon2) and bearer tokens signed with the secret key."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt
import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renewals.db.models import User
from renewals.domain.access.rules import ROLES, Role
from renewals.domain.audit import record
from renewals.errors import Conflict, NotAuthenticated, ValidationFailed

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
    if len(data.password) < 8:
        raise ValidationFailed("password", "must be at least 8 characters")
    if not data.name.strip():
        raise ValidationFailed("name", "must not be empty")
    if session.scalar(select(func.count()).where(User.email == email)):
        raise Conflict(f"a user with e-mail {email} exists", extra={"email": "already taken"})
    user = User(
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
        raise NotAuthenticated("this account is disabled")
    return user


def issue_token(user: User, secret: str, ttl_hours: int, issued: datetime) -> str:
    """A bearer token for the user, issued at `issued` and valid for `ttl_hours`."""
    claims = {"sub": str(user.id), "role": user.role, "iat": issued, "exp": issued + timedelta(hours=ttl_hours)}
    return jwt.encode(claims, secret, algorithm="HS256")


def user_from_token(session: Session, token: str, secret: str) -> User:
    """Resolve a bearer token to its active user, or raise NotAuthenticated."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        raise NotAuthenticated("invalid or expired token") from None
    user = session.get(User, int(claims["sub"]))
    if user is None or not user.active:
        raise NotAuthenticated("invalid or expired token")
    return user
