from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromQuery, JSONBody
from sqlalchemy import select
from sqlalchemy.orm import Session

from renewals.api.context import Req, anonymous_unit, state_of, unit
from renewals.api.tabular import listing
from renewals.db.models import User
from renewals.domain.access import users
from renewals.domain.access.rules import ROLES, require_role
from renewals.domain.access.schemas import TokenIn, TokenOut, UserOut
from renewals.domain.pagination import Page, paginate
from renewals.errors import ValidationFailed

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
        settings = state_of(request).settings
        with anonymous_unit(request) as session:
            user = users.authenticate(session, data.email, data.password)
            return TokenOut(access_token=users.issue_token(user, settings.secret_key, settings.token_ttl_hours))


class UserController(Controller):
    path = "/users"
    tags = ["access"]

    @get("/", sync_to_thread=True)
    def list_users(
        self, request: Req, limit: FromQuery[int] = 50, offset: FromQuery[int] = 0, role: FromQuery[str | None] = None
    ) -> Page[UserOut]:
        return listing(request, UserOut, _list_users, user_out, limit=limit, offset=offset, role=role)

    @post("/", sync_to_thread=True)
    def create_user(self, request: Req, data: JSONBody[users.UserIn]) -> UserOut:
        with unit(request) as (session, me):
            require_role(me, ADMIN, "creating users")
            return user_out(users.create_user(session, data, actor=me))
