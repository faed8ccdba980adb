"""API fixtures: the real app on the real database, driven through Litestar's test client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine

from renewals.api.app import create_app
from renewals.db.models import User
from renewals.settings import Settings
from tests.factories import PASSWORD


class Api:
    """A test client that signs in as a user and speaks JSON."""

    def __init__(self, client: TestClient[Any]) -> None:
        self.client = client
        self.tokens: dict[int, str] = {}

    def token(self, user: User) -> str:
        if user.id not in self.tokens:
            r = self.client.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD})
            assert r.status_code == 201, r.text
            self.tokens[user.id] = r.json()["access_token"]
        return self.tokens[user.id]

    def _headers(self, user: User | None, headers: dict[str, str] | None) -> dict[str, str]:
        out = dict(headers or {})
        if user is not None:
            out["Authorization"] = f"Bearer {self.token(user)}"
        return out

    def get(self, path: str, user: User | None = None, **kw: Any) -> Any:
        return self.client.get(path, headers=self._headers(user, kw.pop("headers", None)), **kw)

    def post(self, path: str, user: User | None = None, json: Any = None, **kw: Any) -> Any:
        return self.client.post(path, json=json, headers=self._headers(user, kw.pop("headers", None)), **kw)

    def patch(self, path: str, user: User | None = None, json: Any = None, **kw: Any) -> Any:
        return self.client.patch(path, json=json, headers=self._headers(user, kw.pop("headers", None)), **kw)


@pytest.fixture
def api(settings: Settings, engine: Engine) -> Iterator[Api]:
    app = create_app(settings, engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client)


# The CLI tests' fixture: `renewals …` run in this process against the test database.
from tests.integration.cli_support import run_cli  # noqa: E402, F401
from tests.integration.notices_support import renderer, rt, warm_renderer  # noqa: E402, F401
