"""The Litestar application: business endpoints under /api/v1, probes and metrics outside it."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import litestar_offline_docs
from litestar import Litestar, MediaType, Response, Router, get
from litestar.datastructures import MutableScopeHeaders
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.static_files import create_static_files_router
from litestar.types import Message, Scope
from sqlalchemy import Engine, text

from renewals import __version__, logs
from renewals import settings as settings_mod
from renewals.api.context import AppState, Req, state_of
from renewals.api.controllers.access import AuthController, UserController
from renewals.api.controllers.aging import AgingReportController, StatementController
from renewals.api.controllers.alerts import AlertController, TodayController
from renewals.api.controllers.audit import AuditController
from renewals.api.controllers.clients import ClientController
from renewals.api.controllers.contracts import ContractController
from renewals.api.controllers.credit_notes import CreditNoteController
from renewals.api.controllers.forecast import CashForecastController
from renewals.api.controllers.jobs import JobController, ScanController
from renewals.api.controllers.notices import NoticeController, NoticeReplyController, SharedNoticeController
from renewals.api.controllers.receivables import BillingController, InvoiceController, PaymentController
from renewals.api.controllers.renewals import RenewalController, RenewalReportController
from renewals.api.errors import HANDLERS
from renewals.api.hygiene import check_request
from renewals.api.openapi_docs import document_errors
from renewals.api.pages import pages_router
from renewals.api.params import RefuseUnknownQuery
from renewals.api.tabular import document_csv
from renewals.db.engine import make_engine, make_sessionmaker, reader
from renewals.settings import Settings

API_CONTROLLERS: list[Any] = [
    AuthController,
    UserController,
    ClientController,
    ContractController,
    AuditController,
    AgingReportController,
    StatementController,
    CashForecastController,
    RenewalController,
    RenewalReportController,
    AlertController,
    TodayController,
    ScanController,
    JobController,
    InvoiceController,
    PaymentController,
    CreditNoteController,
    BillingController,
    NoticeController,
]


@get("/health", tags=["probes"], security=[], media_type=MediaType.JSON)
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@get("/ready", tags=["probes"], security=[], sync_to_thread=True)
def ready(request: Req) -> Response[dict[str, object]]:
    """Readiness: the database and (when configured) the broker are reachable."""
    state = state_of(request)
    checks: dict[str, str] = {}
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if state.settings.redis_url:
        import redis

        try:
            redis.Redis.from_url(state.settings.redis_url, socket_timeout=2).ping()
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unreachable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return Response({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)


# A request that cannot get SQLite's write lock within this many seconds answers 503 with
# Retry-After rather than holding its client for long.
API_LOCK_TIMEOUT = 5.0

# Swagger UI's files come from a package in the lock and are served by the app itself, so the
# interactive page works with no internet access.
OPENAPI_ASSETS = "/static/openapi"
_SWAGGER_FILES = Path(litestar_offline_docs.__file__).resolve().parent / "static"


def _openapi_page() -> SwaggerRenderPlugin:
    return SwaggerRenderPlugin(
        js_url=f"{OPENAPI_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{OPENAPI_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{OPENAPI_ASSETS}/swagger-ui-standalone-preset.js",
        path=["/", "/swagger"],
        favicon="",
    )


async def security_headers(message: Message, scope: Scope) -> None:
    """Every response: `nosniff`; API answers and public links: never stored by a cache.

    A before-send hook rather than a middleware, so 404 and 405 answers from the router get them too.
    """
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        headers["X-Content-Type-Options"] = "nosniff"
        if scope["path"].startswith(("/api/", "/n/")):
            headers["Cache-Control"] = "no-store"


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Litestar:
    """Build the app. With no arguments, read settings from the environment (uvicorn --factory)."""
    settings = settings or settings_mod.get()
    engine = engine or make_engine(settings.database_url, lock_timeout=API_LOCK_TIMEOUT)
    if settings.redis_url:
        # Jobs requested by a request are sent to the workers once its transaction commits.
        from renewals.jobs.broker import install

        install(settings.redis_url)
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        read_sessions=make_sessionmaker(reader(engine)),
    )
    prometheus = PrometheusConfig(app_name="renewals", group_path=True, exclude=["/metrics", "/health"])
    strict = [RefuseUnknownQuery()]  # an unknown query parameter is a 400, never silently ignored
    api = Router(path="/api/v1", route_handlers=API_CONTROLLERS, security=[{"BearerToken": []}], middleware=strict)
    public = Router(
        path="/",
        route_handlers=[SharedNoticeController, NoticeReplyController, health, ready, PrometheusController],
        middleware=strict,
    )
    app = Litestar(
        route_handlers=[
            api,
            public,
            create_static_files_router(OPENAPI_ASSETS, [_SWAGGER_FILES], include_in_schema=False),
            *pages_router(),
        ],
        middleware=[prometheus.middleware],
        before_send=[security_headers],
        before_request=check_request,
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
        state=_state({"renewals": state}),
        openapi_config=OpenAPIConfig(
            title="renewals",
            version=__version__,
            description=(
                "Contract renewal and receivables tracking. Sign in with POST /api/v1/auth/token. "
                "Every list and report answers CSV (all rows) when asked with `Accept: text/csv`."
            ),
            path="/schema",
            render_plugins=[_openapi_page()],
            components=Components(
                security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
            ),
        ),
        logging_config=LoggingConfig(
            root={"handlers": ["queue_listener"], "level": logs.ROOT_LEVEL},
            loggers=logs.loggers(),
            formatters={"standard": {"format": logs.FORMAT}},
        ),
        on_shutdown=[engine.dispose],
        debug=False,
    )
    document_errors(app)
    document_csv(app)
    return app


def served_app() -> Litestar:
    """The app as `renewals run` serves it (`uvicorn --factory`): `create_app()` from the
    environment, then everything made so far — modules, the app, its routes and mappers — moved
    out of the garbage collector's reach (`gc.freeze`). A full collection then no longer walks
    those ~130,000 long-lived objects (a quarter of a second on a loaded 2-core box) in the
    middle of a request; the requests' own garbage is collected as before."""
    app = create_app()
    gc.collect()
    gc.freeze()
    return app


def _state(values: dict[str, Any]) -> Any:
    from litestar.datastructures import State

    return State(values)
