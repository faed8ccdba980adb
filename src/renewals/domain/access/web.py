"""Browser sign-in: server-side sessions, the slow-down after failed attempts, the page language.

The session cookie carries a random token; the database keeps only its sha256, so a session is
checked on the server on every request and signing out ends it at once. Failed sign-ins are
counted per e-mail address: after `FREE_FAILURES` of them each further attempt must wait, twice
as long each time (capped), and a success or a quiet quarter of an hour starts the count again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from renewals.db.models import LoginThrottle, User, WebSession
from renewals.domain.access.users import authenticate
from renewals.errors import NotAuthenticated, ValidationFailed

LANGUAGES: tuple[str, ...] = ("en", "zh-Hans", "zh-Hant", "ko")
FREE_FAILURES = 5
MAX_WAIT = timedelta(minutes=15)
FORGET_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: a user and a fresh session token, or why not."""

    user: User | None = None
    token: str | None = None
    error: str | None = None  # `wrong`, `disabled` or `slow_down`
    retry_after_s: int = 0


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def wait_after(failures: int) -> timedelta:
    """How long the next attempt must wait after this many failures in a row (pure)."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - FREE_FAILURES + 1)), MAX_WAIT)


def sign_in(session: Session, email: str, password: str, *, at: datetime, ttl_hours: int) -> SignIn:
    """Check the credentials and open a session, or count the failure (committed either way:
    the caller's unit of work sees no exception)."""
    key = email.strip().lower()[:254]
    throttle = session.get(LoginThrottle, key, with_for_update=True)
    if throttle is not None and throttle.last_failed_at < at - FORGET_AFTER:
        throttle.failures, throttle.blocked_until = 0, None
    if throttle is not None and throttle.blocked_until is not None and throttle.blocked_until > at:
        return SignIn(error="slow_down", retry_after_s=_seconds(throttle.blocked_until - at))
    try:
        user = authenticate(session, key, password)
    except NotAuthenticated as exc:
        if throttle is None:
            throttle = LoginThrottle(email=key, failures=0, last_failed_at=at)
            session.add(throttle)
        throttle.failures += 1
        throttle.last_failed_at = at
        wait = wait_after(throttle.failures)
        throttle.blocked_until = at + wait if wait else None
        disabled = "disabled" in exc.detail
        return SignIn(error="disabled" if disabled else "wrong", retry_after_s=_seconds(wait))
    if throttle is not None:
        session.delete(throttle)
    token = secrets.token_urlsafe(32)
    expires = at + timedelta(hours=ttl_hours)
    session.add(WebSession(token_sha256=token_hash(token), user_id=user.id, created_at=at, expires_at=expires))
    session.flush()
    return SignIn(user=user, token=token)


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999)) if delta > timedelta(0) else 0


def user_for_session(session: Session, token: str | None, *, at: datetime) -> User | None:
    """The active user a session token belongs to, or None (unknown, expired, or signed out)."""
    if not token:
        return None
    row = session.get(WebSession, token_hash(token))
    if row is None or row.expires_at <= at:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


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


def sessions_of(session: Session, user_id: int) -> list[WebSession]:
    return list(session.scalars(select(WebSession).where(WebSession.user_id == user_id)))
