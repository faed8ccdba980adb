"""One error family, each carrying its HTTP status; mapped to responses in api.errors."""

from __future__ import annotations

from typing import Any


class RenewalsError(Exception):
    status_code = 400

    def __init__(self, detail: str, extra: Any = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra if extra is not None else {}


class ValidationFailed(RenewalsError):
    """Bad input. `extra` lists each invalid field as `{key, message, source}`, like Litestar's own."""

    status_code = 422

    def __init__(self, field: str | dict[str, str], message: str = "", source: str = "body") -> None:
        fields = {field: message} if isinstance(field, str) else dict(field)
        first = next(iter(fields))
        extra = [{"key": key, "message": msg, "source": source} for key, msg in fields.items()]
        super().__init__(f"Invalid {first}: {fields[first]}", extra=extra)
        self.fields = fields


class BadParameter(ValidationFailed):
    """A query or header parameter out of bounds: 400, like the framework's own parameter errors."""

    status_code = 400


class NotAuthenticated(RenewalsError):
    status_code = 401


class Forbidden(RenewalsError):
    status_code = 403


class NotFound(RenewalsError):
    status_code = 404

    def __init__(self, what: str, ident: object = None) -> None:
        super().__init__(f"{what} not found" if ident is None else f"{what} {ident} not found")


class Conflict(RenewalsError):
    status_code = 409


class StaleVersion(Conflict):
    def __init__(self, what: str, current: int) -> None:
        super().__init__(
            f"{what} was changed by someone else; reload it and try again",
            extra={"version": f"stale; current version is {current}", "current_version": current},
        )


class FontMissing(RenewalsError):
    """No installed font covers a script the notice needs (Chinese or Korean glyphs)."""

    status_code = 503


class NoticeRenderFailed(RenewalsError):
    """A notice could not be rendered: a context key is missing, or a resource was refused."""

    status_code = 500


class TooManyAttempts(RenewalsError):
    """Too many failed sign-ins for an account or from an address; `retry_after` in seconds."""

    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s", extra={"retry_after": retry_after})
        self.retry_after = retry_after
