from __future__ import annotations

from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from renewals.api.context import Req, unit
from renewals.api.params import Limit, Offset
from renewals.api.tabular import CSV_OUT, listing
from renewals.domain.clients import service
from renewals.domain.clients.schemas import ClientIn, ClientOut, ClientPatch, ContactIn, ContactOut
from renewals.domain.pagination import Page


class ClientController(Controller):
    path = "/clients"
    tags = ["clients"]

    @get("/", sync_to_thread=True, opt=CSV_OUT)
    def list_clients(
        self,
        request: Req,
        limit: Limit = 50,
        offset: Offset = 0,
        owner_id: FromQuery[int | None] = None,
        status: FromQuery[str | None] = None,
        segment: FromQuery[str | None] = None,
        tier: FromQuery[str | None] = None,
        language: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
    ) -> Page[ClientOut]:
        """Clients the caller may see (an account manager: only their own), by name."""
        return listing(
            request,
            ClientOut,
            service.list_clients,
            service.client_out,
            limit=limit,
            offset=offset,
            owner_id=owner_id,
            status=status,
            segment=segment,
            tier=tier,
            language=language,
            q=q,
        )

    @post("/", sync_to_thread=True)
    def create_client(self, request: Req, data: JSONBody[ClientIn]) -> ClientOut:
        with unit(request) as (session, me):
            return service.client_out(service.create_client(session, me, data))

    @get("/{client_id:int}", sync_to_thread=True)
    def get_client(self, request: Req, client_id: FromPath[int]) -> ClientOut:
        with unit(request) as (session, me):
            return service.client_out(service.get_visible(session, me, client_id))

    @patch("/{client_id:int}", sync_to_thread=True)
    def update_client(self, request: Req, client_id: FromPath[int], data: JSONBody[ClientPatch]) -> ClientOut:
        """Change fields at `version`; a stale version answers 409 and changes nothing."""
        with unit(request) as (session, me):
            return service.client_out(service.update_client(session, me, client_id, data))

    @get("/{client_id:int}/contacts", sync_to_thread=True, opt=CSV_OUT)
    def list_contacts(
        self, request: Req, client_id: FromPath[int], limit: Limit = 50, offset: Offset = 0
    ) -> Page[ContactOut]:
        return listing(
            request,
            ContactOut,
            service.list_contacts,
            service.contact_out,
            limit=limit,
            offset=offset,
            client_id=client_id,
        )

    @post("/{client_id:int}/contacts", sync_to_thread=True)
    def add_contact(self, request: Req, client_id: FromPath[int], data: JSONBody[ContactIn]) -> ContactOut:
        with unit(request) as (session, me):
            return service.contact_out(service.add_contact(session, me, client_id, data))
