"""The cash-in forecast over HTTP: today in RENEWALS_TIMEZONE read here, one service call."""

from __future__ import annotations

from datetime import date

from litestar import Controller, get
from litestar.params import FromQuery

from renewals.api.context import Req, state_of, unit
from renewals.api.tabular import CSV_OUT, Table, report
from renewals.domain.receivables.cash_forecast import cash_forecast
from renewals.domain.receivables.forecast import DEFAULT_WEEKS, CashForecast


def forecast_table(value: CashForecast) -> Table:
    """One row per currency and week, then the currency's overdue and held amounts as rows of their own."""
    header = ["as_of", "currency", "week_start", "week_end", "expected", "by_due_date"]
    ends = {w.start: w.end for w in value.weeks}
    rows: list[list[object]] = []
    for cur in value.currencies:
        rows.extend([value.as_of, cur.currency, w.start, ends[w.start], w.expected, w.by_due_date] for w in cur.weeks)
        rows.append([value.as_of, cur.currency, "overdue", "", cur.overdue, ""])
        rows.append([value.as_of, cur.currency, "held", "", cur.held, ""])
    return header, rows


class CashForecastController(Controller):
    path = "/reports/cash-forecast"
    tags = ["reports"]

    @get("/", sync_to_thread=True, opt=CSV_OUT)
    def cash_forecast(
        self, request: Req, as_of: FromQuery[date | None] = None, weeks: FromQuery[int] = DEFAULT_WEEKS
    ) -> CashForecast:
        """Receipts expected per currency and ISO week from `as_of` (default today), 1–104 weeks.

        Open invoices and the invoices the billing schedule will issue, each at its due date
        plus its client's median delay over its last 12 fully paid invoices (0 with fewer than
        3); `by_due_date` is the same with no delay. Held invoices and those already past their
        expected date are listed apart (`held`, `overdue`).
        """
        day = as_of or state_of(request).today()
        with unit(request) as (session, me):
            value = cash_forecast(session, me, day, weeks)
        return report(request, value, forecast_table)
