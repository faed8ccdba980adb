"""What the letters print instead of codes (billing cycles, payment methods, statement entries,
aging buckets), and the unbreakable markup of amounts and dates: shared by the renderer's template
filters and the kinds' views (`kinds/`), without WeasyPrint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from babel.support import Translations
from markupsafe import Markup


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is used."""
    return message


BILLING_CYCLES: dict[str, str] = {
    "monthly": N_("Monthly in advance"),
    "quarterly": N_("Quarterly in advance"),
    "semiannual": N_("Half-yearly in advance"),
    "annual": N_("Yearly in advance"),
}
ENTRY_KINDS: dict[str, str] = {
    "invoice": N_("Invoice"),
    "payment": N_("Payment received"),
    "credit_note": N_("Credit note"),
    "payment_reversal": N_("Payment reversed"),
    "write_off": N_("Write-off"),
    "invoice_void": N_("Invoice voided"),
}
PAYMENT_METHODS: dict[str, str] = {
    "bank_transfer": N_("Bank transfer"),
    "wire_transfer": N_("Bank transfer"),
    "transfer": N_("Bank transfer"),
    "cheque": N_("Cheque"),
    "check": N_("Cheque"),
    "card": N_("Card payment"),
    "credit_card": N_("Card payment"),
    "cash": N_("Cash"),
    "direct_debit": N_("Direct debit"),
    "giro": N_("Giro transfer"),
    "online": N_("Online payment"),
    "other": N_("Other payment"),
}
BUCKET_CURRENT = N_("Current")
BUCKET_RANGE = N_("%(low)s–%(high)s days")
BUCKET_OVER = N_("Over %(days)s days")


def whole(filter_: Callable[..., str]) -> Callable[..., Markup]:
    """A formatting filter whose output is one unbreakable span: never split across lines."""

    def unbroken(*args: Any) -> Markup:
        return Markup('<span class="nw">{}</span>').format(filter_(*args))

    return unbroken


def humane(code: str) -> str:
    """A code nobody catalogued (a payment method), printed as words rather than as a code."""
    return code.replace("_", " ").replace("-", " ").strip().capitalize()


def method_label(translations: Translations, code: str) -> str:
    """A payment method in the letter's language."""
    return translations.gettext(PAYMENT_METHODS[code]) if code in PAYMENT_METHODS else humane(code)


def bucket_labeller(translations: Translations) -> Callable[[str], str]:
    """An aging bucket's key (`current`, `1-30`, `180+`) as the letter names it."""

    def label(key: str) -> str:
        if key == "current":
            return translations.gettext(BUCKET_CURRENT)
        if key.endswith("+"):
            return translations.gettext(BUCKET_OVER) % {"days": key[:-1]}
        low, _, high = key.partition("-")
        return translations.gettext(BUCKET_RANGE) % {"low": low, "high": high}

    return label
