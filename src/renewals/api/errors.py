"""Map errors to the one JSON shape `{status_code, detail, extra}`; nothing answers a bare 500."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Response
from litestar.exceptions import HTTPException
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from renewals.api.context import Req
from renewals.api.params import declared
from renewals.errors import RenewalsError, TooManyAttempts

log = logging.getLogger("renewals.api")


def _body(status: int, detail: str, extra: object) -> Response[dict[str, object]]:
    return Response(
        {"status_code": status, "detail": detail, "extra": extra}, status_code=status, media_type=MediaType.JSON
    )


def _fields(request: Req, status: int, extra: Any) -> Any:
    """Bad input (400, 422) always lists `{key, message, source}`, each source the one the
    handler declares for that key: the domain names a field, only the edge knows where it came from."""
    if status not in (400, 422):
        return extra if extra is not None else {}
    if isinstance(extra, dict):
        extra = [{"key": key, "message": str(message), "source": "body"} for key, message in extra.items()]
    items = [item if isinstance(item, dict) else {"message": str(item)} for item in extra or []]
    handler = request.scope.get("route_handler")
    known = declared(handler) if handler is not None else None
    for item in items:
        item.setdefault("key", "")
        source = str(item.get("source") or "body")
        item["source"] = known.source_of(str(item["key"]), source) if known is not None else source
    return items


def renewals_error(request: Req, exc: RenewalsError) -> Response[dict[str, object]]:
    response = _body(exc.status_code, exc.detail, _fields(request, exc.status_code, exc.extra))
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def http_error(request: Req, exc: HTTPException) -> Response[dict[str, object]]:
    response = _body(exc.status_code, exc.detail, _fields(request, exc.status_code, exc.extra))
    response.headers.update(exc.headers or {})  # e.g. `Allow` on a 405
    return response


def stale_error(_: Req, exc: StaleDataError) -> Response[dict[str, object]]:
    return _body(409, "the record was changed by someone else; reload it and try again", {"version": "stale"})


def integrity_error(_: Req, exc: IntegrityError) -> Response[dict[str, object]]:
    # Unique keys are the last guard against concurrent duplicates; the service checks first.
    log.info("integrity error: %s", exc.orig)
    return _body(409, "this conflicts with an existing record", {})


def operational_error(request: Req, exc: OperationalError) -> Response[dict[str, object]]:
    # SQLite's write lock held past the API's lock timeout (a long batch job, say), or the
    # database server unreachable: the service is busy or away, not broken, and nothing was
    # written (the unit of work rolled back).
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
    response = _body(503, "the database is busy or unavailable; try again in a moment", {})
    response.headers["Retry-After"] = "2"
    return response


def unexpected_error(request: Req, exc: Exception) -> Response[dict[str, object]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _body(500, "internal error; it has been logged", {})


HANDLERS = {
    RenewalsError: renewals_error,
    HTTPException: http_error,
    StaleDataError: stale_error,
    IntegrityError: integrity_error,
    OperationalError: operational_error,
    Exception: unexpected_error,
}
