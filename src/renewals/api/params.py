"""What each handler declares it takes (query, path, header parameters and body fields), so that a
query parameter nobody declared is refused and every invalid field's `source` names where it came from.

Litestar ignores query parameters a handler does not declare; a typo like `?stauts=open` would
then silently answer the unfiltered list. `RefuseUnknownQuery` answers 400 naming each of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl
from weakref import WeakKeyDictionary

import msgspec
from litestar.enums import ParamType, ScopeType
from litestar.handlers import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.params import BodyKwarg, ParameterKwarg, QueryParameter
from litestar.types import ASGIApp, Receive, Scope, Send

from renewals.domain.pagination import MAX_LIMIT
from renewals.errors import ValidationFailed

# Handlers that read arbitrary query parameters themselves opt out with `opt={ANY_QUERY: True}`.
ANY_QUERY = "any_query"

# The page window of every list, bounded where it is declared (and so in the OpenAPI document).
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"rows per page, 1 to {MAX_LIMIT}")]
Offset = Annotated[int, QueryParameter(ge=0, description="rows to skip")]


class UnknownParameters(ValidationFailed):
    """Query parameters the endpoint does not take: 400, one `extra` entry per parameter."""

    status_code = 400

    def __init__(self, names: list[str]) -> None:
        super().__init__({name: "unknown query parameter" for name in names}, source="query")
        self.detail = f"unknown query parameter{'s' if len(names) > 1 else ''}: {', '.join(names)}"


@dataclass(frozen=True)
class Declared:
    """A handler's parameters by wire name and source, and the top-level fields of its JSON body."""

    parameters: dict[str, str]
    body_fields: frozenset[str]

    def source_of(self, key: str, raised: str) -> str:
        """The source of an invalid field `key` (e.g. `limit`, `lines[0].quantity`)."""
        top = key.split(".", 1)[0].split("[", 1)[0]
        if top in self.parameters and top not in self.body_fields:
            return self.parameters[top]
        return raised


_SOURCES = {
    ParamType.QUERY: "query",
    ParamType.PATH: "path",
    ParamType.HEADER: "header",
    ParamType.COOKIE: "cookie",
}
# By handler object, not id(): a test suite builds many apps, and a freed handler's id is reused.
_cache: WeakKeyDictionary[BaseRouteHandler, Declared] = WeakKeyDictionary()


def declared(handler: BaseRouteHandler) -> Declared:
    """What `handler` takes, read once from its signature."""
    found = _cache.get(handler)
    if found is not None:
        return found
    parameters: dict[str, str] = {}
    body_fields: frozenset[str] = frozenset()
    for name, field in handler.parsed_fn_signature.parameters.items():
        kwarg = field.kwarg_definition
        if isinstance(kwarg, ParameterKwarg):
            wire = kwarg.name or name
            parameters[wire] = _SOURCES.get(kwarg.param_type, "query")
        elif isinstance(kwarg, BodyKwarg) or name == "data":
            body_fields = frozenset(_struct_fields(field.annotation))
    result = Declared(parameters, body_fields)
    _cache[handler] = result
    return result


def _struct_fields(annotation: Any) -> set[str]:
    names: set[str] = set()
    for arg in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(arg, type) and issubclass(arg, msgspec.Struct):
            names.update(f.encode_name for f in msgspec.structs.fields(arg))
    return names


class RefuseUnknownQuery(ASGIMiddleware):
    """Answer 400 naming every query parameter the matched handler does not declare."""

    scopes = (ScopeType.HTTP,)
    exclude_opt_key = ANY_QUERY

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        raw = scope.get("query_string", b"")
        if raw:
            known = declared(scope["route_handler"]).parameters
            names = dict.fromkeys(
                name
                for name, _ in parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
                if known.get(name) != "query"
            )
            if names:
                raise UnknownParameters(list(names))
        await next_app(scope, receive, send)
