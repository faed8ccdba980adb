"""Receivables reports over HTTP: the aging report and a client's statement of account.

Thin handlers: read the clock (today in RENEWALS_TIMEZONE) and the configured buckets here at
the edge, then make one service call.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from renewals.api.context import Req, state_of, unit
from renewals.domain.receivables import reports
from renewals.domain.receivables.aging import parse_bounds
from renewals.domain.receivables.reports import AgingReport, Statement


class AgingReportController(Controller):
    path = "/reports"
    tags = ["reports"]

    @get("/aging", sync_to_thread=True)
    def aging(
        self,
        request: Req,
        as_of: date | None = None,
        group_by: str = "client",
        dso_days: int = reports.DEFAULT_DSO_DAYS,
        buckets: str | None = None,
    ) -> AgingReport:
        """Open receivables by days past due as of a date (default today), per currency, with DSO.

        `group_by` is `client`, `owner` or `segment`; DSO uses the `dso_days` days ending on
        `as_of`; `buckets` (e.g. `0,30,60,90`) replaces the configured bucket bounds for this
        request. Point in time: a past date gives the same figures whenever it is run.
        """
        state = state_of(request)
        bounds = parse_bounds(buckets) if buckets is not None else state.settings.aging_buckets
        with unit(request) as (session, me):
            return reports.aging(session, me, as_of or state.today(), group_by, bounds, dso_days)


class StatementController(Controller):
    path = "/clients"
    tags = ["clients"]

    @get("/{client_id:int}/statement", sync_to_thread=True)
    def statement(
        self,
        request: Req,
        client_id: int,
        from_: Annotated[date | None, QueryParameter(name="from")] = None,
        to: date | None = None,
    ) -> Statement:
        """A client's statement of account for `from` … `to` (inclusive), one section per currency.

        `to` defaults to today, `from` to the first day of `to`'s month.
        """
        state = state_of(request)
        end = to or state.today()
        with unit(request) as (session, me):
            return reports.statement(
                session, me, client_id, from_ or end.replace(day=1), end, state.settings.aging_buckets
            )
