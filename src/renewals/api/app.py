"""The Litestar application: business endpoints under /api/v1, probes and metrics outside it."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, MediaType, Response, Router, get
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
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
from renewals.api.controllers.jobs import JobController, ScanController
from renewals.api.controllers.notices import NoticeController, SharedNoticeController
from renewals.api.controllers.receivables import BillingController, InvoiceController, PaymentController
from renewals.api.controllers.renewals import RenewalController, RenewalReportController
from renewals.api.errors import HANDLERS
from renewals.api.params import RefuseUnknownQuery
from renewals.db.engine import make_engine, make_sessionmaker
from renewals.settings import Settings

API_CONTROLLERS: list[Any] = [
    AuthController,
    UserController,
    ClientController,
    ContractController,
    AuditController,
    AgingReportController,
    StatementController,
    RenewalController,
    RenewalReportController,
    AlertController,
    TodayController,
    ScanController,
    JobController,
    InvoiceController,
    PaymentController,
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


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Litestar:
    """Build the app. With no arguments, read settings from the environment (uvicorn --factory)."""
    settings = settings or settings_mod.get()
    engine = engine or make_engine(settings.database_url)
    if settings.redis_url:
        # Jobs requested by a request are sent to the workers once its transaction commits.
        from renewals.jobs.broker import install

        install(settings.redis_url)
    state = AppState(settings=settings, engine=engine, sessions=make_sessionmaker(engine))
    prometheus = PrometheusConfig(app_name="renewals", group_path=True, exclude=["/metrics", "/health"])
    strict = [RefuseUnknownQuery()]  # an unknown query parameter is a 400, never silently ignored
    api = Router(path="/api/v1", route_handlers=API_CONTROLLERS, security=[{"BearerToken": []}], middleware=strict)
    public = Router(
        path="/", route_handlers=[SharedNoticeController, health, ready, PrometheusController], middleware=strict
    )
    return Litestar(
        route_handlers=[api, public],
        middleware=[prometheus.middleware],
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
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
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


def _state(values: dict[str, Any]) -> Any:
    from litestar.datastructures import State

    return State(values)
