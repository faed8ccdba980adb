"""Input hygiene at the edge, before any handler parses a body: who is calling, then what they sent.

Every request is checked the same way, so no endpoint can forget a bound:
* a protected route with no valid bearer token answers 401 before its body is looked at;
* path ids beyond a 64-bit integer are 404 (no such row can exist);
* query values and JSON body values are refused, naming the parameter or field
  (`lines[0].description`), when a string holds a NUL byte or is too long, an integer does not
  fit 64 bits, or a date lies outside the supported years.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import msgspec

from renewals.api.context import Req, token_of
from renewals.errors import BadParameter, NotFound, ValidationFailed

MAX_INT = 2**63 - 1
MAX_TEXT = 10_000  # characters in one string value
FIRST_DATE, LAST_DATE = date(1900, 1, 1), date(2199, 12, 31)
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_INTEGER = re.compile(r"[+-]?\d+")


async def check_request(request: Req) -> None:
    """Raise NotAuthenticated, NotFound or ValidationFailed for what no handler should see."""
    handler = request.route_handler
    # A handler declaring `security=[]` (sign-in, probes, public links) is open to anyone.
    if handler.security != [] and handler.resolve_security():
        token_of(request)
    for name, value in request.path_params.items():
        if (isinstance(value, int) and abs(value) > MAX_INT) or (isinstance(value, str) and "\x00" in value):
            raise NotFound(name.removesuffix("_id") or "resource")
    for key, value in request.query_params.multi_items():
        if problem := text_problem(value, query=True):
            raise BadParameter(key, problem, source="query")
    if request.method in {"POST", "PUT", "PATCH"} and request.content_type[0] == "application/json":
        body = await request.body()
        try:
            document = msgspec.json.decode(body) if body else None
        except msgspec.DecodeError:
            return  # malformed JSON: the handler's own parsing answers 400
        for where, problem in problems(document, ""):
            raise ValidationFailed(where or "body", problem)


def problems(value: object, where: str) -> Iterator[tuple[str, str]]:
    """(path, problem) for every unacceptable value in a decoded JSON document."""
    if isinstance(value, str):
        if problem := text_problem(value, query=False):
            yield where, problem
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if abs(value) > MAX_INT:
            yield where, "is out of range"
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                yield where or "body", "field names must not contain NUL characters"
            yield from problems(item, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from problems(item, f"{where}[{i}]")


def text_problem(text: str, *, query: bool) -> str | None:
    if "\x00" in text:
        return "must not contain NUL characters"
    if len(text) > MAX_TEXT:
        return f"must be at most {MAX_TEXT} characters"
    if query and _INTEGER.fullmatch(text.strip()) and abs(int(text)) > MAX_INT:
        return "is out of range"
    if match := _ISO_DATE.fullmatch(text.strip()):
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return "is not a calendar date"
        if not FIRST_DATE <= day <= LAST_DATE:
            return f"dates must lie between {FIRST_DATE} and {LAST_DATE}"
    return None
