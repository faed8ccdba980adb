"""Alerts (`/alerts`, acknowledge, resolve) and the caller's day (`/today`)."""

from __future__ import annotations

from datetime import date

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from renewals import clock
from renewals.api.context import Req, state_of, unit
from renewals.api.params import Limit, Offset
from renewals.api.tabular import CSV_OUT, listing
from renewals.domain.alerts import service
from renewals.domain.alerts.schemas import AlertAction, AlertOut, TodayOut
from renewals.domain.pagination import Page


class AlertController(Controller):
    path = "/alerts"
    tags = ["alerts"]

    @get("/", sync_to_thread=True, opt=CSV_OUT)
    def list_alerts(
        self,
        request: Req,
        limit: Limit = 50,
        offset: Offset = 0,
        status: FromQuery[str | None] = None,
        kind: FromQuery[str | None] = None,
        assignee: FromQuery[str | None] = None,
        subject_type: FromQuery[str | None] = None,
        subject_id: FromQuery[int | None] = None,
        client_id: FromQuery[int | None] = None,
    ) -> Page[AlertOut]:
        """Alerts the caller may see, newest first; `assignee` is a user id or `me`."""
        return listing(
            request,
            AlertOut,
            service.list_alerts,
            service.alert_out,
            limit=limit,
            offset=offset,
            status=status,
            kind=kind,
            assignee=assignee,
            subject_type=subject_type,
            subject_id=subject_id,
            client_id=client_id,
        )

    @get("/{alert_id:int}", sync_to_thread=True)
    def get_alert(self, request: Req, alert_id: FromPath[int]) -> AlertOut:
        with unit(request) as (session, me):
            return service.alert_out(service.get_visible_alert(session, me, alert_id))

    @post("/{alert_id:int}/acknowledge", sync_to_thread=True, status_code=200)
    def acknowledge(self, request: Req, alert_id: FromPath[int], data: JSONBody[AlertAction | None] = None) -> AlertOut:
        """Mark an open alert as being handled; 409 when it is not open."""
        with unit(request) as (session, me):
            note = data.note if data is not None else None
            return service.alert_out(service.acknowledge(session, me, alert_id, clock.now(), note))

    @post("/{alert_id:int}/resolve", sync_to_thread=True, status_code=200)
    def resolve(self, request: Req, alert_id: FromPath[int], data: JSONBody[AlertAction | None] = None) -> AlertOut:
        """Resolve an alert by hand (today in RENEWALS_TIMEZONE); 409 when already resolved."""
        with unit(request) as (session, me):
            note = data.note if data is not None else None
            return service.alert_out(service.resolve(session, me, alert_id, state_of(request).today(), note))


class TodayController(Controller):
    path = "/today"
    tags = ["alerts"]

    @get("/", sync_to_thread=True)
    def today(self, request: Req, as_of: FromQuery[date | None] = None, limit: Limit = 100) -> TodayOut:
        """The caller's day: renewals needing action, follow-ups due, overdue invoices, birthdays
        in the next seven days, unresolved alerts. `as_of` defaults to today in RENEWALS_TIMEZONE."""
        day = as_of or state_of(request).today()
        with unit(request) as (session, me):
            return service.today(session, me, day, limit=limit)
