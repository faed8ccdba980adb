"""An invoice's figures and status from what happened to it. Pure: amounts in, decisions out.

The balance is ``total - paid - credited - written_off``. The status follows from the figures:

* ``void`` once voided, whatever else;
* ``written_off`` while a write-off closed the balance (a later bounce that reopens a balance
  makes it ``open`` / ``partially_paid`` again, so it is chased like any other debt);
* ``paid`` when nothing is left to pay (also when a credit note settled all of it);
* ``partially_paid`` when some payment counts against it and a balance remains;
* ``open`` otherwise (a credit note alone does not make an invoice partly paid).
"""

from __future__ import annotations

from typing import NamedTuple

OPEN_STATUSES = ("open", "partially_paid")


class Figures(NamedTuple):
    """An invoice's amounts in minor units."""

    total: int
    paid: int = 0
    credited: int = 0
    written_off: int = 0

    @property
    def balance(self) -> int:
        return self.total - self.paid - self.credited - self.written_off


def status_for(figures: Figures, *, voided: bool = False) -> str:
    """Return the invoice status the figures imply (see the module docstring)."""
    if voided:
        return "void"
    balance = figures.balance
    if balance <= 0:
        return "written_off" if figures.written_off > 0 else "paid"
    return "partially_paid" if figures.paid > 0 else "open"


def invoice_number(prefix: str, year: int, ident: int) -> str:
    """A readable, unique document number from a row id: ``INV-2026-000123``."""
    return f"{prefix}-{year}-{ident:06d}"
