"""Sign-in, sign-out, the language switch and `/`."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect

from renewals import clock
from renewals.api.context import Req, anonymous_unit, client_address, state_of
from renewals.api.pages import i18n
from renewals.api.pages.web import (
    LANG_COOKIE,
    SESSION_COOKIE,
    Form,
    check_csrf,
    cookie,
    done,
    expired,
    local_path,
    render,
    signed_in,
    text,
)
from renewals.domain.access import users, web
from renewals.errors import NotAuthenticated, TooManyAttempts


class SignInPages(Controller):
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def root(self, request: Req) -> Redirect:
        with anonymous_unit(request) as session:
            user = web.user_for_session(session, request.cookies.get(SESSION_COOKIE), at=clock.now())
        return Redirect(path="/today" if user is not None else "/login", status_code=303)

    @get("/login", sync_to_thread=True)
    def login_form(
        self,
        request: Req,
        lang: FromQuery[str | None] = None,
        next_: Annotated[str | None, QueryParameter(name="next")] = None,
    ) -> Response[Any]:
        with anonymous_unit(request) as session:
            if web.user_for_session(session, request.cookies.get(SESSION_COOKIE), at=clock.now()) is not None:
                return Redirect(path="/today", status_code=303)
        response = render(request, "login.html", None, {"next": local_path(next_, "/today"), "error": None})
        if lang in i18n.LANGUAGES:
            # The switch on the sign-in page: remembered in a cookie until the user signs in.
            response = Redirect(path="/login", status_code=303)
            response.set_cookie(cookie(request, LANG_COOKIE, lang, max_age=365 * 86400))
        return response

    @post("/login", sync_to_thread=True)
    def login(self, request: Req, data: Form) -> Response[Any]:
        """Check the credentials as POST /api/v1/auth/token does, with the same slow-down."""
        check_csrf(request, data)
        state = state_of(request)
        throttle, address = state.login_throttle, client_address(request)
        email, password = text(data, "email") or "", str(data.get("password") or "")
        target = local_path(text(data, "next"), "/today")
        try:
            throttle.check(email, address, clock.now())
            with anonymous_unit(request) as session:
                try:
                    user = users.authenticate(session, email, password)
                except NotAuthenticated:
                    throttle.failed(email, address, clock.now())
                    raise
                throttle.succeeded(email)
                chosen = request.cookies.get(LANG_COOKIE)
                if user.language is None and chosen in i18n.LANGUAGES:
                    # The language picked on the sign-in page becomes the user's.
                    web.set_language(session, user, chosen)
                token = web.open_session(session, user, at=clock.now(), ttl_hours=state.settings.token_ttl_hours)
        except (NotAuthenticated, TooManyAttempts) as exc:
            slow = isinstance(exc, TooManyAttempts)
            values = {
                "next": target,
                "error": "slow_down" if slow else "disabled" if "disabled" in exc.detail else "wrong",
                "retry_after": exc.retry_after if isinstance(exc, TooManyAttempts) else 0,
                "email": email,
            }
            response = render(request, "login.html", None, values, status_code=exc.status_code)
            if isinstance(exc, TooManyAttempts):
                response.headers["Retry-After"] = str(exc.retry_after)
            return response
        response = Redirect(path=target, status_code=303)
        response.set_cookie(cookie(request, SESSION_COOKIE, token, max_age=state.settings.token_ttl_hours * 3600))
        return response

    @post("/logout", sync_to_thread=True)
    def logout(self, request: Req, data: Form) -> Redirect:
        check_csrf(request, data)
        with anonymous_unit(request) as session:
            web.sign_out(session, request.cookies.get(SESSION_COOKIE), at=clock.now())
        response = Redirect(path="/login", status_code=303)
        response.set_cookie(expired(request, SESSION_COOKIE))
        return response

    @post("/language", sync_to_thread=True)
    def language(self, request: Req, data: Form) -> Redirect:
        """The switch on every page: remembered on the user."""
        check_csrf(request, data)
        with signed_in(request) as (session, me):
            web.set_language(session, me, text(data, "language") or "")
        return done(request, local_path(text(data, "next"), "/today"))
