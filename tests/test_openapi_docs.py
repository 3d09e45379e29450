"""The OpenAPI document and the pages that show it, as integrators meet them."""

from __future__ import annotations

import ast
import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jws
from joserfc.jwk import ECKey

from api.app import create_app
from api.docs import (
    SIGNATURE_EXAMPLE,
    SIGNATURE_EXAMPLE_BODY,
    SIGNATURE_EXAMPLE_KEY,
    SIGNATURE_EXAMPLE_KID,
)
from api.responses import CODES
from cli.signing import b64url
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


ROOT = Path(__file__).resolve().parents[1]
# Codes Starlette's own errors get (api/errors.py `_http_error`): unknown paths and methods.
FRAMEWORK_CODES = {"not_found", "method_not_allowed"}


def _constant(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _code_parameters(trees: list[ast.Module]) -> dict[str, tuple[int, str | None]]:
    """Exception classes taking a `code`: its position (after self) and default."""
    found: dict[str, tuple[int, str | None]] = {}
    for tree in trees:
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            fields = [s for s in cls.body if isinstance(s, ast.AnnAssign)]
            names = [f.target.id for f in fields if isinstance(f.target, ast.Name)]
            if "code" in names:  # a dataclass: the fields are the parameters
                found[cls.name] = (
                    names.index("code"),
                    _constant(fields[names.index("code")].value),
                )
            for init in cls.body:
                if isinstance(init, ast.FunctionDef) and init.name == "__init__":
                    args = [a.arg for a in init.args.args][1:]
                    if "code" in args:
                        defaults = init.args.defaults
                        offset = len(args) - len(defaults)
                        at = args.index("code")
                        default = _constant(defaults[at - offset]) if at >= offset else None
                        found[cls.name] = (at, default)
    return found


def raised_codes() -> tuple[set[str], set[str]]:
    """(problem codes, per-field codes) the source can answer with, read from its syntax."""
    files = [p for d in ("api", "services", "schemas") for p in sorted((ROOT / d).rglob("*.py"))]
    trees = [ast.parse(p.read_text("utf-8")) for p in files if "synthetic" not in p.parts]
    takes_code = _code_parameters(trees)
    codes, field_codes = set(FRAMEWORK_CODES), set()
    for tree in trees:
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            name = _called_name(call)
            keyword = next((k.value for k in call.keywords if k.arg == "code"), None)
            if name == "FieldError" and len(call.args) > 1:
                field_codes.add(_constant(call.args[1]) or "")
            elif name in ("record_rule", "PydanticCustomError") and call.args:
                field_codes.add(_constant(call.args[0]) or "")
            elif keyword is not None:
                codes.add(_constant(keyword) or "")
            elif name in takes_code:
                at, default = takes_code[name]
                given = _constant(call.args[at]) if len(call.args) > at else default
                codes.add(given or "")
        for node in ast.walk(tree):  # pydantic's error types mapped to ours
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "_CODES" for t in node.targets
            ):
                assert isinstance(node.value, ast.Dict)
                field_codes |= {_constant(v) or "" for v in node.value.values}
    return codes - {""}, field_codes - {""}


def readme_error_table() -> dict[str, set[str]]:
    """The README's "Errors" table: status -> the codes its row names."""
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]
    table: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].isdigit():
            table[cells[0]] = set(re.findall(r"`([a-z_]+)`", cells[1]))
    return table


def test_the_readme_error_table_names_every_code_the_source_raises() -> None:
    codes, field_codes = raised_codes()
    documented = set().union(*readme_error_table().values())

    assert {"case_closed", "child_deceased", "database_busy", "invalid_cursor"} <= codes
    assert {"nhs_number_checksum", "required", "empty_patch"} <= field_codes
    assert sorted(codes - documented) == []
    assert sorted(field_codes - documented) == []


def test_the_readme_error_table_puts_each_operation_code_under_its_status() -> None:
    table = readme_error_table()

    for code, known in CODES.items():
        assert code in table.get(str(known.status), set()), (code, known.status)


def _documented_codes(operation: dict[str, Any]) -> dict[str, int]:
    found = {}
    for status, response in operation["responses"].items():
        examples = response.get("content", {}).get("application/problem+json", {})
        for code in examples.get("examples", {}):
            found[code] = int(status)
            assert f"`{code}`" in response["description"], (code, status)
    return found


_AUTH = {"unauthenticated", "insufficient_scope", "rate_limited", "database_busy"}
_AUTH |= {"validation_failed"}  # a query parameter given twice, on every operation
_BODY = {
    "unsupported_media_type",
    "unsupported_content_encoding",
    "malformed_gzip",
    "request_timeout",
    "payload_too_large",
}
_SIGNATURE = {
    "signature_missing",
    "signature_malformed",
    "signature_refused",
    "signature_unknown_key",
    "signature_invalid",
}
_LA = "/v1/local-authorities/{la_code}"


@pytest.mark.parametrize(
    ("method", "path", "codes"),
    [
        (
            "POST",
            "/v1/submissions",
            _AUTH | _BODY | _SIGNATURE | {"lhb_code_not_caller", "submission_id_conflict"},
        ),
        ("GET", "/v1/submissions/{submission_id}", _AUTH | {"not_found"}),
        ("PUT", f"{_LA}/education-records", _AUTH | _BODY | {"not_found", "unsupported_charset"}),
        ("POST", f"{_LA}/reconciliations", _AUTH | {"not_found", "education_records_required"}),
        ("GET", f"{_LA}/reconciliations", _AUTH | {"not_found", "invalid_cursor"}),
        ("GET", f"{_LA}/reconciliations/{{reconciliation_id}}", _AUTH | {"not_found"}),
        ("GET", f"{_LA}/cme-cases", _AUTH | {"not_found", "invalid_cursor"}),
        ("GET", f"{_LA}/cme-cases/{{case_id}}", _AUTH | {"not_found"}),
        (
            "PATCH",
            f"{_LA}/cme-cases/{{case_id}}",
            _AUTH
            | _BODY
            | {
                "not_found",
                "precondition_required",
                "precondition_failed",
                "case_closed",
                "not_under_review",
                "child_deceased",
            },
        ),
        ("GET", f"{_LA}/england-transfers", _AUTH | {"not_found"}),
        ("GET", "/v1/statistics", _AUTH),
        ("GET", "/readyz", {"not_ready", "validation_failed"}),
    ],
)
def test_each_operation_documents_exactly_the_codes_it_can_answer(
    document: dict[str, Any], method: str, path: str, codes: set[str]
) -> None:
    documented = _documented_codes(document["paths"][path][method.lower()])

    assert set(documented) == codes
    assert all(documented[code] == CODES[code].status for code in documented)


def test_operations_do_not_share_one_copied_error_list(document: dict[str, Any]) -> None:
    lists = {frozenset(_documented_codes(operation)) for _, _, operation in _operations(document)}

    assert len(lists) >= 6


def test_the_submission_signature_is_documented_with_a_worked_example_that_verifies(
    document: dict[str, Any],
) -> None:
    operation = document["paths"]["/v1/submissions"]["post"]
    [header] = [p for p in operation["parameters"] if p["name"] == "X-JWS-Signature"]
    signature = header["examples"][0] if "examples" in header else header["schema"]["examples"][0]

    for text in (operation["description"], header["description"]):
        assert "RFC 7515 appendix F" in text
        assert SIGNATURE_EXAMPLE in text
        assert SIGNATURE_EXAMPLE_BODY in text
    assert signature == SIGNATURE_EXAMPLE
    key = ECKey.import_key(dict(SIGNATURE_EXAMPLE_KEY.items()))
    assert key.thumbprint() == SIGNATURE_EXAMPLE_KID
    protected, empty, _ = signature.split(".")
    assert empty == ""
    assert json.loads(base64.urlsafe_b64decode(protected + "==")) == {
        "alg": "ES256",
        "kid": SIGNATURE_EXAMPLE_KID,
    }
    body = SIGNATURE_EXAMPLE_BODY.encode()
    attached = jws.deserialize_compact(
        signature.replace("..", f".{b64url(body)}."), key, algorithms=["ES256"]
    )
    assert attached.payload == body
