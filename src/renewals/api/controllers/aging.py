"""Receivables reports over HTTP: the aging report and a client's statement of account.

Thin handlers: read the clock (today in RENEWALS_TIMEZONE) and the configured buckets here at
the edge, then make one service call.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromPath, FromQuery, QueryParameter

from renewals.api.context import Req, state_of, unit
from renewals.api.tabular import CSV_OUT, Table, report
from renewals.domain.receivables import reports
from renewals.domain.receivables.reports import AgingReport, Statement


def aging_table(value: AgingReport) -> Table:
    """One row per group (client, owner or segment) and currency, a column per bucket."""
    header = ["as_of", "currency", "key", "name", *value.buckets, "total"]
    rows = (
        [value.as_of, cur.currency, group.key, group.name, *(group.buckets.get(b) for b in value.buckets), group.total]
        for cur in value.currencies
        for group in cur.groups
    )
    return header, rows


def statement_table(value: Statement) -> Table:
    """The account as a ledger per currency: opening balance, each entry, closing balance."""
    header = ["client_id", "client_name", "currency", "date", "kind", "reference", "description", "amount", "balance"]
    start = [value.client_id, value.client_name]
    rows: list[list[object]] = []
    for cur in value.currencies:
        rows.append([*start, cur.currency, value.from_, "opening_balance", "", "", "", cur.opening_balance])
        rows.extend(
            [*start, cur.currency, e.date, e.kind, e.reference, e.description, e.amount, e.balance] for e in cur.entries
        )
        rows.append([*start, cur.currency, value.to, "closing_balance", "", "", "", cur.closing_balance])
    return header, rows


class AgingReportController(Controller):
    path = "/reports"
    tags = ["reports"]

    @get("/aging", sync_to_thread=True, opt=CSV_OUT)
    def aging(
        self,
        request: Req,
        as_of: FromQuery[date | None] = None,
        group_by: FromQuery[str] = "client",
        dso_days: FromQuery[int] = reports.DEFAULT_DSO_DAYS,
    ) -> AgingReport:
        """Open receivables by days past due as of a date (default today), per currency, with DSO.

        `group_by` is `client`, `owner` or `segment`; DSO uses the `dso_days` days ending on
        `as_of`. Point in time: a past date gives the same figures whenever it is run.
        """
        state = state_of(request)
        with unit(request) as (session, me):
            value = reports.aging(session, me, as_of or state.today(), group_by, state.settings.aging_buckets, dso_days)
        return report(request, value, aging_table)


class StatementController(Controller):
    path = "/clients"
    tags = ["clients"]

    @get("/{client_id:int}/statement", sync_to_thread=True, opt=CSV_OUT)
    def statement(
        self,
        request: Req,
        client_id: FromPath[int],
        from_: Annotated[date | None, QueryParameter(name="from")] = None,
        to: FromQuery[date | None] = None,
    ) -> Statement:
        """A client's statement of account for `from` … `to` (inclusive), one section per currency.

        `to` defaults to today, `from` to the first day of `to`'s month.
        """
        state = state_of(request)
        end = to or state.today()
        with unit(request) as (session, me):
            value = reports.statement(
                session, me, client_id, from_ or end.replace(day=1), end, state.settings.aging_buckets
            )
        return report(request, value, statement_table)
