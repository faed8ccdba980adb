"""Browser sessions and the page language.

The session cookie carries a random token; the database keeps only its sha256, so a session is
checked on the server on every request, signing out ends it at once, and a copy of the database
signs nobody in. A session also ends when its user's token generation moves on (deactivated, or
a new password), exactly like the API's bearer tokens. Sign-in itself (credentials and the
slow-down after failures) is the API's: `renewals.domain.access.users.authenticate` and the
app's `LoginThrottle`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from renewals.db.models import User, WebSession
from renewals.errors import ValidationFailed

LANGUAGES: tuple[str, ...] = ("en", "zh-Hans", "zh-Hant", "ko")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, user: User, *, at: datetime, ttl_hours: int) -> str:
    """Start a browser session for a signed-in user; return the token for its cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_sha256=token_hash(token),
            user_id=user.id,
            generation=user.token_generation,
            created_at=at,
            expires_at=at + timedelta(hours=ttl_hours),
        )
    )
    session.flush()
    return token


def user_for_session(session: Session, token: str | None, *, at: datetime) -> User | None:
    """The active user a session token belongs to, or None (unknown, expired, or signed out)."""
    if not token:
        return None
    row = session.get(WebSession, token_hash(token))
    if row is None or row.expires_at <= at:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active or user.token_generation != row.generation:
        return None
    return user


def sign_out(session: Session, token: str | None, *, at: datetime) -> None:
    """End this session, and sweep away expired ones while at it."""
    if token:
        session.execute(delete(WebSession).where(WebSession.token_sha256 == token_hash(token)))
    session.execute(delete(WebSession).where(WebSession.expires_at <= at))


def set_language(session: Session, user: User, language: str) -> None:
    """Remember the language the pages speak to this user."""
    if language not in LANGUAGES:
        raise ValidationFailed("language", f"must be one of {', '.join(LANGUAGES)}")
    user.language = language
    session.flush()


def csrf_token(secret: str, session_token: str) -> str:
    """The form token bound to one browser session (or pre-sign-in cookie)."""
    return hmac.new(secret.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: str, session_token: str | None, submitted: str | None) -> bool:
    if not session_token or not submitted:
        return False
    return hmac.compare_digest(csrf_token(secret, session_token), submitted)
