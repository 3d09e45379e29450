"""Access logs hold no secrets or personal data: what a client puts in a query string (a
token, an NHS number) or a path is not written, whether the request is served or refused."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app
from cli.main import SERVER_OPTIONS
from services.logs import JsonFormatter, configure_logging
from services.settings import Settings
from tests.factories import nhs_number

SECRET_TOKEN = "eyJhbGciOiJFUzI1NiJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl"
CHILD = nhs_number(4711)
CARDIFF = "W06000015"


# The test's own HTTP client, which logs the URLs it asks for.
CLIENT_LOGGERS = ("httpx", "httpcore")


class Lines(logging.Handler):
    """Every line the service and its server log, exactly as written (formatted where it
    is emitted, so with its request id)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(CLIENT_LOGGERS):
            self.lines.append(self.format(record))


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


@contextmanager
def _serve(settings: Settings, options: dict[str, Any]) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, **options)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture
def served_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        public_base_url="http://testserver",
        dev_key_dir=tmp_path / "keys",
        reconcile_in_process=False,
    )


def _hostile_requests(base_url: str) -> list[int]:
    query = f"access_token={SECRET_TOKEN}&nhs_number={CHILD}"
    with httpx.Client(base_url=base_url, timeout=20) as client:
        return [
            client.get(f"/healthz?{query}").status_code,
            client.head(f"/readyz?{query}").status_code,
            client.get(f"/v1/local-authorities/{CARDIFF}/cme-cases?{query}").status_code,
            client.get(f"/v1/local-authorities/{CARDIFF}/cme-cases/{CHILD}?{query}").status_code,
            client.get(f"/no/such/{CHILD}?{query}").status_code,
            client.post(f"/oauth2/token?{query}", data={"grant_type": "x"}).status_code,
        ]


# What the requests above are answered.
STATUSES = [200, 200, 401, 401, 404, 400]


def _assert_clean_access_lines(lines: Lines) -> None:
    logged = "\n".join(lines.lines)
    assert SECRET_TOKEN not in logged
    assert CHILD not in logged
    assert "access_token" not in logged
    entries = [json.loads(line) for line in lines.lines]
    access = [e for e in entries if e["message"] == "request"]
    assert {(e["method"], e["route"], e["status"]) for e in access} >= {
        ("GET", "/healthz", 200),
        ("HEAD", "/readyz", 200),
        ("GET", "/v1/local-authorities/{la_code}/cme-cases", 401),
        ("GET", "/v1/local-authorities/{la_code}/cme-cases/{case_id}", 401),
        ("GET", "unmatched", 404),
        ("POST", "/oauth2/token", 400),
    }
    for entry in access:
        assert len(entry["request_id"]) == 32
        assert entry["duration_ms"] >= 0


def test_cme_serve_logs_requests_without_query_strings_or_raw_paths(
    served_settings: Settings, lines: Lines
) -> None:
    with _serve(served_settings, SERVER_OPTIONS) as base_url:
        statuses = _hostile_requests(base_url)

    _assert_clean_access_lines(lines)
    assert statuses == STATUSES


def test_a_bare_uvicorn_access_log_is_silenced_too(served_settings: Settings, lines: Lines) -> None:
    """`uvicorn api.main:app` logs its own access lines unless told not to; the service's
    logging configuration drops them."""
    root = logging.getLogger()
    handlers = root.handlers[:]
    configure_logging("DEBUG")
    root.handlers[:] = handlers  # keep pytest's and the test's handlers only
    try:
        with _serve(served_settings, {"log_config": None, "access_log": True}) as base_url:
            statuses = _hostile_requests(base_url)
    finally:
        access = logging.getLogger("uvicorn.access")
        access.filters.clear()

    _assert_clean_access_lines(lines)
    assert statuses == STATUSES
