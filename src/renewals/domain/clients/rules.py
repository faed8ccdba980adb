"""Pure client rules: legal-name keys and ABC tiers."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from decimal import Decimal

LANGUAGES = ("en", "zh-Hans", "zh-Hant", "ko")
SEGMENTS = ("channel", "government", "enterprise", "finance", "smb", "education", "healthcare", "media")
SIZES = ("small", "medium", "large", "enterprise")
STATUSES = ("prospect", "active", "churned")


def legal_name_key(legal_name: str) -> str:
    """Compare legal names case-, space- and width-insensitively.

    NFKC folds full-width forms (ＡＢＣ, ideographic space) onto their half-width ones;
    casefold handles case; all whitespace is dropped.
    """
    folded = unicodedata.normalize("NFKC", legal_name).casefold()
    return "".join(ch for ch in folded if not ch.isspace())


def tier_for(annual_values: Mapping[str, Decimal], thresholds: Mapping[str, tuple[Decimal, Decimal]]) -> str:
    """ABC tier from annual contract value per currency; the best tier reached in any currency wins.

    Currencies are never summed together; a currency without configured thresholds counts for nothing.
    """
    best = "C"
    for currency, value in annual_values.items():
        if currency not in thresholds:
            continue
        a_min, b_min = thresholds[currency]
        if value >= a_min:
            return "A"
        if value >= b_min:
            best = "B"
    return best
