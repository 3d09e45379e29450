"""The OpenAPI document and the pages that show it, as integrators meet them."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from services.settings import Settings


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """The app without its lifespan: pages and the document touch no database."""
    tmp = tmp_path_factory.mktemp("docs")
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'unused.db'}",
        public_base_url="http://testserver",
        dev_key_dir=tmp / "keys",
        reconcile_in_process=False,
    )
    return TestClient(create_app(settings))


def _referenced_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_everything_from_the_service(served: TestClient, page: str) -> None:
    response = served.get(page)

    assert response.status_code == 200
    urls = _referenced_urls(response.text)
    assert urls, "the page references its scripts"
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert "http://" not in response.text
    assert "https://" not in response.text
    assert "fonts.googleapis" not in response.text


@pytest.mark.parametrize(
    ("page", "asset", "content_type"),
    [
        ("/docs", "/docs/static/swagger-ui-bundle.js", "javascript"),
        ("/docs", "/docs/static/swagger-ui.css", "text/css"),
        ("/docs", "/docs/static/favicon.png", "image/png"),
        ("/redoc", "/docs/static/redoc.standalone.js", "javascript"),
    ],
)
def test_docs_assets_are_served(
    served: TestClient, page: str, asset: str, content_type: str
) -> None:
    assert asset in _referenced_urls(served.get(page).text)

    response = served.get(asset)

    assert response.status_code == 200
    assert content_type in response.headers["content-type"]
    assert len(response.content) > 1000


def test_docs_asset_paths_do_not_escape_the_static_folder(served: TestClient) -> None:
    assert served.get("/docs/static/../../api/app.py").status_code == 404
