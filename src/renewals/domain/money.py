"""Money: Decimal in the domain, integer minor units in storage.

Amounts are rounded to the currency's minor unit, half-up. Different currencies are
never summed together.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import get_currency_precision, list_currencies

from renewals.errors import ValidationFailed

# ISO 4217 codes Babel knows, minus funds codes and metals nobody invoices in.
_EXCLUDED = {"XAU", "XAG", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA", "XTS", "XXX"}
CURRENCIES: frozenset[str] = frozenset(c for c in list_currencies() if c not in _EXCLUDED)


# The largest amount accepted, in minor units: 10^15 - 1 (USD 9,999,999,999,999.99, KRW
# 999,999,999,999,999). Sums of many such amounts still fit a 64-bit integer column.
MAX_MINOR = 10**15 - 1
# Plain decimal notation in ASCII digits: no exponent, no full-width or other scripts' digits.
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def is_currency(code: str) -> bool:
    return code in CURRENCIES


def check_currency(code: str, field: str = "currency") -> str:
    """Return the code if it is a known ISO 4217 currency; raise ValidationFailed naming the field."""
    if not isinstance(code, str) or code.upper() != code or code not in CURRENCIES:
        raise ValidationFailed(field, f"unknown currency {code!r}; use an ISO 4217 code such as USD")
    return code


def decimals(currency: str) -> int:
    """Number of minor-unit digits: 0 for KRW and JPY, 2 for USD, EUR, CNY."""
    return int(get_currency_precision(currency))


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-decimals(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal, currency: str) -> int:
    """Decimal amount → integer minor units (rounded half-up)."""
    return int(round_money(amount, currency).scaleb(decimals(currency)))


def from_minor(minor: int, currency: str) -> Decimal:
    """Integer minor units → Decimal with the currency's exponent (e.g. 123450 USD → 1234.50)."""
    return Decimal(minor).scaleb(-decimals(currency)).quantize(quantum(currency))


def parse_amount(value: object, currency: str, field: str, *, allow_negative: bool = False) -> Decimal:
    """Parse an amount given as string or integer; reject floats, garbage, excess precision,
    non-ASCII digits and amounts beyond MAX_MINOR, each as ValidationFailed naming the field."""
    if isinstance(value, bool | float):
        raise ValidationFailed(field, 'amounts are decimal strings such as "1234.50", not floats')
    if isinstance(value, Decimal):
        amount = value
    else:
        text = str(value).strip()
        if len(text) > 40 or not _PLAIN_DECIMAL.fullmatch(text):
            raise ValidationFailed(field, f'malformed amount {text[:40]!r}; write digits 0-9 such as "1234.50"')
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValidationFailed(field, f"malformed amount {text!r}") from None
    if not amount.is_finite():
        raise ValidationFailed(field, f"malformed amount {value!r}")
    if abs(amount) > from_minor(MAX_MINOR, currency):
        raise ValidationFailed(field, f"must not exceed {from_minor(MAX_MINOR, currency)} {currency}")
    if not allow_negative and amount < 0:
        raise ValidationFailed(field, "must not be negative")
    if amount != round_money(amount, currency):
        raise ValidationFailed(field, f"{currency} amounts have at most {decimals(currency)} decimals")
    return round_money(amount, currency)


def fmt(amount: Decimal) -> str:
    """JSON representation of an amount: a plain decimal string."""
    return format(amount, "f")
