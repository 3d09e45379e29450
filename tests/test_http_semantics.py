"""HTTP as clients expect it: HEAD wherever GET is allowed, and no redirect built from
whatever Host header a client sends."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import Credentials, bearer, make_case, make_client

CARDIFF = "W06000015"
# Headers that differ between any two responses.
PER_RESPONSE = {"x-request-id", "date"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/submissions/"),
        ("POST", "/v1/submissions/"),
        ("GET", "/healthz/"),
        ("GET", f"/v1/local-authorities/{CARDIFF}/cme-cases/"),
        ("GET", "/v1/statistics/"),
    ],
)
def test_no_redirect_is_built_from_the_host_header(
    http: TestClient, method: str, path: str
) -> None:
    response = http.request(
        method, path, headers={"Host": "attacker.example"}, follow_redirects=False
    )

    assert response.status_code == 404
    assert "location" not in response.headers
    assert response.headers["content-type"] == "application/problem+json"
    assert "attacker.example" not in response.text


def test_every_get_answers_head_with_its_status_and_headers_and_no_body(
    app: FastAPI, http: TestClient, db: Session, board: Credentials, cardiff: Credentials
) -> None:
    government = make_client(db, org="WG", scopes=["statistics:read"])
    db.commit()
    case = make_case(db, la_code=CARDIFF)
    db.rollback()
    tokens = {
        "board": bearer(http, board),
        "authority": bearer(http, cardiff),
        "government": bearer(http, government),
    }
    parameters = {
        "la_code": CARDIFF,
        "case_id": case.case_id,
        "submission_id": str(uuid.uuid4()),
        "reconciliation_id": str(uuid.uuid4()),
        "transfer_id": str(uuid.uuid4()),
    }

    checked = []
    for route in iter_route_contexts(app.routes):
        if "GET" not in (route.methods or ()):
            continue
        assert route.path is not None
        path = route.path.format(**parameters)
        if path.startswith("/v1/submissions"):
            headers = tokens["board"]
        elif path.startswith("/v1/statistics"):
            headers = tokens["government"]
        else:
            headers = tokens["authority"]
        got, head = http.get(path, headers=headers), http.head(path, headers=headers)
        unauthenticated = http.head(path)

        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        assert {k: v for k, v in head.headers.items() if k not in PER_RESPONSE} | {
            "content-length": ""
        } == {k: v for k, v in got.headers.items() if k not in PER_RESPONSE} | {
            "content-length": ""
        }, path
        if path != "/metrics":  # its counts move between the two requests
            assert head.headers["content-length"] == got.headers["content-length"], path
        assert unauthenticated.status_code == http.get(path).status_code, path
        checked.append((path, got.status_code))

    assert (f"/v1/local-authorities/{CARDIFF}/cme-cases/{case.case_id}", 200) in checked
    assert ("/v1/statistics", 200) in checked
    assert len(checked) >= 12


def test_head_of_a_path_without_get_is_refused_like_get(http: TestClient) -> None:
    response = http.head("/oauth2/token")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.content == b""


def test_the_openapi_document_lists_the_gets_not_their_heads(http: TestClient) -> None:
    document = http.get("/openapi.json").json()

    methods = {method for item in document["paths"].values() for method in item}
    assert "head" not in methods
    assert "get" in methods
