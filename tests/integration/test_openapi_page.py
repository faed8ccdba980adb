"""The interactive OpenAPI page works with no internet access: every asset is the app's own."""

from __future__ import annotations

import re

import pytest

from tests.integration.conftest import Api

REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("path", ["/schema", "/schema/swagger"])
def test_openapi_page_loads_its_assets_from_the_app_itself(api: Api, path: str) -> None:
    page = api.get(path)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assets = REFERENCE.findall(page.text)
    assert len(assets) >= 3  # the stylesheet and both scripts
    assert [a for a in assets if not a.startswith("/")] == []
    for asset in assets:
        fetched = api.get(asset)
        assert fetched.status_code == 200, asset
        assert len(fetched.content) > 1000, asset


def test_no_page_or_document_names_another_host(api: Api) -> None:
    texts = [api.get(p).text for p in ("/schema", "/schema/swagger")]
    document = api.get("/schema/openapi.json")

    assert document.status_code == 200
    texts.append(document.text)
    for text in texts:
        assert re.findall(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", text, flags=re.IGNORECASE) == []


def test_every_operation_documents_its_error_answers_in_the_error_shape(api: Api) -> None:
    document = api.get("/schema/openapi.json").json()
    error = document["components"]["schemas"]["Error"]
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "patch", "put", "delete"}
    ]

    assert set(error["required"]) == {"status_code", "detail", "extra"}
    assert len(operations) > 40
    missing = []
    for path, method, op in operations:
        expected = {"400", "503"}
        if path.startswith("/api/v1/") and path != "/api/v1/auth/token":
            expected |= {"401", "403", "404"}
            if method in {"post", "patch"}:
                expected |= {"409", "422"}
        if not expected <= set(op["responses"]):
            missing.append((method, path, sorted(expected - set(op["responses"]))))
        for status in expected:
            answer = op["responses"][status]["content"]["application/json"]
            assert answer["schema"] == {"$ref": "#/components/schemas/Error"}
            assert answer["example"]["status_code"] == int(status)
    assert missing == []
    assert {"401", "429"} <= set(document["paths"]["/api/v1/auth/token"]["post"]["responses"])
