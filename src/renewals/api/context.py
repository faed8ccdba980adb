"""Per-request unit of work and caller: the request's transaction commits on success only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeAlias, cast

from litestar import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from renewals import clock
from renewals.api.callers import Callers, Tokens
from renewals.db.models import User
from renewals.db.uow import unit_of_work
from renewals.domain.access.throttle import LoginThrottle
from renewals.domain.daily.guard import check_run_day
from renewals.errors import NotAuthenticated
from renewals.settings import Settings

Req: TypeAlias = Request[Any, Any, Any]


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session] | None = None  # GET and HEAD: readers, never wait on a writer
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)
    callers: Callers = field(default_factory=Callers)
    tokens: Tokens = field(default_factory=Tokens)

    def sessions_for(self, method: str) -> sessionmaker[Session]:
        if method in {"GET", "HEAD"} and self.read_sessions is not None:
            return self.read_sessions
        return self.sessions

    def today(self) -> date:
        return clock.today(self.settings.timezone)


def state_of(request: Req) -> AppState:
    return request.app.state["renewals"]  # type: ignore[no-any-return]


def client_address(request: Req) -> str:
    return request.client.host if request.client else "unknown"


def bearer(request: Req) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("sign in: send `Authorization: Bearer <token>` from POST /api/v1/auth/token")
    return token.strip()


_SUBJECT = "renewals.token_subject"


def token_of(request: Req) -> tuple[int, int]:
    """(user id, token generation) of the request's bearer token, checked once per request;
    NotAuthenticated when there is none or it is forged, expired or malformed."""
    scope = cast(dict[str, Any], request.scope)
    subject: tuple[int, int] | None = scope.get(_SUBJECT)
    if subject is None:
        state = state_of(request)
        subject = scope[_SUBJECT] = state.tokens.subject(bearer(request), state.settings.secret_key)
    return subject


def caller(request: Req, session: Session) -> User:
    """The signed-in caller, in the session (from the app's short-lived copy when it has one)."""
    user_id, generation = token_of(request)
    return state_of(request).callers.user(session, user_id, generation)


@contextmanager
def unit(request: Req, *, snapshot: bool = False) -> Iterator[tuple[Session, User]]:
    """One transaction for the request, with the signed-in caller.

    `snapshot`: every query sees the database as of the first one, for an export read in
    several queries (PostgreSQL's repeatable read; a SQLite reader's deferred transaction on the
    WAL already reads one snapshot, and a GET's unit is such a reader).
    """
    token_of(request)  # no valid token, no transaction
    state = state_of(request)
    with unit_of_work(state.sessions_for(request.method)) as session:
        if snapshot and state.engine.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session, caller(request, session)


@contextmanager
def anonymous_unit(request: Req) -> Iterator[Session]:
    with unit_of_work(state_of(request).sessions_for(request.method)) as session:
        yield session


def guard_run_day(request: Req, actor: User, day: date, field: str, *, force: bool, dry_run: bool) -> None:
    """Refuse a scan or billing run too far past today (see `renewals.domain.daily.guard`)."""
    state = state_of(request)
    check_run_day(
        day,
        state.today(),
        actor,
        field=field,
        force=force,
        dry_run=dry_run,
        max_days_ahead=state.settings.max_days_ahead,
    )
