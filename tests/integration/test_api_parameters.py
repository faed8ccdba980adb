"""Query parameters an endpoint does not take are refused, and every invalid field names its source."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_client, make_user

UNKNOWN = "zz_unknown"


@pytest.fixture
def people(session):
    people = {
        "admin": make_user(session, role="admin"),
        "mina": make_user(session, role="account_manager"),
        "finance": make_user(session, role="finance"),
    }
    session.commit()
    return people


def _fields(response):
    return {(item["key"], item["source"]) for item in response.json()["extra"]}


@pytest.mark.parametrize(
    "path",
    ["/api/v1/clients", "/api/v1/invoices", "/api/v1/renewals", "/api/v1/reports/aging", "/api/v1/alerts"],
)
def test_a_misspelt_filter_is_refused_not_ignored(api, people, path):
    r = api.get(f"{path}?stauts=open", people["finance"])
    assert r.status_code == 400, r.text
    assert r.json()["detail"] == "unknown query parameter: stauts"
    assert r.json()["extra"] == [{"key": "stauts", "message": "unknown query parameter", "source": "query"}]


def test_every_unknown_parameter_is_named_once_and_known_ones_are_not(api, people):
    r = api.get("/api/v1/clients?status=active&colour=red&size=9&colour=blue", people["finance"])
    assert r.status_code == 400
    assert [item["key"] for item in r.json()["extra"]] == ["colour", "size"]


def test_a_post_with_an_unknown_query_parameter_changes_nothing(api, people, session):
    client = make_client(session, owner=people["mina"])
    session.commit()
    body = {"client_id": client.id, "amount": "10.00", "currency": "USD"}
    r = api.post("/api/v1/payments?dry_run=1", people["finance"], body)
    assert r.status_code == 400
    assert _fields(r) == {("dry_run", "query")}
    assert api.get("/api/v1/payments", people["finance"]).json()["total"] == 0


def test_public_endpoints_refuse_unknown_parameters_too(api):
    assert api.get("/health").status_code == 200
    r = api.get("/health?verbose=1")
    assert r.status_code == 400
    assert _fields(r) == {("verbose", "query")}
    r = api.get("/n/some-token?download=1")
    assert r.status_code == 400
    assert _fields(r) == {("download", "query")}


def test_a_limit_out_of_range_is_reported_as_a_query_field(api, people):
    r = api.get("/api/v1/clients?limit=1000", people["finance"])
    assert r.status_code == 400
    assert _fields(r) == {("limit", "query")}
    assert "500" in r.json()["extra"][0]["message"]
    r = api.get("/api/v1/invoices?offset=-1", people["finance"])
    assert r.status_code == 400
    assert _fields(r) == {("offset", "query")}
    document = api.get("/schema/openapi.json").json()
    (limit,) = [p for p in document["paths"]["/api/v1/clients"]["get"]["parameters"] if p["name"] == "limit"]
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 500)


def test_a_domain_check_on_a_query_value_is_reported_as_a_query_field(api, people):
    r = api.get("/api/v1/renewals?sort=price", people["finance"])
    assert r.status_code == 422
    assert _fields(r) == {("sort", "query")}
    # The service names the field and nothing more; the edge knows it came from the query string.
    r = api.get("/api/v1/contracts?end_from=2026-05-01&end_to=2026-04-01", people["finance"])
    assert r.status_code == 422
    assert _fields(r) == {("end_to", "query")}


def test_a_badly_typed_query_parameter_is_reported_as_a_query_field(api, people):
    r = api.get("/api/v1/contracts?auto_renew=perhaps", people["finance"])
    assert r.status_code == 400
    assert _fields(r) == {("auto_renew", "query")}


def test_a_renamed_query_parameter_is_known_by_its_wire_name(api, people, session):
    client = make_client(session, owner=people["mina"])
    session.commit()
    ok = api.get(f"/api/v1/clients/{client.id}/statement?from=2026-01-01&to=2026-01-31", people["finance"])
    assert ok.status_code == 200, ok.text
    r = api.get(f"/api/v1/clients/{client.id}/statement?from_=2026-01-01", people["finance"])
    assert r.status_code == 400
    assert _fields(r) == {("from_", "query")}


def test_body_fields_keep_body_as_their_source(api, people):
    r = api.post("/api/v1/clients", people["mina"], {"name": "", "legal_name": "X", "currency": "USD"})
    assert r.status_code in (400, 422)
    assert r.json()["extra"]
    assert {source for _, source in _fields(r)} == {"body"}


def test_a_malformed_json_body_answers_400_with_an_empty_field_list(api, people):
    r = api.client.post(
        "/api/v1/clients",
        content=b"{not json",
        headers={"Authorization": f"Bearer {api.token(people['mina'])}", "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert "JSON is malformed" in r.json()["detail"]
    assert r.json()["extra"] == []


def test_a_bad_header_is_reported_as_a_header_field(api, people, session):
    client = make_client(session, owner=people["mina"])
    session.commit()
    body = {"client_id": client.id, "amount": "10.00", "currency": "USD"}
    r = api.post("/api/v1/payments", people["finance"], body, headers={"Idempotency-Key": " "})
    assert r.status_code == 422
    assert _fields(r) == {("Idempotency-Key", "header")}


def _is_html_page(operation):
    """HTML pages (a second transport with its own rules) are not API operations."""
    return any("text/html" in response.get("content", {}) for response in operation.get("responses", {}).values())


def test_every_operation_in_the_openapi_document_refuses_an_unknown_parameter(api, people):
    """Walk the published API: whatever the route, an unknown query parameter is a 400 naming it."""
    document = api.get("/schema/openapi.json").json()
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in {"get", "post", "patch", "put", "delete"} or _is_html_page(operation):
                continue
            url = re.sub(r"\{[^}]+\}", "1", path) + f"?{UNKNOWN}=1"
            r = api.client.request(
                method.upper(), url, headers={"Authorization": f"Bearer {api.token(people['admin'])}"}
            )
            assert r.status_code == 400, f"{method.upper()} {path}: {r.status_code} {r.text}"
            assert r.json()["extra"] == [{"key": UNKNOWN, "message": "unknown query parameter", "source": "query"}]
            checked += 1
    assert checked >= 40
