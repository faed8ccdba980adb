"""Client and contact shapes as the API carries them (pinned field names)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

Language = Literal["en", "zh-Hans", "zh-Hant", "ko"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
LegalName = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class ClientIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    legal_name: LegalName
    segment: Code
    size: Code
    language: Language
    currency: str
    credit_limit: Decimal = Decimal(0)
    owner_id: int | None = None


class ClientPatch(msgspec.Struct, forbid_unknown_fields=True):
    version: int
    name: Name | UnsetType = UNSET
    legal_name: LegalName | UnsetType = UNSET
    segment: Code | UnsetType = UNSET
    size: Code | UnsetType = UNSET
    language: Language | UnsetType = UNSET
    currency: str | UnsetType = UNSET
    credit_limit: Decimal | UnsetType = UNSET
    owner_id: int | UnsetType = UNSET


class ClientOut(msgspec.Struct):
    id: int
    name: str
    legal_name: str
    segment: str
    size: str
    language: str
    currency: str
    credit_limit: Decimal
    owner_id: int
    status: str
    tier: str
    version: int


class ContactIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    email: str | None = None
    phone: str | None = None
    role: str | None = None
    birthday: date | None = None
    is_billing: bool = False
    is_signatory: bool = False


class ContactOut(msgspec.Struct):
    id: int
    client_id: int
    name: str
    email: str | None
    phone: str | None
    role: str | None
    birthday: date | None
    is_billing: bool
    is_signatory: bool
