"""Notices (request, status, preview, download, share, send), reports with charts, CSV import."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect

from renewals import clock
from renewals.api.context import Req, state_of
from renewals.api.controllers.notices import send_notice
from renewals.api.pages.book import RENEWAL_STATES
from renewals.api.pages.charts import bar_chart, stacked_chart
from renewals.api.pages.web import (
    Form,
    back,
    check_csrf,
    csv_download,
    done,
    local_path,
    page_user,
    parse,
    refused,
    render,
    signed_in,
    text,
)
from renewals.domain import imports
from renewals.domain.access.users import names
from renewals.domain.clients import service as clients
from renewals.domain.notices import batches, service, sharing
from renewals.domain.notices.build import Sender
from renewals.domain.notices.schemas import BatchIn, LinkIn, NoticeIn, NoticeOut
from renewals.domain.receivables.cash_forecast import cash_forecast
from renewals.domain.renewals.report import renewal_report
from renewals.errors import RenewalsError, ValidationFailed

PAGE = 50
PIPELINE_STATES = ("upcoming", "contacted", "proposal_sent", "awaiting_signature")
MultiPart = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]


def _pdf(data: bytes, filename: str, disposition: str) -> Response[bytes]:
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


FORECAST_WEEKS = 13  # the next quarter, week by week


class OfficePages(Controller):
    include_in_schema = False

    # --- notices -----------------------------------------------------------------------------

    @get("/notices", sync_to_thread=True)
    def notice_list(
        self,
        request: Req,
        kind: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        offset: FromQuery[int] = 0,
        batch: FromQuery[int | None] = None,
        format: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Notices, newest first; `batch` shows that batch's progress and its zip when built;
        `format=csv` downloads every notice."""
        filters: dict[str, Any] = {"kind": kind or None, "status": status or None}
        if format == "csv":
            return csv_download(request, "notices.csv", NoticeOut, service.list_notices, service.notice_out, **filters)
        with signed_in(request) as (session, me):
            shown_batch = batches.batch_out(session, batches.get_visible_batch(session, me, batch)) if batch else None
            rows, total = service.list_notices(session, me, limit=PAGE, offset=offset, **filters)
            client_ids = {n.client_id for n in rows}
            client_names = {}
            for client_id in client_ids:
                client_names[client_id] = clients.get_visible(session, me, client_id).name
            values = {
                "rows": [service.notice_out(n) for n in rows],
                "page": {"total": total, "limit": PAGE, "offset": offset},
                "clients": client_names,
                "filters": {"kind": kind or "", "status": status or ""},
                "batch": shown_batch,
                "owners": names(session, ("account_manager",)) if me.role != "account_manager" else {},
            }
            return render(request, "notices.html", me, values)

    @post("/notices", sync_to_thread=True)
    def request_notice(self, request: Req, data: Form) -> Redirect:
        check_csrf(request, data)
        state = state_of(request)
        to = local_path(text(data, "next"), "/notices")
        try:
            fields = {k: text(data, k) for k in ("kind", "client_id", "contract_id", "language")}
            notice = parse(NoticeIn, fields)
            with signed_in(request) as (session, me):
                service.request_notice(session, me, notice, state.today(), Sender.from_settings(state.settings))
        except RenewalsError as exc:
            return refused(request, to, exc)
        return done(request, to, "requested")

    @post("/notices/batch", sync_to_thread=True)
    def request_batch(self, request: Req, data: Form) -> Redirect:
        """Renewal notices for every contract of the caller's clients ending within N days."""
        check_csrf(request, data)
        try:
            asked = parse(BatchIn, {"within_days": text(data, "within_days"), "owner_id": text(data, "owner_id")})
            with signed_in(request) as (session, me):
                batch_id = batches.request_batch(session, me, asked, state_of(request).today()).id
        except RenewalsError as exc:
            return refused(request, "/notices", exc)
        return done(request, f"/notices?batch={batch_id}", "requested")

    @get("/notices/batches/{batch_id:int}/zip", sync_to_thread=True)
    def batch_zip(self, request: Req, batch_id: FromPath[int]) -> Response[bytes]:
        with signed_in(request) as (session, me):
            batch = batches.get_visible_batch(session, me, batch_id)
            data = batches.read_zip(session, state_of(request).settings.data_dir, batch, me)
        return Response(
            data,
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="notices-batch-{batch_id}.zip"',
                "Cache-Control": "private, no-store",
            },
        )

    @get("/notices/{notice_id:int}/preview", sync_to_thread=True)
    def preview(self, request: Req, notice_id: FromPath[int]) -> Response[bytes]:
        """The PDF shown in the browser's own viewer."""
        with signed_in(request) as (session, me):
            notice = service.get_visible_notice(session, me, notice_id)
            data = service.read_pdf(state_of(request).settings.data_dir, notice)
        return _pdf(data, f"{notice.kind}-{notice.id}.pdf", "inline")

    @get("/notices/{notice_id:int}/download", sync_to_thread=True)
    def download(self, request: Req, notice_id: FromPath[int]) -> Response[bytes]:
        with signed_in(request) as (session, me):
            notice = service.get_visible_notice(session, me, notice_id)
            data = service.read_pdf(state_of(request).settings.data_dir, notice)
        return _pdf(data, f"{notice.kind}-{notice.id}.pdf", "attachment")

    @post("/notices/{notice_id:int}/link", sync_to_thread=True)
    def share(self, request: Req, notice_id: FromPath[int], data: Form) -> Redirect:
        check_csrf(request, data)
        to = local_path(text(data, "next"), back(request, "/notices"))
        try:
            with signed_in(request) as (session, me):
                link = sharing.create_link(session, me, notice_id, LinkIn().expires_in_days, clock.now())
                url = sharing.link_out(link, state_of(request).settings.secret_key).url
        except RenewalsError as exc:
            return refused(request, to, exc)
        return done(request, to, f"link:{request.base_url}{url.lstrip('/')}")

    @post("/notices/{notice_id:int}/send", sync_to_thread=True)
    def send(self, request: Req, notice_id: FromPath[int], data: Form) -> Redirect:
        """E-mail the PDF, as POST /api/v1/notices/{id}/send does: claim, send, record."""
        check_csrf(request, data)
        to = local_path(text(data, "next"), back(request, "/notices"))
        try:
            sent = send_notice(request, notice_id, lambda session: page_user(request, session))
            if sent is not None and not sent[1].ok:
                return done(request, to, str(sent[1].error), error=True)
        except RenewalsError as exc:
            return refused(request, to, exc)
        return done(request, to, "sent")

    # --- reports -----------------------------------------------------------------------------

    @get("/reports", sync_to_thread=True)
    def reports(self, request: Req, months: FromQuery[int] = 6) -> Response[Any]:
        """The renewal pipeline by month (chart and table), renewal and churn rates, value at risk,
        and the cash-in forecast for the next 13 weeks (a chart and a table per currency)."""
        day = state_of(request).today()
        with signed_in(request) as (session, me):
            report = renewal_report(session, me, as_of=day, months=months)
            present = {s for m in report.pipeline_by_month for s, n in m.by_state.items() if n}
            states = [s for s in RENEWAL_STATES if s in present] or list(PIPELINE_STATES)
            columns = [(m.month, [m.by_state.get(s, 0) for s in states]) for m in report.pipeline_by_month]
            forecast = cash_forecast(session, me, day, FORECAST_WEEKS)
            forecast_charts = {
                c.currency: bar_chart([(w.start.isoformat(), w.expected) for w in c.weeks], one_series=True)
                for c in forecast.currencies
            }
            values = {
                "report": report,
                "chart": stacked_chart(columns),
                "states": states,
                "forecast": forecast,
                "forecast_charts": forecast_charts,
            }
            return render(request, "reports.html", me, values)

    # --- import ------------------------------------------------------------------------------

    @get("/import", sync_to_thread=True)
    def import_form(self, request: Req) -> Response[Any]:
        with signed_in(request) as (_, me):
            return render(request, "import.html", me, {"result": None, "problems": None, "kinds": imports.KINDS})

    @post("/import", sync_to_thread=True)
    def import_file(self, request: Req, data: MultiPart) -> Response[Any]:
        """Upload a CSV; a dry run checks every row and writes nothing. Problems come back by line."""
        check_csrf(request, data)
        state = state_of(request)
        upload = data.get("file")
        kind = text(data, "kind") or ""
        dry_run = data.get("dry_run") == "yes"
        content = upload.file.read() if isinstance(upload, UploadFile) else b""
        problems = None
        result = None
        status = 200
        try:
            if kind not in imports.KINDS:
                raise ValidationFailed("kind", f"one of {', '.join(imports.KINDS)}")
            with signed_in(request) as (session, me):
                result = imports.import_csv(
                    session,
                    me,
                    kind,
                    content,
                    tier_thresholds=state.settings.tier_thresholds,
                    as_of=state.today(),
                    horizon_days=state.settings.renewal_horizon_days,
                    dry_run=dry_run,
                )
        except imports.ImportFailed as exc:
            problems, status = exc.problems, 422
        except RenewalsError as exc:
            if exc.status_code in (401, 404):
                raise
            problems, status = [imports.Problem(0, "file", exc.detail)], exc.status_code
        with signed_in(request) as (session, me):
            values = {"result": result, "problems": problems, "kinds": imports.KINDS, "kind": kind, "dry_run": dry_run}
            return render(request, "import.html", me, values, status_code=status)
