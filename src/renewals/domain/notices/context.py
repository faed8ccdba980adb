"""What every notice kind is rendered from: plain values only, every query already done. The
shapes all kinds share are here; each kind's own context is a TypedDict in its module (`kinds/`).

Every key is required (templates run with `StrictUndefined`); optional facts are present
with the value `None`. Money is `Decimal` in the currency's unit (not minor units), dates
are `datetime.date`, quantities and percentages are `Decimal` (`Decimal("6")` is 6 %).
Free text (client names, line descriptions, addresses) is printed as given, escaped.

The renderer derives only sums and maxima from the rows it is given (totals per
currency, the highest dunning level, running balances and closing balances), so the
printed totals always agree with the printed rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypedDict, get_args

Language = Literal["en", "zh-Hans", "zh-Hant", "ko"]
LANGUAGES: tuple[Language, ...] = get_args(Language)


class Letterhead(TypedDict):
    """The sender, from settings; printed at the top of page 1 and in every page footer."""

    company_name: str
    address_lines: list[str]
    contact_lines: list[str]
    """Telephone, e-mail, web site, tax number: one printed line each; may be empty."""
    logo_path: str | None
    """A local image file (PNG, JPEG or SVG) the renderer was told to allow, or None."""
    payment_instructions: list[str]
    """Bank name, account, SWIFT, reference to quote: one printed line each."""


class Recipient(TypedDict):
    """The client as the letter is addressed."""

    name: str
    attention: str | None
    """The contact person the letter is for (signatory or billing contact)."""
    address_lines: list[str]


class Contact(TypedDict):
    """Whom the client should call about this notice."""

    name: str
    email: str
    phone: str | None


NoticeContext = Mapping[str, Any]
"""A kind's context: the TypedDict its module declares."""
