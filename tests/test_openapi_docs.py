"""The OpenAPI document and the pages that show it, as integrators meet them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

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


@pytest.fixture(scope="module")
def document(served: TestClient) -> dict[str, Any]:
    result: dict[str, Any] = served.get("/openapi.json").json()
    return result


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_authentication_is_oauth2_client_credentials_with_private_key_jwt(
    document: dict[str, Any],
) -> None:
    schemes = document["components"]["securitySchemes"]

    assert list(schemes) == ["OAuth2ClientCredentials"]
    scheme = schemes["OAuth2ClientCredentials"]
    assert scheme["type"] == "oauth2"
    flow = scheme["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth2/token"
    assert set(flow["scopes"]) == {
        "submissions:write",
        "submissions:read",
        "education:write",
        "cme:read",
        "cme:write",
        "cme:sensitive",
        "statistics:read",
    }
    for words in (
        "private_key_jwt",
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "at most 5 minutes after `iat`",
        "RFC 7638",
        "`jti`",
        "ES256",
        "EdDSA",
    ):
        assert words in scheme["description"]


@pytest.mark.parametrize(
    ("method", "path", "scopes"),
    [
        ("POST", "/v1/submissions", ["submissions:write"]),
        ("GET", "/v1/submissions/{submission_id}", ["submissions:read"]),
        ("PUT", "/v1/local-authorities/{la_code}/education-records", ["education:write"]),
        ("POST", "/v1/local-authorities/{la_code}/reconciliations", ["cme:write"]),
        ("GET", "/v1/local-authorities/{la_code}/cme-cases", ["cme:read"]),
        ("PATCH", "/v1/local-authorities/{la_code}/cme-cases/{case_id}", ["cme:read", "cme:write"]),
        ("GET", "/v1/statistics", ["statistics:read"]),
    ],
)
def test_each_operation_names_its_scopes(
    document: dict[str, Any], method: str, path: str, scopes: list[str]
) -> None:
    operation = document["paths"][path][method.lower()]

    assert operation["security"] == [{"OAuth2ClientCredentials": scopes}]


def test_every_protected_operation_declares_the_oauth2_scheme(document: dict[str, Any]) -> None:
    open_paths = {"/oauth2/token", "/healthz", "/readyz", "/metrics"}
    for method, path, operation in _operations(document):
        if path in open_paths:
            assert "security" not in operation, (method, path)
        else:
            [requirement] = operation["security"]
            assert list(requirement) == ["OAuth2ClientCredentials"], (method, path)
            assert requirement["OAuth2ClientCredentials"], (method, path)


@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer junk"])
def test_without_a_bearer_token_the_answer_is_still_401_problem_json(
    http: TestClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = http.get("/v1/statistics", headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer realm="cme-exchange"'
    assert response.json()["code"] == "unauthenticated"
