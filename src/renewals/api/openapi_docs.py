"""Document every operation's error answers in the OpenAPI schema, in the one error shape.

Litestar documents the 2xx answer and its own 400; the rest (who may call, what may be missing
or conflicting, a busy database) follow from the route, so they are added here once for all.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi.spec import Components, OpenAPIMediaType, OpenAPIResponse, Operation, Reference, Schema
from litestar.openapi.spec.enums import OpenAPIType

ERROR_SCHEMA = "Error"

_ERROR = Schema(
    type=OpenAPIType.OBJECT,
    required=["status_code", "detail", "extra"],
    properties={
        "status_code": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "extra": Schema(
            one_of=[
                Schema(
                    type=OpenAPIType.ARRAY,
                    items=Schema(
                        type=OpenAPIType.OBJECT,
                        required=["key", "message", "source"],
                        properties={
                            "key": Schema(type=OpenAPIType.STRING),
                            "message": Schema(type=OpenAPIType.STRING),
                            "source": Schema(type=OpenAPIType.STRING, enum=["body", "query", "path", "header"]),
                        },
                    ),
                ),
                Schema(type=OpenAPIType.OBJECT),
            ],
            description="one {key, message, source} per invalid field; otherwise context about the error",
        ),
    },
    description="Every error answer: `{status_code, detail, extra}`.",
)

_ANSWERS: dict[int, tuple[str, str, object]] = {
    400: (
        "Malformed input or an unknown query parameter",
        "unknown query parameter: colour",
        [{"key": "colour", "message": "unknown query parameter", "source": "query"}],
    ),
    401: ("Not signed in: no, a forged or an expired bearer token", "invalid or expired token", {}),
    403: ("Signed in, but the role may not do this", "recording a payment needs one of: finance, manager", {}),
    404: ("No such resource, or one the caller may not see", "client 42 not found", {}),
    409: (
        "A stale version, an illegal transition or a duplicate",
        "the record was changed by someone else",
        {"version": "stale; current version is 3", "current_version": 3},
    ),
    422: (
        "A field fails a rule",
        "Invalid amount: must be positive",
        [{"key": "amount", "message": "must be positive", "source": "body"}],
    ),
    429: (
        "Too many failed sign-ins; see Retry-After",
        "too many failed sign-ins; try again in 60 s",
        {"retry_after": 60},
    ),
    503: ("The database is busy or unavailable; see Retry-After", "the database is busy; try again in a moment", {}),
}


def _answer(status: int) -> OpenAPIResponse:
    description, detail, extra = _ANSWERS[status]
    return OpenAPIResponse(
        description=description,
        content={
            "application/json": OpenAPIMediaType(
                schema=Reference(ref=f"#/components/schemas/{ERROR_SCHEMA}"),
                example={"status_code": status, "detail": detail, "extra": extra},
            )
        },
    )


def statuses_for(path: str, method: str, operation: Operation) -> list[int]:
    """The error answers an operation can give, from its path, method and security."""
    out = [400, 503]
    secured = operation.security != [] and path.startswith("/api/")
    if secured:
        out += [401, 403, 404]
    elif "{" in path:
        out.append(404)
    if method in {"post", "patch", "put"}:
        out += [409, 422] if secured else [422]
    if path == "/api/v1/auth/token":
        out += [401, 429]
    return sorted(set(out))


def document_errors(app: Litestar) -> None:
    """Add the shared error schema and each operation's error answers to the app's schema."""
    schema = app.openapi_schema
    if schema.components is None:
        schema.components = Components()
    if schema.components.schemas is None:
        schema.components.schemas = {}
    schema.components.schemas[ERROR_SCHEMA] = _ERROR
    for path, item in (schema.paths or {}).items():
        for method in ("get", "post", "patch", "put", "delete"):
            operation: Operation | None = getattr(item, method, None)
            if operation is None:
                continue
            responses = operation.responses if operation.responses is not None else {}
            for status in statuses_for(path, method, operation):
                responses[str(status)] = _answer(status)
            operation.responses = responses
