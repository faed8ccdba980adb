"""Generated requests for every documented operation, as each role: never a server error, and
every answer is one the OpenAPI document describes (status, content type, schema)."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from litestar.testing import TestClient
from schemathesis.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from renewals.api.app import create_app
from renewals.settings import Settings
from tests.factories import PASSWORD, make_client, make_contract, make_user

ROLES = ["account_manager", "finance", "manager", "admin"]
EXAMPLES = 10  # per operation and role; the operations × roles product keeps the run to minutes


# What the service promises: no server error, and only answers its document describes. (Whether
# a schema-valid body passes every business rule is not something a schema can say.)
def no_crash(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 500: a 503 is the documented "busy or not set up here" (a locked database, e-mail not
    configured), which a client can act on; anything else at 5xx is a crash."""
    if response.status_code >= 500 and response.status_code != 503:
        raise AssertionError(f"server error {response.status_code}: {response.text[:300]}")
    return None


CHECKS = [no_crash, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_generated_requests_get_documented_answers(settings: Settings, engine: Engine, session: Any) -> None:
    users = {role: make_user(session, role=role) for role in ROLES}
    owned = make_client(session, owner=users["account_manager"])
    make_contract(session, client=owned, actor=users["account_manager"])
    session.commit()
    app = create_app(settings, engine)
    with TestClient(app) as client:
        tokens = {
            role: client.post("/api/v1/auth/token", json={"email": u.email, "password": PASSWORD}).json()[
                "access_token"
            ]
            for role, u in users.items()
        }
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]

    for operation in operations:

        @given(case=operation.as_strategy())
        @examples(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def check(case: Any) -> None:
            for role in ROLES:
                case.call_and_validate(headers={"Authorization": f"Bearer {tokens[role]}"}, checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {describe(exc)}")

    assert len(operations) > 40
    assert failures == [], "\n".join(failures)


def describe(exc: BaseException) -> str:
    """The failures' names and their first lines, for a readable assertion message."""
    parts = [str(e).strip().splitlines()[0] for e in getattr(exc, "exceptions", [exc])]
    return "; ".join(parts) + " | " + " ".join(str(exc).split())[:600]
