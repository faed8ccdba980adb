"""Notice rendering in a worker: one Renderer per process (fonts and templates stay warm), the
actors `notices.render` and `notices.batch` on the dedicated `pdf` queue.

The Renderer serialises its work behind a lock, so threads add nothing to PDF throughput: scale
the `pdf` queue with processes (`renewals worker --queues pdf`), one core each.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dramatiq.middleware import CurrentMessage
from sqlalchemy.orm import Session

from renewals import clock
from renewals.db.uow import claim_send_record, unit_of_work
from renewals.domain.notices import batches, build, service
from renewals.errors import RenewalsError
from renewals.jobs import runtime
from renewals.settings import Settings

if TYPE_CHECKING:  # WeasyPrint loads only in processes that render
    from renewals.domain.notices.render import RenderedPdf, Renderer

log = logging.getLogger(__name__)

PDF_QUEUE = "pdf"
RENDER_TIME_LIMIT_MS = 120_000
BATCH_TIME_LIMIT_MS = 1_800_000
RENDER_MAX_RETRIES = 3

_lock = threading.Lock()
_renderer: Renderer | None = None


def renderer(settings: Settings) -> Renderer:
    """This process's Renderer, made on first use (warm-up loads every template and font once)."""
    global _renderer
    with _lock:
        if _renderer is None:
            from renewals.domain.notices.render import Renderer

            allowed = [settings.logo_path] if settings.logo_path else []
            _renderer = Renderer(allowed_files=allowed, font_cache_dir=settings.data_dir / "cache" / "fonts")
        return _renderer


def use_renderer(instance: Renderer | None) -> None:
    """Replace this process's Renderer (tests: one whose fonts are missing)."""
    global _renderer
    with _lock:
        _renderer = instance


def _last_attempt() -> bool:
    message = CurrentMessage.get_current_message()
    if message is None:
        return True
    return int(message.options.get("retries", 0)) >= int(message.options.get("max_retries", RENDER_MAX_RETRIES))


@dataclass(frozen=True)
class _Rendered:
    pdf: RenderedPdf | None = None
    path: str = ""
    failure: str | None = None
    """Why the notice failed for good (retrying will not change it)."""
    error: Exception | None = None
    """Raised after the outcome is recorded, so Dramatiq retries."""


def render_notice(rt: runtime.Runtime, notice_id: int) -> None:
    """Render one notice and store it: build its context (one transaction), render with no
    transaction open, store the PDF by sha256, mark it ready (another transaction).

    A notice that cannot be rendered for a reason retrying will not change (a missing font, a
    context that no longer holds, such as a reminder for a client who has since paid) is marked
    failed with the reason. Anything else (database or disk trouble) is raised, so Dramatiq
    retries it; on the last attempt the notice is marked failed first.
    """
    sender = build.Sender.from_settings(rt.settings)

    def render(task: service.RenderTask) -> _Rendered:
        try:
            pdf = renderer(rt.settings).render(task.kind, task.language, task.context)
            return _Rendered(pdf, service.store_pdf(rt.settings.data_dir, pdf.sha256, pdf.data))
        except RenewalsError as exc:
            return _Rendered(failure=exc.detail)
        except Exception as exc:
            return _Rendered(failure=f"{type(exc).__name__}: {exc}" if _last_attempt() else None, error=exc)

    def record(session: Session, task: service.RenderTask, done: _Rendered) -> None:
        if done.pdf is not None:
            service.finish_render(
                session,
                task.notice_id,
                sha256=done.pdf.sha256,
                size=done.pdf.size,
                pages=done.pdf.pages,
                file_path=done.path,
                at=clock.now(),
            )
        elif done.failure is not None:
            service.fail_render(session, task.notice_id, done.failure, clock.now())

    try:
        finished = claim_send_record(
            rt.sessions, lambda session: service.begin_render(session, notice_id, sender), render, record
        )
    except RenewalsError as exc:  # the context cannot be built: retrying will not change that
        with unit_of_work(rt.sessions) as session:
            service.fail_render(session, notice_id, exc.detail, clock.now())
        return
    if finished is None:
        return
    task, done, _ = finished
    if done.error is not None:
        raise done.error
    if done.pdf is not None:
        log.info(
            "notice %s rendered: %s in %s, %d pages, %d bytes",
            notice_id,
            task.kind,
            task.language,
            done.pdf.pages,
            done.pdf.size,
        )


def notices_render(*, notice_id: int) -> None:
    """Render one notice to PDF and store it (queued → rendering → ready | failed)."""
    render_notice(runtime.current(), notice_id)


def notices_batch(*, batch_id: int) -> None:
    """Render every notice of a batch not yet rendered, then build the batch's zip."""
    rt = runtime.current()
    with unit_of_work(rt.sessions) as session:
        pending = batches.begin_batch(session, batch_id)
    if pending is None:
        return
    for notice_id in pending:
        render_notice(rt, notice_id)
    with unit_of_work(rt.sessions) as session:
        batches.finish_batch(session, batch_id, rt.settings.data_dir, clock.now())


ACTORS: dict[str, tuple[Any, str, dict[str, Any]]] = {
    "notices.render": (
        notices_render,
        PDF_QUEUE,
        {"time_limit": RENDER_TIME_LIMIT_MS, "max_retries": RENDER_MAX_RETRIES},
    ),
    "notices.batch": (notices_batch, PDF_QUEUE, {"time_limit": BATCH_TIME_LIMIT_MS, "max_retries": RENDER_MAX_RETRIES}),
}
