from __future__ import annotations

import msgspec


class TokenIn(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    password: str


class TokenOut(msgspec.Struct):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 — the OAuth2 token type, not a secret


class UserOut(msgspec.Struct):
    id: int
    email: str
    name: str
    role: str
    active: bool
