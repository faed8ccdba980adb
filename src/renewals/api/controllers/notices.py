"""Notices over HTTP: request (202, rendered by a worker), follow, download, batch, share, send;
and, with no account, the public `/n/{token}` that serves a shared PDF and `/n/{token}/reply`
where the client answers it."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import date
from typing import Any

import msgspec
from anyio import to_thread
from litestar import Controller, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.orm import Session

from renewals import clock
from renewals.api import reply_page
from renewals.api.context import Req, anonymous_unit, bearer, caller, state_of, unit
from renewals.api.params import Limit, Offset
from renewals.api.tabular import CSV_OUT, items, listing
from renewals.db.models import User
from renewals.db.uow import claim_send_record
from renewals.domain.deliveries import transport
from renewals.domain.notices import batches, replies, rules, service, sharing
from renewals.domain.notices import sending as mail
from renewals.domain.notices.build import Sender
from renewals.domain.notices.schemas import (
    BatchIn,
    BatchOut,
    DeliveryOut,
    LinkIn,
    LinkOut,
    NoticeIn,
    NoticeOut,
    ReplyIn,
    ReplyOut,
)
from renewals.domain.pagination import Page
from renewals.errors import Forbidden, NotFound, RenewalsError, ValidationFailed

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


def send_notice(
    request: Req, notice_id: int, who: Callable[[Session], User]
) -> tuple[mail.SendClaim, transport.Outcome, DeliveryOut] | None:
    """Claim a notice's e-mail, send it with no transaction open, record how it went: the one
    sending step of the API and the pages (`who` finds the caller inside the claim's transaction)."""
    settings = state_of(request).settings
    return claim_send_record(
        state_of(request).sessions,
        lambda session: mail.prepare_send(
            session,
            who(session),
            notice_id,
            data_dir=settings.data_dir,
            mail_from=settings.mail_from,
            company=settings.company_name,
            smtp_configured=bool(settings.smtp_url),
            at=clock.now(),
            public_url=settings.public_url,
            secret=settings.secret_key,
        ),
        # Outside any transaction: a slow mail server holds no database lock.
        lambda claim: transport.send_mail(settings.smtp_url or "", claim.message, SMTP_TIMEOUT_S),
        lambda session, claim, outcome: mail.delivery_out(
            mail.record_send(session, claim.delivery_id, outcome, clock.now())
        ),
    )


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
        bearer(request)
        done = send_notice(request, notice_id, lambda session: caller(request, session))
        if done is None:  # pragma: no cover - prepare_send always claims or raises
            raise NotFound("notice", notice_id)
        _claim, outcome, out = done
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
            batch = batches.get_visible_batch(session, me, batch_id)
            data = batches.read_zip(session, state.settings.data_dir, batch, me)
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


HTML = "text/html; charset=utf-8"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# The reply page holds a token in its address: it is never cached, framed or sent on as a referrer.
PAGE_HEADERS = {
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
}


class UnsupportedMediaType(RenewalsError):
    status_code = 415


def _page(html: str, status_code: int = 200) -> Response[str]:
    return Response(html, media_type=HTML, status_code=status_code, headers=PAGE_HEADERS)


def _json_reply(raw: bytes) -> ReplyIn:
    try:
        return msgspec.json.decode(raw, type=ReplyIn)
    except msgspec.ValidationError as exc:
        found = re.search(r"at `\$\.(\w+)", str(exc))
        raise ValidationFailed(found.group(1) if found else "body", str(exc).split(" - at ")[0]) from exc
    except msgspec.DecodeError as exc:
        raise ValidationFailed("body", "is not valid JSON") from exc


def _form_reply(form: Any) -> ReplyIn:
    """The page's form as a ReplyIn; empty fields are absent."""

    def text(name: str) -> str | None:
        value = form.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    promise = text("promise_date")
    try:
        promise_date = date.fromisoformat(promise) if promise else None
    except ValueError as exc:
        raise ValidationFailed("promise_date", "must be a date (YYYY-MM-DD)") from exc
    raw_ids = [v for v in form.getall("invoice_ids", []) if isinstance(v, str) and v.strip()]
    if not all(v.strip().isdigit() for v in raw_ids):
        raise ValidationFailed("invoice_ids", "must be invoice ids")
    choice = text("choice")
    if choice is None:
        raise ValidationFailed("choice", "choose an answer")
    return ReplyIn(
        choice=choice,
        promise_date=promise_date,
        invoice_ids=[int(v) for v in raw_ids] if raw_ids else None,
        reason=text("reason"),
        reference=text("reference"),
    )


class NoticeReplyController(Controller):
    """The client's answer to a letter, through its shared link: the token is the permission."""

    path = "/n"
    tags = ["notices"]
    security = []

    def _view_page(
        self, request: Req, token: str, *, done: ReplyOut | None = None, failure: RenewalsError | None = None
    ) -> Response[str]:
        state = state_of(request)
        secret = state.settings.secret_key
        with anonymous_unit(request) as session:
            view = replies.reply_view(session, token, secret, at=clock.now(), today=state.today())
        csrf = rules.reply_form_token(secret, view.link_id, secrets.token_urlsafe(16))
        html = reply_page.render(view, pdf_url=f"{sharing.PUBLIC_PREFIX}{token}", csrf=csrf, done=done, failure=failure)
        return _page(html, failure.status_code if failure is not None else 200)

    @get("/{token:str}/reply", sync_to_thread=True, media_type=HTML)
    def reply_page(self, request: Req, token: FromPath[str]) -> Response[str]:
        """The page, in the letter's language, where the client answers it; 404 for a bad,
        expired or revoked link and for a letter that asks nothing (a statement)."""
        return self._view_page(request, token)

    def _answer(self, request: Req, token: str, data: ReplyIn, form_token: str | None) -> tuple[ReplyOut, bool]:
        state = state_of(request)
        with anonymous_unit(request) as session:
            reply, replayed = replies.answer(
                session,
                token,
                state.settings.secret_key,
                data,
                at=clock.now(),
                today=state.today(),
                form_token=form_token,
            )
            return replies.reply_out(reply, replayed=replayed), replayed

    @post("/{token:str}/reply", status_code=201)
    async def reply(self, request: Req, token: FromPath[str]) -> Response[Any]:
        """Answer a letter: `{choice, promise_date?, invoice_ids?, reason?, reference?}` as JSON
        (201 with the answer; 200 with the first one when a form is sent again) or as the page's
        form (the page again, confirming). 404 for a bad, expired or revoked link, 403 for a form
        not issued for this link, 422 naming the field, 429 after too many answers."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json":
            data = _json_reply(await request.body())
            out, replayed = await to_thread.run_sync(self._answer, request, token, data, None)
            return Response(out, status_code=200 if replayed else 201)
        if kind not in FORM_TYPES:
            raise UnsupportedMediaType("send the answer as application/json or as the page's form")
        form = await request.form()
        csrf = form.get("csrf")
        if not isinstance(csrf, str) or not csrf:
            raise Forbidden("this form has no anti-forgery value: reload the page and answer again")
        try:
            data = _form_reply(form)
            out, _replayed = await to_thread.run_sync(self._answer, request, token, data, csrf)
        except (ValidationFailed, Forbidden, replies.TooManyReplies) as exc:
            failure: RenewalsError = exc
            return await to_thread.run_sync(lambda: self._view_page(request, token, failure=failure))
        return await to_thread.run_sync(lambda: self._view_page(request, token, done=out))
