from __future__ import annotations

from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy import select
from sqlalchemy.orm import Session

from renewals import clock
from renewals.api.context import Req, anonymous_unit, client_address, state_of, unit
from renewals.api.params import Limit, Offset
from renewals.api.tabular import CSV_OUT, listing
from renewals.db.models import User
from renewals.domain.access import users
from renewals.domain.access.rules import ROLES, require_role
from renewals.domain.access.schemas import TokenIn, TokenOut, UserOut
from renewals.domain.pagination import Page, paginate
from renewals.errors import NotAuthenticated, ValidationFailed

ADMIN = frozenset({"admin"})


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, name=user.name, role=user.role, active=user.active)


def _list_users(session: Session, me: User, *, limit: int, offset: int, role: str | None) -> tuple[list[User], int]:
    require_role(me, ADMIN, "listing users")
    stmt = select(User)
    if role is not None:
        if role not in ROLES:
            raise ValidationFailed("role", f"must be one of {', '.join(ROLES)}", source="query")
        stmt = stmt.where(User.role == role)
    return paginate(session, stmt.order_by(User.id), limit, offset)


class AuthController(Controller):
    path = "/auth"
    tags = ["access"]

    @post("/token", sync_to_thread=True, security=[])
    def token(self, request: Req, data: JSONBody[TokenIn]) -> TokenOut:
        """Exchange e-mail and password for a bearer token."""
        state = state_of(request)
        settings, throttle, address = state.settings, state.login_throttle, client_address(request)
        throttle.check(data.email, address, clock.now())
        with anonymous_unit(request) as session:
            try:
                user = users.authenticate(session, data.email, data.password)
            except NotAuthenticated:
                throttle.failed(data.email, address, clock.now())
                raise
            throttle.succeeded(data.email)
            token = users.issue_token(user, settings.secret_key, settings.token_ttl_hours, clock.now())
            return TokenOut(access_token=token)


class UserController(Controller):
    path = "/users"
    tags = ["access"]

    @get("/", sync_to_thread=True, opt=CSV_OUT)
    def list_users(
        self, request: Req, limit: Limit = 50, offset: Offset = 0, role: FromQuery[str | None] = None
    ) -> Page[UserOut]:
        return listing(request, UserOut, _list_users, user_out, limit=limit, offset=offset, role=role)

    @post("/", sync_to_thread=True)
    def create_user(self, request: Req, data: JSONBody[users.UserIn]) -> UserOut:
        with unit(request) as (session, me):
            require_role(me, ADMIN, "creating users")
            return user_out(users.create_user(session, data, actor=me))

    @patch("/{user_id:int}", sync_to_thread=True)
    def update_user(self, request: Req, user_id: FromPath[int], data: JSONBody[users.UserPatch]) -> UserOut:
        """Change a user (admins): `active: false` deactivates and ends their tokens at once."""
        with unit(request) as (session, me):
            return user_out(users.update_user(session, me, user_id, data))
