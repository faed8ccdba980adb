from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromQuery

from renewals.api.context import Req
from renewals.api.params import Limit, Offset
from renewals.api.tabular import CSV_OUT, listing
from renewals.domain.audit_query import AuditOut, audit_out, list_audit
from renewals.domain.pagination import Page


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]

    @get("/", sync_to_thread=True, opt=CSV_OUT)
    def list_entries(
        self,
        request: Req,
        limit: Limit = 50,
        offset: Offset = 0,
        entity_type: FromQuery[str | None] = None,
        entity_id: FromQuery[int | None] = None,
        actor_id: FromQuery[int | None] = None,
        action: FromQuery[str | None] = None,
    ) -> Page[AuditOut]:
        """The append-only audit log, newest first (managers and admins)."""
        return listing(
            request,
            AuditOut,
            list_audit,
            audit_out,
            limit=limit,
            offset=offset,
            entity_type=entity_type,
            entity_id=entity_id,
            actor_id=actor_id,
            action=action,
        )
