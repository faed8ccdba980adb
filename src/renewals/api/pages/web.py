"""What every page shares: the signed-in browser, CSRF on forms, rendering, flash messages.

Handlers stay thin: `signed_in` opens the request's unit of work with the session's user (or
sends the browser to /login), `check_csrf` refuses a form without its token before anything
is written, `render` fills the layout's values, `done` redirects after a post with a message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit

import msgspec
from litestar import MediaType, Response
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import Body
from litestar.response import Redirect
from sqlalchemy.orm import Session

from renewals import clock
from renewals.api.context import Req, state_of
from renewals.api.hygiene import text_problem
from renewals.api.pages import i18n
from renewals.api.tabular import Lister, csv_response, export
from renewals.db.models import User
from renewals.db.uow import unit_of_work
from renewals.domain.access import web
from renewals.errors import Forbidden, NotFound, RenewalsError, ValidationFailed

SESSION_COOKIE = "renewals_session"
PRE_COOKIE = "renewals_pre"  # binds the sign-in form's CSRF token before there is a session
LANG_COOKIE = "renewals_lang"
FLASH_COOKIE = "renewals_flash"
CSRF_FIELD = "csrf_token"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "private, no-store",
}
NAV: tuple[tuple[str, str], ...] = (
    ("/today", "today"),
    ("/renewals", "renewals"),
    ("/clients", "clients"),
    ("/receivables", "receivables"),
    ("/alerts", "alerts"),
    ("/notices", "notices"),
    ("/reports", "reports"),
    ("/import", "import"),
)


Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


class SignInRequired(RenewalsError):
    status_code = 401


class FormRefused(RenewalsError):
    """A form posted without the token of the session it came from."""

    status_code = 403


@dataclass(frozen=True)
class Flash:
    kind: str  # `ok` or `error`
    text: str


def secure(request: Req) -> bool:
    return request.url.scheme == "https"


def cookie(request: Req, key: str, value: str, *, max_age: int | None = None, http_only: bool = True) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path="/",
        max_age=max_age,
        httponly=http_only,
        samesite="lax",
        secure=secure(request),
    )


def expired(request: Req, key: str) -> Cookie:
    return cookie(request, key, "", max_age=0)


def page_user(request: Req, session: Session) -> User:
    """The user this browser's session belongs to; SignInRequired when there is none."""
    user = web.user_for_session(session, request.cookies.get(SESSION_COOKIE), at=clock.now())
    if user is None:
        raise SignInRequired("sign in first")
    return user


@contextmanager
def signed_in(request: Req, *, snapshot: bool = False) -> Iterator[tuple[Session, User]]:
    """The request's one transaction with the session's user; SignInRequired when there is none.
    `snapshot`: one view of the database for every query (an export), as the API's `unit`."""
    state = state_of(request)
    with unit_of_work(state.sessions_for(request.method)) as session:
        if snapshot and state.engine.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session, page_user(request, session)


def csv_download(
    request: Req,
    name: str,
    item_type: type[Any],
    lister: Lister,
    out: Callable[[Any], Any] | None = None,
    **filters: Any,
) -> Response[Any]:
    """Every row of a list page as the API's CSV (same service call, same filters and scope)."""
    with signed_in(request, snapshot=True) as (session, me):
        spool = export(session, me, item_type, lister, out, **filters)
    return csv_response(request, spool, name)


def language_of(request: Req, user: User | None) -> str:
    if user is not None and user.language in i18n.LANGUAGES:
        return user.language
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in i18n.LANGUAGES:
        return chosen
    return i18n.best_language(request.headers.get("accept-language"))


def csrf_for(request: Req) -> str:
    token = request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRE_COOKIE) or ""
    return web.csrf_token(state_of(request).settings.secret_key, token) if token else ""


def check_csrf(request: Req, form: dict[str, Any]) -> None:
    """Refuse a post whose token does not belong to this browser's session."""
    token = request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRE_COOKIE)
    submitted = form.get(CSRF_FIELD)
    if not web.csrf_ok(state_of(request).settings.secret_key, token, submitted if isinstance(submitted, str) else None):
        raise FormRefused("the form was refused: it carries no valid security token")


def text(form: dict[str, Any], key: str) -> str | None:
    """A form field, stripped; None when absent or empty. The API's bounds on text apply (no NUL
    characters, no over-long values, dates within the supported years): ValidationFailed naming it."""
    value = form.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, str):
        return None
    if problem := text_problem(value, query=False):
        raise ValidationFailed(key, problem)
    return value.strip() or None


S = TypeVar("S", bound=msgspec.Struct)
_AT = re.compile(r"`\$\.?([^`]*)`")


def parse(kind: type[S], fields: dict[str, Any]) -> S:
    """Build the API's input struct from form fields (empty ones left out), validated exactly as
    the API decodes a body; a bad field raises ValidationFailed naming it."""
    try:
        return msgspec.convert({k: v for k, v in fields.items() if v is not None}, kind, strict=False)
    except msgspec.ValidationError as exc:
        found = _AT.search(str(exc))
        field = found.group(1) if found and found.group(1) else "form"
        raise ValidationFailed(field, str(exc).split(" - at ")[0]) from None


def _sign(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), b"flash:" + payload, hashlib.sha256).hexdigest()[:32]


def flash_cookie(request: Req, flash: Flash) -> Cookie:
    payload = base64.urlsafe_b64encode(json.dumps([flash.kind, flash.text[:600]]).encode())
    value = payload.decode() + "." + _sign(state_of(request).settings.secret_key, payload)
    return cookie(request, FLASH_COOKIE, value, max_age=60)


def read_flash(request: Req) -> Flash | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or "." not in raw:
        return None
    payload, _, signature = raw.rpartition(".")
    if not hmac.compare_digest(_sign(state_of(request).settings.secret_key, payload.encode()), signature):
        return None
    try:
        kind, message = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (ValueError, TypeError):
        return None
    return Flash(str(kind), str(message))


def local_path(target: str | None, default: str) -> str:
    """A redirect target on this site only (no scheme, no host, starting with one slash)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def refused(request: Req, to: str, exc: RenewalsError) -> Redirect:
    """A form the service refused: back to the page with its reason (a foreign record stays 404)."""
    if exc.status_code in (401, 404) or isinstance(exc, FormRefused):
        raise exc
    detail = exc.detail
    if isinstance(exc.extra, list) and exc.extra:
        fields = ", ".join(f"{e.get('key')}: {e.get('message')}" for e in exc.extra if isinstance(e, dict))
        detail = fields or detail
    return done(request, to, detail, error=True)


def done(request: Req, to: str, message: str | None = None, *, error: bool = False) -> Redirect:
    """Redirect after a post (303), carrying a one-time message to the next page."""
    response = Redirect(path=to, status_code=303)
    if message:
        response.set_cookie(flash_cookie(request, Flash("error" if error else "ok", message)))
    return response


def back(request: Req, default: str) -> str:
    """Where a form came from (its `next` field, or the Referer on this site)."""
    referer = request.headers.get("referer")
    path = None
    if referer:
        parts = urlsplit(referer)
        if parts.netloc == request.url.netloc:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
    return local_path(path, default)


def render(
    request: Req,
    template: str,
    user: User | None,
    values: dict[str, Any],
    *,
    status_code: int = 200,
    title: str = "",
) -> Response[str]:
    """Render a page in the user's language with the layout's values (navigation, switch, token)."""
    state = state_of(request)
    language = language_of(request, user)
    flash = read_flash(request)
    # First visit: a pre-session cookie that the sign-in form's token is bound to.
    pre = None
    if not request.cookies.get(SESSION_COOKIE) and not request.cookies.get(PRE_COOKIE):
        pre = secrets.token_urlsafe(24)
    context = {
        "request_path": request.url.path,
        "request_full": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "me": None if user is None else {"id": user.id, "name": user.name, "role": user.role, "email": user.email},
        "nav": NAV,
        "csrf": web.csrf_token(state.settings.secret_key, pre) if pre else csrf_for(request),
        "csrf_field": CSRF_FIELD,
        "flash": flash,
        "title": title,
        "today": state.today(),
        "language": language,
        **values,
    }
    html = i18n.render(language, state.settings.timezone, template, context)
    response = Response(html, media_type=MediaType.HTML, status_code=status_code, headers=SECURITY_HEADERS)
    if flash is not None:
        response.set_cookie(expired(request, FLASH_COOKIE))
    if pre is not None:
        response.set_cookie(cookie(request, PRE_COOKIE, pre))
    return response


def sign_in_redirect(request: Req) -> Redirect:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(path=f"/login?next={quote(target, safe='')}", status_code=303)


def http_error_page(request: Req, exc: HTTPException) -> Response[Any]:
    """Litestar's own refusals on a page (an unknown path, a malformed query value) as pages too."""
    if exc.status_code == 404:
        return error_page(request, NotFound("page"))
    refusal = RenewalsError(str(exc.detail), exc.extra)
    refusal.status_code = exc.status_code
    return error_page(request, refusal)


def error_page(request: Req, exc: RenewalsError) -> Response[Any]:
    """Pages answer errors as pages: sign-in for no session, 404/403/409… in the user's language."""
    if isinstance(exc, SignInRequired):
        return sign_in_redirect(request)
    user = None
    with unit_of_work(state_of(request).sessions_for("GET")) as session:
        user = web.user_for_session(session, request.cookies.get(SESSION_COOKIE), at=clock.now())
        if user is not None:
            session.expunge(user)
    kind = "bad_request" if exc.status_code == 400 else "other"
    if isinstance(exc, NotFound):
        kind = "not_found"
    elif isinstance(exc, FormRefused | Forbidden):
        kind = "refused"
    return render(
        request,
        "error.html",
        user,
        {"status": exc.status_code, "kind": kind, "detail": exc.detail if kind == "other" else ""},
        status_code=exc.status_code if exc.status_code >= 400 else 400,
    )
