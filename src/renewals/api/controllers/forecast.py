"""The cash-in forecast over HTTP: today in RENEWALS_TIMEZONE read here, one service call."""

from __future__ import annotations

from datetime import date

from litestar import Controller, get

from renewals.api.context import Req, state_of, unit
from renewals.domain.receivables.cash_forecast import cash_forecast
from renewals.domain.receivables.forecast import DEFAULT_WEEKS, CashForecast


class CashForecastController(Controller):
    path = "/reports/cash-forecast"
    tags = ["reports"]

    @get("/", sync_to_thread=True)
    def cash_forecast(self, request: Req, as_of: date | None = None, weeks: int = DEFAULT_WEEKS) -> CashForecast:
        """Receipts expected per currency and ISO week from `as_of` (default today), 1–104 weeks.

        Open invoices and the invoices the billing schedule will issue, each at its due date
        plus its client's median delay over its last 12 fully paid invoices (0 with fewer than
        3); `by_due_date` is the same with no delay. Held invoices and those already past their
        expected date are listed apart (`held`, `overdue`).
        """
        day = as_of or state_of(request).today()
        with unit(request) as (session, me):
            return cash_forecast(session, me, day, weeks)
