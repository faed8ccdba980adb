"""Server-rendered pages: a second transport over the same services as /api/v1.

`pages_router()` is everything the app mounts for them: the HTML controllers (errors answered as
pages in the user's language) and the static files (CSS, a little JavaScript), all served by the
app itself.
"""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.static_files import create_static_files_router

from renewals.api.pages.i18n import STATIC_DIR
from renewals.errors import RenewalsError


def pages_router() -> list[Any]:
    from litestar.exceptions import HTTPException

    from renewals.api.pages.auth import SignInPages
    from renewals.api.pages.book import BookPages
    from renewals.api.pages.desk import DeskPages
    from renewals.api.pages.money import ReceivablesPages
    from renewals.api.pages.office import OfficePages
    from renewals.api.pages.web import error_page, http_error_page

    pages = Router(
        path="/",
        route_handlers=[SignInPages, DeskPages, BookPages, ReceivablesPages, OfficePages],
        exception_handlers={RenewalsError: error_page, HTTPException: http_error_page},
        include_in_schema=False,
        security=[],
    )
    static = create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False)
    return [pages, static]
