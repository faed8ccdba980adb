"""Today, the alerts list and its two actions."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from renewals import clock
from renewals.api.context import Req, state_of
from renewals.api.pages.web import Form, back, check_csrf, csv_download, done, refused, render, signed_in, text
from renewals.domain.alerts import service as alerts
from renewals.domain.alerts.schemas import AlertOut
from renewals.errors import NotFound, RenewalsError

PAGE = 50


# Rows per list on Today: the API's default page of /api/v1/today.
TODAY_ROWS = 100


class DeskPages(Controller):
    include_in_schema = False

    @get("/today", sync_to_thread=True)
    def today(self, request: Req) -> Response[Any]:
        day = state_of(request).today()
        with signed_in(request) as (session, me):
            # A morning's list, as the API's default page: the oldest arrears and the soonest
            # renewals first; the counts say how many more the Receivables and Renewals pages hold.
            out = alerts.today(session, me, day, limit=TODAY_ROWS)
            values = {"day": out, "arrears": out.overdue_clients.items, "cap": TODAY_ROWS}
            return render(request, "today.html", me, values)

    @get("/alerts", sync_to_thread=True)
    def alert_list(
        self,
        request: Req,
        status: FromQuery[str | None] = "open",
        kind: FromQuery[str | None] = None,
        offset: FromQuery[int] = 0,
        format: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Alerts the caller may see, newest first; `format=csv` downloads every one."""
        status = status or None
        filters: dict[str, Any] = {"status": status, "kind": kind or None, "assignee": None}
        if format == "csv":
            return csv_download(request, "alerts.csv", AlertOut, alerts.list_alerts, alerts.alert_out, **filters)
        with signed_in(request) as (session, me):
            rows, total = alerts.list_alerts(session, me, limit=PAGE, offset=offset, **filters)
            values = {
                "alerts": [alerts.alert_out(a) for a in rows],
                "page": {"total": total, "limit": PAGE, "offset": offset},
                "status": status or "",
                "kind": kind or "",
            }
            return render(request, "alerts.html", me, values)

    @post("/alerts/{alert_id:int}/{action:str}", sync_to_thread=True)
    def alert_action(self, request: Req, alert_id: FromPath[int], action: FromPath[str], data: Form) -> Redirect:
        check_csrf(request, data)
        to = back(request, "/alerts")
        day = state_of(request).today()
        try:
            with signed_in(request) as (session, me):
                if action == "acknowledge":
                    alerts.acknowledge(session, me, alert_id, clock.now(), text(data, "note"))
                elif action == "resolve":
                    alerts.resolve(session, me, alert_id, day, text(data, "note"))
                else:
                    raise NotFound("action", action)
        except RenewalsError as exc:
            return refused(request, to, exc)
        return done(request, to, action)
