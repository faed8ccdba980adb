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
