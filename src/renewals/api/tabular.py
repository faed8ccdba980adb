"""CSV out of every list and report: `Accept: text/csv` gets all rows, not one page.

One mechanism for every endpoint. A list handler hands `listing` the service call it makes for
a JSON page; for CSV, `listing` streams every row of that call's query (same filters, same
access scope) from one cursor in chunks, inside one read transaction, writing rows to a spooled
file as it goes: no list of the whole book is ever held, and the transaction ends before the
first byte is sent (a slow download holds no database lock). Columns are the fields of the item
type, in order: the pinned field names. A report hands `report` a function giving its rows.

Cells: amounts and other decimals as plain strings (`1234.50`), dates ISO 8601, booleans
`true`/`false`, empty for none; a nested object becomes `field.sub` columns, a list of plain
values one cell joined by `; `, free-form objects (the audit log's before/after) compact JSON;
lists of objects (contract lines, payment allocations, activities) are left out: they are in
the JSON of the single resource. Text a spreadsheet would run as a formula is prefixed with `'`.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import IO, Any, TypeVar, cast

import msgspec
import msgspec.inspect as mi
from litestar import Litestar, MediaType, Response
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.response import Stream
from litestar.response.base import ASGIResponse
from litestar.routes import HTTPRoute
from sqlalchemy.orm import Session

from renewals.api.context import Req, unit
from renewals.db.models import User
from renewals.domain.pagination import MAX_LIMIT, Page, capture_query

T = TypeVar("T")
CSV = "text/csv"
# A handler's `opt`: it answers CSV too (documented in the OpenAPI schema by `document_csv`).
CSV_OUT: dict[str, Any] = {"csv": True}

# Written to memory up to this size, then to a temporary file.
SPOOL_BYTES = 1 << 20
BLOCK = 64 * 1024
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def wants_csv(request: Req) -> bool:
    """Whether the caller prefers CSV to JSON (`Accept: text/csv`)."""
    return request.accept.best_match([MediaType.JSON.value, CSV], default=MediaType.JSON.value) == CSV


Lister = Callable[..., tuple[Sequence[Any], int]]


def listing(
    request: Req,
    item_type: type[T],
    lister: Lister,
    out: Callable[[Any], T] | None = None,
    *,
    limit: int,
    offset: int,
    **filters: Any,
) -> Page[T]:
    """One page as JSON, or every row as CSV when asked.

    `lister(session, caller, limit=, offset=, **filters)` is the service call that returns a
    page of rows and the total; `out` turns a row into an `item_type` (none: it already is one).
    """
    if not wants_csv(request):
        with unit(request) as (session, me):
            rows, total = lister(session, me, limit=limit, offset=offset, **filters)
            return Page([out(r) for r in rows] if out else list(rows), total, limit, offset)
    with unit(request, snapshot=True) as (session, me):
        spool = export(session, me, item_type, lister, out, **filters)
    # Litestar sends any Response as it is; the annotation documents the JSON page in OpenAPI.
    return cast(Page[T], csv_response(request, spool))


def export(
    session: Session,
    me: User,
    item_type: type[T],
    lister: Lister,
    out: Callable[[Any], T] | None = None,
    **filters: Any,
) -> IO[bytes]:
    """Every row `lister` would page through, as CSV in a spooled file (pages reuse this too).

    The lister's own query (see `capture_query`) is streamed from one cursor; a lister that does
    not page with `paginate` is called page after page instead. Run it in a read-only unit.
    """

    def convert(rows: Iterable[Any]) -> Iterable[T]:
        return rows if out is None else (out(row) for row in rows)

    def every_item() -> Iterator[T]:
        with capture_query() as captured:
            rows, _ = lister(session, me, limit=MAX_LIMIT, offset=0, **filters)
        if captured.stmt is not None:
            yield from convert(session.scalars(captured.stmt.execution_options(yield_per=MAX_LIMIT)))
            return
        start = 0
        while True:
            yield from convert(rows)
            if len(rows) < MAX_LIMIT:
                return
            start += MAX_LIMIT
            rows, _ = lister(session, me, limit=MAX_LIMIT, offset=start, **filters)

    columns = columns_of(item_type)
    return write_csv([name for name, _ in columns], ([get(item) for _, get in columns] for item in every_item()))


Table = tuple[Sequence[str], Iterable[Sequence[object]]]


def report(request: Req, value: T, flatten: Callable[[T], Table]) -> T:
    """A report as JSON, or as CSV when asked: `flatten` gives its header and rows."""
    if not wants_csv(request):
        return value
    header, rows = flatten(value)
    return cast(T, csv_response(request, write_csv(header, rows)))


def items(request: Req, item_type: type[T], values: list[T]) -> list[T]:
    """A short unpaged list (a notice's links or deliveries) as JSON, or as CSV when asked."""
    columns = columns_of(item_type)
    return report(request, values, lambda vs: ([n for n, _ in columns], ([get(v) for _, get in columns] for v in vs)))


# --- columns ------------------------------------------------------------------------------------

Getter = Callable[[Any], object]
_columns: dict[type[Any], list[tuple[str, Getter]]] = {}


def columns_of(item_type: type[Any]) -> list[tuple[str, Getter]]:
    """The CSV columns of a msgspec struct type: its fields, a nested struct's as `field.sub`."""
    found = _columns.get(item_type)
    if found is None:
        info = mi.type_info(item_type)
        if not isinstance(info, mi.StructType):
            raise TypeError(f"CSV columns come from a msgspec struct, not {item_type!r}")
        found = _columns[item_type] = list(_struct_columns(info))
    return found


def _struct_columns(info: mi.StructType) -> Iterator[tuple[str, Getter]]:
    for field in info.fields:
        kind = _without_none(field.type)
        attr = field.name
        if isinstance(kind, mi.StructType):
            for sub, get in _struct_columns(kind):
                yield f"{field.encode_name}.{sub}", _nested(attr, get)
        elif isinstance(kind, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
            if not isinstance(_without_none(kind.item_type), mi.StructType):
                yield field.encode_name, _plain(attr)
        else:
            yield field.encode_name, _plain(attr)


def _without_none(kind: mi.Type) -> mi.Type:
    if isinstance(kind, mi.UnionType):
        rest = [t for t in kind.types if not isinstance(t, mi.NoneType)]
        if len(rest) == 1:
            return rest[0]
    return kind


def _plain(attr: str) -> Getter:
    return lambda obj: getattr(obj, attr)


def _nested(attr: str, get: Getter) -> Getter:
    def nested(obj: Any) -> object:
        inner = getattr(obj, attr)
        return None if inner is None else get(inner)

    return nested


def cell(value: object) -> str:
    """One value as CSV text."""
    kind = type(value)
    if kind is str:  # the common cases first: an export calls this for every field of every row
        return _text(cast(str, value))
    if kind is int:
        return str(value)
    if kind is Decimal:
        return format(cast(Decimal, value), "f")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Enum):
        return cell(value.value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset) and not any(
        isinstance(v, dict | msgspec.Struct) for v in value
    ):
        return "; ".join(cell(v) for v in value)
    if isinstance(value, dict | list | tuple | msgspec.Struct):
        return json.dumps(msgspec.to_builtins(value), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return _text(str(value))


def _text(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# --- writing ------------------------------------------------------------------------------------


def write_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> IO[bytes]:
    """UTF-8 with a byte-order mark (spreadsheets then read Chinese and Korean names), CRLF rows."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by the stream)
    try:
        spool.write(codecs.BOM_UTF8)
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        for row in rows:
            writer.writerow([cell(v) for v in row])
            if text.tell() >= BLOCK:
                spool.write(text.getvalue().encode())
                text.seek(0)
                text.truncate()
        spool.write(text.getvalue().encode())
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


def csv_response(request: Req, spool: IO[bytes], name: str | None = None) -> Response[Any]:
    """Send a spooled CSV as a download named `name` (default: after the request's path)."""

    def blocks() -> Iterator[bytes]:
        with spool:
            while block := spool.read(BLOCK):
                yield block

    return _CsvStream(
        blocks(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name or filename(request)}"',
            "Cache-Control": "private, no-store",
            "Vary": "Accept",
        },
    )


class _CsvStream(Stream):
    """A stream that keeps its own media type: Litestar's Stream lets the handler's (JSON) win."""

    def to_asgi_response(self, app: Any, request: Req, **kwargs: Any) -> ASGIResponse:
        return super().to_asgi_response(app, request, **{**kwargs, "media_type": self.media_type})


def document_csv(app: Litestar) -> None:
    """Offer `text/csv` beside JSON in the 200 answer of every operation marked `CSV_OUT`."""
    paths = app.openapi_schema.paths or {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path_format not in paths:
            continue
        for handler in route.route_handlers:
            if not handler.opt.get("csv"):
                continue
            for method in handler.http_methods:
                operation: Operation | None = getattr(paths[route.path_format], method.lower(), None)
                answer = (operation.responses or {}).get("200") if operation is not None else None
                if isinstance(answer, OpenAPIResponse):
                    answer.content = {**(answer.content or {}), CSV: _CSV_MEDIA}


_CSV_MEDIA = OpenAPIMediaType(
    schema=Schema(
        type=OpenAPIType.STRING,
        description="With `Accept: text/csv`: every row (not one page), UTF-8 with a byte-order mark, "
        "a header row of the field names; nested objects as `field.sub` columns.",
    )
)


def filename(request: Req) -> str:
    """`clients.csv`, `clients-12-contacts.csv`, `reports-aging.csv`: the path after /api/v1."""
    path = request.url.path.removeprefix("/api/v1").strip("/")
    return (path.replace("/", "-") or "export") + ".csv"
