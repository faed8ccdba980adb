"""Notices over HTTP: request (202, rendered by a worker), follow, download, batch, share, send;
and the public `/n/{token}` that serves a shared PDF with no account."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from renewals import clock
from renewals.api.context import Req, anonymous_unit, state_of, unit
from renewals.api.params import Limit, Offset
from renewals.api.tabular import CSV_OUT, items, listing
from renewals.domain.deliveries import transport
from renewals.domain.notices import batches, service, sharing
from renewals.domain.notices import sending as mail
from renewals.domain.notices.build import Sender
from renewals.domain.notices.schemas import BatchIn, BatchOut, DeliveryOut, LinkIn, LinkOut, NoticeIn, NoticeOut
from renewals.domain.pagination import Page

PDF = "application/pdf"
# Mail servers answer within seconds; a request waits no longer than this for one.
SMTP_TIMEOUT_S = 20.0


def _pdf(data: bytes, filename: str) -> Response[bytes]:
    return Response(
        data,
        media_type=PDF,
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _revoke(request: Req, notice_id: int, link_id: str) -> LinkOut:
    state = state_of(request)
    with unit(request) as (session, me):
        link = sharing.revoke_link(session, me, notice_id, link_id, clock.now())
        return sharing.link_out(link, state.settings.secret_key)


class NoticeController(Controller):
    path = "/notices"
    tags = ["notices"]

    @post("/", sync_to_thread=True, status_code=202)
    def request_notice(self, request: Req, data: JSONBody[NoticeIn]) -> NoticeOut:
        """Ask for a notice (renewal_notice needs `contract_id`, statement needs `from`); it is
        queued and rendered by a worker: poll `GET /notices/{id}` until `ready` or `failed`."""
        state = state_of(request)
        with unit(request) as (session, me):
            notice = service.request_notice(session, me, data, state.today(), Sender.from_settings(state.settings))
            return service.notice_out(notice)

    @get("/", sync_to_thread=True, opt=CSV_OUT)
    def list_notices(
        self,
        request: Req,
        limit: Limit = 50,
        offset: Offset = 0,
        kind: FromQuery[str | None] = None,
        client_id: FromQuery[int | None] = None,
        status: FromQuery[str | None] = None,
    ) -> Page[NoticeOut]:
        """Notices of the clients the caller may see, newest first."""
        return listing(
            request,
            NoticeOut,
            service.list_notices,
            service.notice_out,
            limit=limit,
            offset=offset,
            kind=kind,
            client_id=client_id,
            status=status,
        )

    @get("/{notice_id:int}", sync_to_thread=True)
    def get_notice(self, request: Req, notice_id: FromPath[int]) -> NoticeOut:
        with unit(request) as (session, me):
            return service.notice_out(service.get_visible_notice(session, me, notice_id))

    @get("/{notice_id:int}/pdf", sync_to_thread=True, media_type=PDF)
    def download(self, request: Req, notice_id: FromPath[int]) -> Response[bytes]:
        """The notice's PDF; 409 while it is not ready."""
        state = state_of(request)
        with unit(request) as (session, me):
            notice = service.get_visible_notice(session, me, notice_id)
            data = service.read_pdf(state.settings.data_dir, notice)
        return _pdf(data, f"{notice.kind}-{notice.id}.pdf")

    @post("/{notice_id:int}/link", sync_to_thread=True, status_code=201)
    def create_link(self, request: Req, notice_id: FromPath[int], data: JSONBody[LinkIn | None] = None) -> LinkOut:
        """A signed link `/n/<token>` that serves the PDF without an account until it expires
        (30 days unless `expires_in_days` says otherwise) or is revoked."""
        state = state_of(request)
        with unit(request) as (session, me):
            link = sharing.create_link(session, me, notice_id, (data or LinkIn()).expires_in_days, clock.now())
            return sharing.link_out(link, state.settings.secret_key)

    @get("/{notice_id:int}/links", sync_to_thread=True, opt=CSV_OUT)
    def list_links(self, request: Req, notice_id: FromPath[int]) -> list[LinkOut]:
        state = state_of(request)
        with unit(request) as (session, me):
            links = sharing.list_links(session, me, notice_id)
            return items(request, LinkOut, [sharing.link_out(link, state.settings.secret_key) for link in links])

    @delete("/{notice_id:int}/link/{link_id:str}", sync_to_thread=True, status_code=200)
    def revoke_link(self, request: Req, notice_id: FromPath[int], link_id: FromPath[str]) -> LinkOut:
        """Revoke a shared link: from now on it answers 404."""
        return _revoke(request, notice_id, link_id)

    @post("/{notice_id:int}/link/{link_id:str}/revoke", sync_to_thread=True, status_code=200)
    def revoke_link_post(self, request: Req, notice_id: FromPath[int], link_id: FromPath[str]) -> LinkOut:
        """The same as `DELETE /notices/{id}/link/{link_id}`, for clients that cannot send DELETE."""
        return _revoke(request, notice_id, link_id)

    @post("/{notice_id:int}/send", sync_to_thread=True, status_code=200)
    def send(self, request: Req, notice_id: FromPath[int]) -> DeliveryOut:
        """E-mail the PDF to the client's billing contacts (reminders, statements) or signatories
        (renewal notices) over RENEWALS_SMTP_URL; the delivery is recorded either way.
        409 when the notice is not ready or the client has no such contact, 503 without SMTP,
        502 when the mail server refuses."""
        settings = state_of(request).settings
        with unit(request) as (session, me):
            claim = mail.prepare_send(
                session,
                me,
                notice_id,
                data_dir=settings.data_dir,
                mail_from=settings.mail_from,
                company=settings.company_name,
                smtp_configured=bool(settings.smtp_url),
                at=clock.now(),
            )
        # Outside any transaction: a slow mail server holds no database lock.
        outcome = transport.send_mail(settings.smtp_url or "", claim.message, SMTP_TIMEOUT_S)
        with anonymous_unit(request) as session:
            out = mail.delivery_out(mail.record_send(session, claim.delivery_id, outcome, clock.now()))
        if not outcome.ok:
            raise mail.NoticeNotSent(
                f"the mail server did not accept notice {notice_id}: {outcome.error}",
                extra={"delivery_id": out.id, "error": out.error},
            )
        return out

    @get("/{notice_id:int}/deliveries", sync_to_thread=True, opt=CSV_OUT)
    def deliveries(self, request: Req, notice_id: FromPath[int]) -> list[DeliveryOut]:
        """Every e-mail attempt of the notice, newest first."""
        with unit(request) as (session, me):
            return items(
                request, DeliveryOut, [mail.delivery_out(d) for d in mail.list_deliveries(session, me, notice_id)]
            )

    @post("/batch", sync_to_thread=True, status_code=202)
    def request_batch(self, request: Req, data: JSONBody[BatchIn]) -> BatchOut:
        """Renewal notices for every active contract of the owner's (default: the caller's) clients
        ending within `within_days`; rendered as one job, then zipped."""
        state = state_of(request)
        with unit(request) as (session, me):
            batch = batches.request_batch(session, me, data, state.today())
            return batches.batch_out(session, batch)

    @get("/batch/{batch_id:int}", sync_to_thread=True)
    def get_batch(self, request: Req, batch_id: FromPath[int]) -> BatchOut:
        with unit(request) as (session, me):
            return batches.batch_out(session, batches.get_visible_batch(session, me, batch_id))

    @get("/batch/{batch_id:int}/zip", sync_to_thread=True, media_type="application/zip")
    def download_batch(self, request: Req, batch_id: FromPath[int]) -> Response[bytes]:
        """The batch's notices as one zip; 409 until every notice has been rendered."""
        state = state_of(request)
        with unit(request) as (session, me):
            data = batches.read_zip(state.settings.data_dir, batches.get_visible_batch(session, me, batch_id))
        return Response(
            data,
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="notices-batch-{batch_id}.zip"',
                "Cache-Control": "private, no-store",
            },
        )


class SharedNoticeController(Controller):
    """Outside /api/v1 and without a bearer token: the token in the path is the permission."""

    path = "/n"
    tags = ["notices"]
    security = []

    @get("/{token:str}", sync_to_thread=True, media_type=PDF)
    def shared_pdf(self, request: Req, token: FromPath[str]) -> Response[bytes]:
        """The PDF a shared link points at; 404 for a tampered, expired or revoked token."""
        state = state_of(request)
        with anonymous_unit(request) as session:
            notice = sharing.notice_for_token(session, token, state.settings.secret_key, clock.now())
            data = service.read_pdf(state.settings.data_dir, notice)
        return _pdf(data, f"{notice.kind}-{notice.id}.pdf")
