from __future__ import annotations

from datetime import date

from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from renewals.api.context import Req, state_of, unit
from renewals.api.params import Limit, Offset
from renewals.api.tabular import CSV_OUT, Table, listing, report
from renewals.domain.pagination import Page
from renewals.domain.renewals import service
from renewals.domain.renewals.report import renewal_report
from renewals.domain.renewals.schemas import (
    ActivityIn,
    ActivityOut,
    CurrencyValue,
    RenewalOut,
    RenewalPatch,
    RenewalReport,
    TransitionIn,
)


def renewal_report_table(value: RenewalReport) -> Table:
    """Long format, one row per figure: `section` (pipeline_by_state, pipeline_by_month,
    value_at_risk, rates), `key` (the state, the month, the horizon's last day, the rate's name),
    then the count and, per currency, the monthly and annual value; rates in `value` (percent)."""
    header = ["section", "key", "currency", "count", "monthly_value", "annual_value", "value"]
    rows: list[list[object]] = []

    def bucket(section: str, key: object, count: int, values: list[CurrencyValue]) -> None:
        rows.append([section, key, "", count, "", "", ""])
        rows.extend([section, key, v.currency, v.count, v.monthly_value, v.annual_value, ""] for v in values)

    for state in value.pipeline_by_state:
        bucket("pipeline_by_state", state.status, state.count, state.values)
    for month in value.pipeline_by_month:
        bucket("pipeline_by_month", month.month, month.count, month.values)
    risk = value.value_at_risk
    bucket("value_at_risk", risk.through, risk.count, risk.values)
    rates = value.rates
    for name in ("decided", "renewed", "auto_renewed", "lost", "lapsed"):
        rows.append(["rates", name, "", getattr(rates, name), "", "", ""])
    rows.append(["rates", "renewal_rate", "", "", "", "", rates.renewal_rate])
    rows.append(["rates", "churn_rate", "", "", "", "", rates.churn_rate])
    return header, rows


class RenewalController(Controller):
    path = "/renewals"
    tags = ["renewals"]

    @get("/", sync_to_thread=True, opt=CSV_OUT)
    def list_renewals(
        self,
        request: Req,
        limit: Limit = 50,
        offset: Offset = 0,
        owner: FromQuery[int | None] = None,
        status: FromQuery[list[str] | None] = None,
        ending_within_days: FromQuery[int | None] = None,
        client_id: FromQuery[int | None] = None,
        sort: FromQuery[str] = "end_date",
        as_of: FromQuery[date | None] = None,
    ) -> Page[RenewalOut]:
        """The worklist, by end date or (`sort=risk`) by risk score; `status` repeats or takes a comma list.

        `ending_within_days` counts from `as_of` (default: today in RENEWALS_TIMEZONE).
        """
        state = state_of(request)
        day = as_of or state.today()
        return listing(
            request,
            RenewalOut,
            service.list_renewals,
            limit=limit,
            offset=offset,
            as_of=day,
            owner_id=owner,
            statuses=service.parse_statuses(status),
            ending_within_days=ending_within_days,
            client_id=client_id,
            sort=sort,
        )

    @get("/{renewal_id:int}", sync_to_thread=True)
    def get_renewal(self, request: Req, renewal_id: FromPath[int], as_of: FromQuery[date | None] = None) -> RenewalOut:
        """One renewal with its activity log (newest first) and its client's receivables."""
        state = state_of(request)
        with unit(request) as (session, me):
            return service.renewal_out(session, me, renewal_id, as_of or state.today())

    @patch("/{renewal_id:int}", sync_to_thread=True)
    def update_renewal(self, request: Req, renewal_id: FromPath[int], data: JSONBody[RenewalPatch]) -> RenewalOut:
        """Set the next action date, or the paper trail while awaiting signature, at `version`."""
        state = state_of(request)
        today = state.today()
        with unit(request) as (session, me):
            service.update_renewal(session, me, renewal_id, data, as_of=today)
            return service.renewal_out(session, me, renewal_id, today)

    @post("/{renewal_id:int}/transitions", sync_to_thread=True, status_code=200)
    def transition(self, request: Req, renewal_id: FromPath[int], data: JSONBody[TransitionIn]) -> RenewalOut:
        """Move the renewal; an illegal move answers 409 with the allowed targets in `extra.allowed`."""
        state = state_of(request)
        today = state.today()
        with unit(request) as (session, me):
            service.transition(
                session,
                me,
                renewal_id,
                data,
                as_of=today,
                horizon_days=state.settings.renewal_horizon_days,
                tier_thresholds=state.settings.tier_thresholds,
            )
            return service.renewal_out(session, me, renewal_id, today)

    @post("/{renewal_id:int}/activities", sync_to_thread=True)
    def add_activity(self, request: Req, renewal_id: FromPath[int], data: JSONBody[ActivityIn]) -> ActivityOut:
        """Log a call, e-mail, meeting or note; a follow-up date becomes the next action date."""
        today = state_of(request).today()
        with unit(request) as (session, me):
            activity = service.add_activity(session, me, renewal_id, data, as_of=today)
            return service.activity_out(activity)


class RenewalReportController(Controller):
    path = "/reports/renewals"
    tags = ["reports"]

    @get("/", sync_to_thread=True, opt=CSV_OUT)
    def report(self, request: Req, as_of: FromQuery[date | None] = None, months: FromQuery[int] = 6) -> RenewalReport:
        """Pipeline by state and end month, renewal and churn rates, annual value at risk in 90 days."""
        day = as_of or state_of(request).today()
        with unit(request) as (session, me):
            value = renewal_report(session, me, as_of=day, months=months)
        return report(request, value, renewal_report_table)
