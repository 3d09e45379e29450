"""Operations endpoints, framework errors as problem+json, the committed OpenAPI file."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from cli.openapi import render
from services.store.schema_version import head_revision
from tests.factories import (
    Credentials,
    encode,
    health_record,
    nhs_number,
    post_submission,
    submission_body,
)

OPENAPI_FILE = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def test_healthz_and_readyz(http: TestClient) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


def test_readyz_fails_when_the_schema_is_behind(app: FastAPI, http: TestClient) -> None:
    with app.state.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'older'"))

    try:
        response = http.get("/readyz")
    finally:
        # PostgreSQL's test database outlives this test, and commands check its revision.
        with app.state.engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()}
            )

    assert response.status_code == 503
    assert response.json()["code"] == "not_ready"


def test_metrics_use_route_templates_not_raw_paths(http: TestClient, board: Credentials) -> None:
    http.get("/v1/submissions/00000000-0000-4000-8000-000000000000")

    metrics = http.get("/metrics")

    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'route="/v1/submissions/{submission_id}"' in metrics.text
    assert "00000000-0000-4000-8000-000000000000" not in metrics.text


def test_request_id_is_echoed_and_generated(http: TestClient) -> None:
    assert (
        http.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    generated = http.get("/healthz", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"]
    assert len(generated) == 32


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/no/such/path", 404, "not_found"),
        ("DELETE", "/v1/submissions", 405, "method_not_allowed"),
        ("GET", "/v1/submissions/not-a-uuid", 401, "unauthenticated"),
    ],
)
def test_framework_errors_are_problem_json(
    http: TestClient, method: str, path: str, status: int, code: str
) -> None:
    response = http.request(method, path)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_docs_page_is_served(http: TestClient) -> None:
    assert http.get("/docs").status_code == 200


def test_committed_openapi_equals_the_served_document(http: TestClient) -> None:
    served = http.get("/openapi.json").json()

    assert json.loads(OPENAPI_FILE.read_text("utf-8")) == served, "run `make openapi`"
    assert json.loads(render()) == served


def test_logs_carry_no_personal_data(
    http: TestClient, board: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    number = nhs_number(4242)
    good = health_record(1, given_name="Gwenllïan", family_name="Pritchard", nhs_number=number)
    bad = health_record(2, record_id="x", family_name="Jo\u0000nes", nhs_number="9990001234")
    caplog.set_level(logging.DEBUG)

    post_submission(http, board, encode(submission_body([good])))
    post_submission(http, board, encode(submission_body([good, bad])))

    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for personal in (
        "Gwenllïan",
        "Pritchard",
        number,
        "9990001234",
        "2015-03-02",
        "CF11 9AB",
        "Heol y Bont",
    ):
        assert personal not in logged
