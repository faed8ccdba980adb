"""Import an existing book from CSV: rows become the API's input structs and go through the same services.

The whole file is one unit of work. Every row is checked first (cells, references, duplicates
inside the file), then every row that passed goes through its service in a savepoint of its
own, so the service rules and the audit log apply exactly as through the API and a row the
service refuses is reported without stopping the others. Any problem, anywhere, raises
`ImportFailed` with all of them, and the caller's unit of work rolls everything back.
"""

from __future__ import annotations

import csv
import io
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal, TypeVar

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from renewals.db.models import Client, User
from renewals.domain.access.rules import WRITE_CLIENTS, require_role, scope_clients
from renewals.domain.access.users import normalise_email
from renewals.domain.clients.rules import legal_name_key
from renewals.domain.clients.schemas import ClientIn, ContactIn
from renewals.domain.clients.service import add_contact, create_client
from renewals.domain.contracts.schemas import ContractIn, LineIn
from renewals.domain.contracts.service import create_contract
from renewals.domain.renewals.rules import DEFAULT_HORIZON_DAYS
from renewals.errors import Conflict, NotAuthenticated, NotFound, RenewalsError, ValidationFailed

Kind = Literal["clients", "contacts", "contracts"]
KINDS: tuple[Kind, ...] = ("clients", "contacts", "contracts")
S = TypeVar("S", bound=msgspec.Struct)

CLIENT_REF = ("client_legal_name", "client_id")
LINE_COLUMNS = {
    "line_description": "description",
    "line_quantity": "quantity",
    "line_monthly_unit_price": "monthly_unit_price",
}
_TRUE, _FALSE = {"yes", "y"}, {"no", "n"}
_AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$\.?(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
_LINE_FIELD = re.compile(r"^lines\[(?P<index>\d+)\]\.(?P<field>\w+)$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where (file line, column) and what."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column}: {self.message}"


class ImportFailed(RenewalsError):
    """The file has problems; nothing was written. `problems` lists every one found, by line."""

    status_code = 422

    def __init__(self, problems: Sequence[Problem]) -> None:
        ordered = sorted(problems, key=lambda p: p.line)  # stable: a line's problems keep column order
        count = f"{len(ordered)} problem{'s' if len(ordered) != 1 else ''}"
        super().__init__(
            f"{count} found; nothing was imported",
            extra=[{"line": p.line, "column": p.column, "message": p.message} for p in ordered],
        )
        self.problems = ordered


@dataclass(frozen=True)
class ImportResult:
    kind: Kind
    created: int
    lines: int = 0  # contract lines, for contracts
    dry_run: bool = False

    def __str__(self) -> str:
        noun = self.kind if self.created != 1 else self.kind[:-1]
        what = f"{self.created} {noun}"
        if self.kind == "contracts":
            what += f" with {self.lines} line{'s' if self.lines != 1 else ''}"
        return f"dry run: would import {what}; nothing was written" if self.dry_run else f"imported {what}"


@dataclass
class Row:
    """A data row: its first line in the file and its non-empty cells (stripped), by column."""

    line: int
    cells: dict[str, str]


@dataclass
class _Pending:
    """A row (or, for contracts, a group of rows) checked and ready for its service."""

    line: int
    data: Any
    columns: dict[str, str] = field(default_factory=dict)  # service field → CSV column, where they differ
    line_rows: list[int] = field(default_factory=list)  # contracts: the file line of each contract line


def acting_user(session: Session, email: str) -> User:
    """The active user an import runs as. Raises NotAuthenticated for an unknown or disabled e-mail."""
    try:
        normalised = normalise_email(email)
    except ValidationFailed:
        raise NotAuthenticated(f"--as {email!r} is not an e-mail address") from None
    user = session.scalar(select(User).where(User.email == normalised))
    if user is None or not user.active:
        raise NotAuthenticated(f"no active user with e-mail {normalised} (--as names the user the import runs as)")
    return user


def import_csv(
    session: Session,
    actor: User,
    kind: Kind,
    data: bytes,
    *,
    tier_thresholds: Mapping[str, tuple[Decimal, Decimal]],
    as_of: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    dry_run: bool = False,
) -> ImportResult:
    """Import one CSV file of clients, contacts or contracts on `as_of` (today: an imported
    contract ending within the horizon gets its renewal record at once). Raises ImportFailed,
    Forbidden."""
    if kind == "clients":
        return import_clients(session, actor, data, dry_run=dry_run)
    if kind == "contacts":
        return import_contacts(session, actor, data, dry_run=dry_run)
    return import_contracts(
        session, actor, data, tier_thresholds=tier_thresholds, as_of=as_of, horizon_days=horizon_days, dry_run=dry_run
    )


# ---------------------------------------------------------------------------------------------
# Clients


def import_clients(session: Session, actor: User, data: bytes, *, dry_run: bool = False) -> ImportResult:
    """Create one client per row, owned by `owner_email`/`owner_id` (or the acting account manager)."""
    require_role(actor, WRITE_CLIENTS, "importing clients")
    rows = _read(data, allowed=_fields(ClientIn) | {"owner_email"}, required=_required(ClientIn))
    problems: list[Problem] = []
    pending: list[_Pending] = []
    seen: dict[str, int] = {}
    for row in rows:
        before = len(problems)
        values = _cells(row, ClientIn, {c: c for c in _fields(ClientIn)}, problems) or {}
        # The service speaks of owner_id; report on the column the row used (owner_email when neither).
        owner_column = "owner_id" if "owner_id" in row.cells and "owner_email" not in row.cells else "owner_email"
        if "owner_email" in row.cells:
            owner_id = _user_id(session, row.cells["owner_email"])
            if owner_id is None:
                problems.append(Problem(row.line, "owner_email", "no user with this e-mail"))
            elif "owner_id" in values and values["owner_id"] != owner_id:
                problems.append(Problem(row.line, "owner_id", "names another user than owner_email"))
            else:
                values["owner_id"] = owner_id
        key = legal_name_key(row.cells.get("legal_name", ""))
        if key and key in seen:
            problems.append(Problem(row.line, "legal_name", f"the same legal name as line {seen[key]}"))
        elif key:
            seen[key] = row.line
        if len(problems) == before:
            client = _struct(
                row, ClientIn, _raw(row, ClientIn, exclude={"owner_email"}) | _given(values, "owner_id"), problems
            )
            if client is not None:
                pending.append(_Pending(row.line, client, {"owner_id": owner_column}))

    def write(item: _Pending) -> int:
        create_client(session, actor, item.data)
        return 0

    created, _ = _write(session, pending, write, problems, dry_run=dry_run, default_column="legal_name")
    return ImportResult("clients", created, dry_run=dry_run)


# ---------------------------------------------------------------------------------------------
# Contacts


def import_contacts(session: Session, actor: User, data: bytes, *, dry_run: bool = False) -> ImportResult:
    """Add one contact per row to the client named by `client_legal_name` or `client_id`."""
    require_role(actor, WRITE_CLIENTS, "importing contacts")
    rows = _read(data, allowed=_fields(ContactIn) | set(CLIENT_REF), required=_required(ContactIn), one_of=CLIENT_REF)
    problems: list[Problem] = []
    pending: list[_Pending] = []
    for row in rows:
        before = len(problems)
        _cells(row, ContactIn, {c: c for c in _fields(ContactIn)}, problems)
        client_id, client_column = _client_ref(session, actor, row, problems)
        if len(problems) == before and client_id is not None:
            contact = _struct(row, ContactIn, _raw(row, ContactIn, exclude=set(CLIENT_REF)), problems)
            if contact is not None:
                pending.append(_Pending(row.line, (client_id, contact), {"client_id": client_column}))

    def write(item: _Pending) -> int:
        client_id, contact = item.data
        add_contact(session, actor, client_id, contact)
        return 0

    created, _ = _write(session, pending, write, problems, dry_run=dry_run, default_column="name")
    return ImportResult("contacts", created, dry_run=dry_run)


# ---------------------------------------------------------------------------------------------
# Contracts


def import_contracts(
    session: Session,
    actor: User,
    data: bytes,
    *,
    tier_thresholds: Mapping[str, tuple[Decimal, Decimal]],
    as_of: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    dry_run: bool = False,
) -> ImportResult:
    """Create one contract per distinct `number`; each row with line cells adds a line, in file order."""
    require_role(actor, WRITE_CLIENTS, "importing contracts")
    terms = _fields(ContractIn) - {"client_id", "lines"}
    rows = _read(
        data,
        allowed=terms | set(CLIENT_REF) | set(LINE_COLUMNS),
        required=_required(ContractIn) - {"client_id"},
        one_of=CLIENT_REF,
    )
    problems: list[Problem] = []
    groups: dict[str, list[Row]] = {}
    for row in rows:
        number = row.cells.get("number")
        if number is None:
            problems.append(Problem(row.line, "number", "required: the contract number groups a contract's rows"))
        else:
            groups.setdefault(number, []).append(row)

    pending: list[_Pending] = []
    for group in groups.values():
        first = group[0]
        before = len(problems)
        _cells(first, ContractIn, {c: c for c in terms}, problems)
        for row in group[1:]:
            # Sheets often repeat a contract's terms on each of its rows: that is fine, a different value is not.
            for column, value in row.cells.items():
                if column in terms | set(CLIENT_REF) and value != first.cells.get(column):
                    problems.append(
                        Problem(row.line, column, f"differs from line {first.line}, where this contract starts")
                    )
        client_id, client_column = _client_ref(session, actor, first, problems)
        lines: list[LineIn] = []
        line_rows: list[int] = []
        for row in group:
            if not any(c in row.cells for c in LINE_COLUMNS):
                continue
            line_raw = {LINE_COLUMNS[c]: v for c, v in row.cells.items() if c in LINE_COLUMNS}
            if _cells(row, LineIn, LINE_COLUMNS, problems) is not None:
                line = _struct(row, LineIn, line_raw, problems, columns=LINE_COLUMNS)
                if line is not None:
                    lines.append(line)
                    line_rows.append(row.line)
        if len(problems) == before and client_id is not None:
            raw = _raw(first, ContractIn, exclude=set(CLIENT_REF) | set(LINE_COLUMNS)) | {"client_id": client_id}
            contract = _struct(first, ContractIn, raw, problems)
            if contract is not None:
                contract = msgspec.structs.replace(contract, lines=lines)
                pending.append(_Pending(first.line, contract, {"client_id": client_column}, line_rows))

    thresholds = dict(tier_thresholds)

    def write(item: _Pending) -> int:
        create_contract(session, actor, item.data, thresholds, as_of=as_of, horizon_days=horizon_days)
        return len(item.data.lines)

    created, line_count = _write(session, pending, write, problems, dry_run=dry_run, default_column="number")
    return ImportResult("contracts", created, line_count, dry_run=dry_run)


# ---------------------------------------------------------------------------------------------
# Reading the file


def _read(data: bytes, *, allowed: set[str], required: set[str], one_of: Sequence[str] = ()) -> list[Row]:
    """Decode (UTF-8, with or without Excel's BOM), check the header, and return the non-blank rows."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFailed([Problem(line, "(file)", 'not UTF-8 text; save the sheet as "CSV UTF-8"')]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportFailed([Problem(1, "(header)", "the file is empty; the first row names the columns")]) from None
    except csv.Error as exc:
        raise ImportFailed([Problem(1, "(header)", str(exc))]) from None
    problems = [Problem(1, h or "(blank)", "unknown column") for h in header if h not in allowed]
    problems += [Problem(1, h, "named twice") for i, h in enumerate(header) if h and h in header[:i]]
    problems += [Problem(1, c, "required column is missing") for c in sorted(required - set(header))]
    if one_of and not set(one_of) & set(header):
        problems.append(Problem(1, " or ".join(one_of), "required column is missing"))
    if problems:
        raise ImportFailed(problems)

    rows: list[Row] = []
    last = reader.line_num
    try:
        for record in reader:
            line, last = last + 1, reader.line_num
            if len(record) > len(header) and any(cell.strip() for cell in record[len(header) :]):
                problems.append(Problem(line, "(row)", f"{len(record)} cells for {len(header)} columns"))
                continue
            cells = {h: v.strip() for h, v in zip(header, record, strict=False) if v.strip()}
            if cells:
                rows.append(Row(line, cells))
    except csv.Error as exc:
        problems.append(Problem(reader.line_num, "(row)", str(exc)))
    if problems:
        raise ImportFailed(problems)
    return rows


# ---------------------------------------------------------------------------------------------
# Cells → structs


def _fields(struct: type[msgspec.Struct]) -> set[str]:
    return {f.name for f in msgspec.structs.fields(struct)}


def _required(struct: type[msgspec.Struct]) -> set[str]:
    return {f.name for f in msgspec.structs.fields(struct) if f.required}


def _hints(struct: type[msgspec.Struct]) -> dict[str, Any]:
    return typing.get_type_hints(struct, include_extras=True)


def _base(tp: Any) -> Any:
    """The type under Annotated[...] and `| None`."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _lax(value: str, tp: Any) -> str:
    """Spreadsheet booleans: yes/no and y/n besides what msgspec takes (true/false, 1/0)."""
    if _base(tp) is bool and value.lower() in _TRUE | _FALSE:
        return "true" if value.lower() in _TRUE else "false"
    return value


def _friendly(message: str, tp: Any) -> str:
    base = _base(tp)
    if typing.get_origin(base) is Literal and message.startswith("Invalid enum value"):
        return "must be one of: " + ", ".join(str(a) for a in typing.get_args(base))
    if message.startswith("Invalid") or (message.startswith("Expected `") and ", got `" in message):
        if base is date:
            return "expected a date like 2026-01-31"
        if base is bool:
            return "expected true or false (yes/no, 1/0)"
        if base is Decimal:
            return "expected a number like 1234.50"
        if base is int:
            return "expected a whole number"
    return message[0].lower() + message[1:] if message else message


def _cells(
    row: Row, struct: type[msgspec.Struct], columns: Mapping[str, str], problems: list[Problem]
) -> dict[str, Any] | None:
    """Convert each present cell to its field's type on its own, so every bad cell is reported.

    `columns` maps CSV column → struct field. Returns the converted values by field, or None
    when a cell failed (its problem appended).
    """
    hints = _hints(struct)
    out: dict[str, Any] = {}
    ok = True
    for column, raw in row.cells.items():  # file order, so a row's problems read left to right
        name = columns.get(column)
        if name is None:
            continue
        try:
            out[name] = msgspec.convert(_lax(raw, hints[name]), hints[name], strict=False)
        except msgspec.ValidationError as exc:
            ok = False
            problems.append(Problem(row.line, column, _friendly(_split(str(exc))[0], hints[name])))
    return out if ok else None


def _raw(row: Row, struct: type[msgspec.Struct], *, exclude: set[str]) -> dict[str, Any]:
    """The row's cells as `msgspec.convert` input for `struct` (unknown columns were refused by `_read`)."""
    hints = _hints(struct)
    return {c: _lax(v, hints[c]) if c in hints else v for c, v in row.cells.items() if c not in exclude}


def _given(values: Mapping[str, Any], name: str) -> dict[str, Any]:
    return {name: values[name]} if name in values else {}


def _struct(
    row: Row,
    struct: type[S],
    raw: dict[str, Any],
    problems: list[Problem],
    *,
    columns: Mapping[str, str] | None = None,
) -> S | None:
    """`msgspec.convert` the row (lax: strings to numbers, dates, booleans); a failure becomes a Problem."""
    try:
        return msgspec.convert(raw, struct, strict=False)
    except msgspec.ValidationError as exc:
        message, path = _split(str(exc))
        missing = _MISSING.match(message)
        name = missing["field"] if missing else path.split(".")[0].split("[")[0]
        column = next((c for c, f in (columns or {}).items() if f == name), name) or "(row)"
        problems.append(
            Problem(row.line, column, "required" if missing else _friendly(message, _hints(struct).get(name)))
        )
        return None


def _split(message: str) -> tuple[str, str]:
    match = _AT_PATH.match(message)
    if match is None:
        return message, ""
    return match["message"], match["path"] or ""


# ---------------------------------------------------------------------------------------------
# References


def _user_id(session: Session, email: str) -> int | None:
    try:
        normalised = normalise_email(email)
    except ValidationFailed:
        return None
    return session.scalar(select(User.id).where(User.email == normalised))


def _client_ref(session: Session, actor: User, row: Row, problems: list[Problem]) -> tuple[int | None, str]:
    """Resolve `client_legal_name` (among the clients the actor sees) or `client_id` to a client id."""
    by_id: int | None = None
    if "client_id" in row.cells:
        try:
            by_id = msgspec.convert(row.cells["client_id"], int, strict=False)
        except msgspec.ValidationError:
            problems.append(Problem(row.line, "client_id", "expected a whole number"))
            return None, "client_id"
    if "client_legal_name" not in row.cells:
        if by_id is None:
            problems.append(Problem(row.line, "client_legal_name", "required (or client_id)"))
        return by_id, "client_id"
    key = legal_name_key(row.cells["client_legal_name"])
    # A client the actor may not see answers like one that does not exist: no existence leak.
    found = session.scalar(scope_clients(select(Client.id), actor).where(Client.legal_name_key == key))
    if found is None:
        problems.append(Problem(row.line, "client_legal_name", "no client with this legal name"))
        return None, "client_legal_name"
    if by_id is not None and by_id != found:
        problems.append(Problem(row.line, "client_id", "names another client than client_legal_name"))
        return None, "client_id"
    return found, "client_legal_name"


# ---------------------------------------------------------------------------------------------
# Writing


@contextmanager
def _dry_run(session: Session, enabled: bool) -> Iterator[None]:
    """Run the writes inside a savepoint that is always rolled back, so a dry run writes nothing."""
    if not enabled:
        yield
        return
    savepoint = session.begin_nested()
    try:
        yield
    finally:
        savepoint.rollback()


def _write(
    session: Session,
    pending: Sequence[_Pending],
    write: Callable[[_Pending], int],
    problems: list[Problem],
    *,
    dry_run: bool,
    default_column: str,
) -> tuple[int, int]:
    """Send each checked row through its service in its own savepoint; raise ImportFailed if anything failed.

    Rows are written even when the check found problems elsewhere, so that one run reports the
    service's objections (duplicates in the database, currencies, amounts) too; the caller's
    unit of work then rolls all of it back.
    """
    created = extra = 0
    with _dry_run(session, dry_run):
        for item in pending:
            try:
                with session.begin_nested():
                    extra += write(item)
                created += 1
            except RenewalsError as exc:
                problems.extend(_problems(exc, item, default_column))
            except IntegrityError:
                problems.append(Problem(item.line, default_column, "conflicts with a record written meanwhile"))
    if problems:
        raise ImportFailed(problems)
    return created, extra


def _problems(exc: RenewalsError, item: _Pending, default_column: str) -> list[Problem]:
    """Place a service error on its file line and CSV column."""
    if isinstance(exc, ValidationFailed):
        out = []
        for name, message in exc.fields.items():
            line, column = item.line, item.columns.get(name, name)
            if (m := _LINE_FIELD.match(name)) and int(m["index"]) < len(item.line_rows):
                line, column = item.line_rows[int(m["index"])], "line_" + m["field"]
            elif name == "lines":
                column = "line_description"
            out.append(Problem(line, column, message))
        return out
    if isinstance(exc, NotFound):
        return [Problem(item.line, item.columns.get("client_id", default_column), exc.detail)]
    if isinstance(exc, Conflict) and isinstance(exc.extra, dict):
        column = next((k for k in exc.extra if isinstance(exc.extra[k], str)), default_column)
        return [Problem(item.line, item.columns.get(column, column), exc.detail)]
    return [Problem(item.line, default_column, exc.detail)]
