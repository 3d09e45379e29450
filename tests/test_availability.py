"""One slow client cannot stall the service: request bodies are read before any database
connection is taken, within a deadline (408 after it), and gzip is inflated off the event
loop."""

from __future__ import annotations

import asyncio
import gzip
import inspect
import json
import select
import socket
import threading
import time
import typing
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

import api.body
from api.app import create_app
from api.deps import Session as RequestSession
from cli.signing import detached_signature
from services.settings import Settings
from tests.conftest import free_port
from tests.factories import (
    Credentials,
    access_token,
    encode,
    health_record,
    make_client,
    submission_body,
    token_form,
)

CARDIFF, NEWPORT = "W06000015", "W06000022"
# More slow senders than the PostgreSQL pool has connections (10 + 30 overflow).
SLOW_SENDERS = 45
DEADLINE_SECONDS = 6.0
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Served:
    app: FastAPI
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """As tests/conftest.py's, with a short body deadline and a small body limit."""
    return Settings(
        database_url=database_url,
        public_base_url="http://testserver",
        dev_key_dir=tmp_path / "keys",
        reconcile_in_process=False,
        rate_limit_per_minute=0,
        audit_chain="commit",
        body_read_timeout_seconds=DEADLINE_SECONDS,
        max_body_bytes=MAX_BODY_BYTES,
    )


@pytest.fixture
def served(settings: Settings) -> Iterator[Served]:
    """The app behind a real uvicorn, as in production: the audit chainer in the
    background, the default thread pool and connection pool."""
    app = create_app(settings.model_copy(update={"audit_chain": "background"}))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, timeout_graceful_shutdown=5
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield Served(app, "127.0.0.1", port)
    server.should_exit = True
    thread.join(timeout=30)


def _register(app: FastAPI, org: str, scopes: list[str]) -> Credentials:
    sessions = app.state.sessions
    with sessions() as session:
        credentials = make_client(session, org=org, scopes=scopes)
        session.commit()
    return credentials


def _token(client: httpx.Client, credentials: Credentials) -> str:
    response = client.post("/oauth2/token", data=token_form(credentials))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _start_slow_patch(served: Served, token: str) -> socket.socket:
    """A PATCH whose headers arrive at once and whose body never finishes."""
    sender = socket.create_connection((served.host, served.port), timeout=30)
    head = (
        f"PATCH /v1/local-authorities/{CARDIFF}/cme-cases/{uuid.uuid4()} HTTP/1.1\r\n"
        f"Host: testserver\r\nAuthorization: Bearer {token}\r\n"
        'Content-Type: application/json\r\nIf-Match: "1"\r\nContent-Length: 200\r\n\r\n'
    )
    sender.sendall(head.encode() + b'{"status": ')
    return sender


def _answered(sender: socket.socket) -> bool:
    readable, _, _ = select.select([sender], [], [], 0)
    return bool(readable)


def _read_response(sender: socket.socket) -> tuple[int, dict[str, str], bytes]:
    received = b""
    while True:
        chunk = sender.recv(65536)
        if not chunk:
            break
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def test_slow_senders_delay_no_other_authority_and_get_408(served: Served) -> None:
    cardiff = _register(served.app, CARDIFF, ["cme:read", "cme:write"])
    newport = _register(served.app, NEWPORT, ["cme:read"])
    with httpx.Client(base_url=served.base_url, timeout=DEADLINE_SECONDS) as client:
        cardiff_token, newport_token = _token(client, cardiff), _token(client, newport)
        senders = [_start_slow_patch(served, cardiff_token) for _ in range(SLOW_SENDERS)]
        try:
            time.sleep(1.0)  # every slow PATCH authenticated and waiting for its body

            # Newport's reads and writes go through while Cardiff's bodies are still coming.
            listed = client.get(
                f"/v1/local-authorities/{NEWPORT}/cme-cases",
                headers={"Authorization": f"Bearer {newport_token}"},
            )
            assert listed.status_code == 200, listed.text
            assert listed.json()["items"] == []
            for sender in senders:
                sender.sendall(b" ")
            assert not any(_answered(sender) for sender in senders)

            # Past the deadline, each slow sender is told so, and its connection closed.
            answers = [_read_response(sender) for sender in senders]
        finally:
            for sender in senders:
                sender.close()
        for status, headers, body in answers:
            assert status == 408
            assert headers["content-type"] == "application/problem+json"
            assert headers["connection"] == "close"
            assert json.loads(body)["code"] == "request_timeout"
        # ...and the service is as it was.
        again = client.get(
            f"/v1/local-authorities/{NEWPORT}/cme-cases",
            headers={"Authorization": f"Bearer {newport_token}"},
        )
        assert again.status_code == 200


def _body_requests(
    board: Credentials, cardiff: Credentials, tokens: dict[str, str]
) -> list[tuple[str, str, dict[str, str], bytes]]:
    submission = encode(submission_body([health_record()]))
    return [
        (
            "PATCH",
            f"/v1/local-authorities/{CARDIFF}/cme-cases/{uuid.uuid4()}",
            {"Content-Type": "application/json", "If-Match": '"1"'}
            | {"Authorization": f"Bearer {tokens[CARDIFF]}"},
            b'{"status": "closed", "outcome": "not_traced"}',
        ),
        (
            "PUT",
            f"/v1/local-authorities/{CARDIFF}/education-records",
            {"Content-Type": "application/json", "Authorization": f"Bearer {tokens[CARDIFF]}"},
            b'{"as_of": "2026-01-20", "records": []}',
        ),
        (
            "POST",
            "/v1/submissions",
            {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {tokens['7A4']}",
                "X-JWS-Signature": detached_signature(
                    key=board.key, alg=board.alg, body=submission
                ),
            },
            submission,
        ),
        (
            "POST",
            "/oauth2/token",
            {"Content-Type": "application/x-www-form-urlencoded"},
            urlencode(token_form(cardiff)).encode(),
        ),
    ]


async def _slowly(
    body: bytes, connections_in_use: Callable[[], int], seen: list[int]
) -> AsyncIterator[bytes]:
    """The body in small pieces, noting at each how many pooled connections are in use."""
    for start in range(0, len(body), 16):
        await asyncio.sleep(0.01)
        seen.append(connections_in_use())
        yield body[start : start + 16]


def test_no_database_connection_is_held_while_a_body_arrives(
    app: FastAPI, http: TestClient, board: Credentials, cardiff: Credentials
) -> None:
    tokens = {CARDIFF: access_token(http, cardiff), "7A4": access_token(http, board)}
    pool = app.state.engine.pool
    held: dict[str, list[int]] = {}

    async def send_all() -> list[int]:
        statuses = []
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for method, path, headers, body in _body_requests(board, cardiff, tokens):
                seen = held.setdefault(f"{method} {path}", [])
                response = await client.request(
                    method,
                    path,
                    headers=headers,
                    content=_slowly(body, pool.checkedout, seen),
                )
                statuses.append(response.status_code)
        return statuses

    statuses = asyncio.run(send_all())

    assert statuses[1:] == [200, 201, 200]  # the PATCH's case does not exist: 404
    assert statuses[0] == 404
    assert all(seen for seen in held.values())
    assert {name: max(seen) for name, seen in held.items()} == dict.fromkeys(held, 0)


def _uses_request_session(dependant: Dependant) -> bool:
    session_call = typing.get_args(RequestSession)[1].dependency
    return any(
        sub.call is session_call or _uses_request_session(sub) for sub in dependant.dependencies
    )


def test_no_route_holds_a_transaction_while_waiting_for_a_thread(app: FastAPI) -> None:
    """A sync route's return value is validated in a second threadpool call, with the
    transaction of the first still open: under load, threads waiting for that transaction's
    lock (or pooled connection) would keep it from ever getting one. So a route using the
    request's session is async (its database work in one threadpool call), or sync and
    returning a finished Response."""
    checked = []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None or not _uses_request_session(dependant):
            continue
        endpoint = route.endpoint
        assert endpoint is not None
        hints = typing.get_type_hints(endpoint)
        finished = hints.get("return") is Response
        assert inspect.iscoroutinefunction(endpoint) or finished, route.path
        checked.append(route.path)
    assert len(checked) >= 10


def _bomb(decompressed_bytes: int) -> bytes:
    return gzip.compress(b"0" * decompressed_bytes, compresslevel=9)


def test_gzip_is_inflated_off_the_event_loop_with_the_same_cap(
    http: TestClient, board: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = access_token(http, board)
    real_step = api.body._spool_step
    seen: list[tuple[bool, bool]] = []
    others: list[threading.Thread] = []

    def watched_step(into: typing.Any, inflater: typing.Any, part: bytes, *, last: bool) -> None:
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        # While this inflates, another request must be served: the event loop is free.
        served = threading.Event()

        def other_request() -> None:
            if http.get("/healthz").status_code == 200:
                served.set()

        others.append(threading.Thread(target=other_request, daemon=True))
        others[-1].start()
        seen.append((on_loop, served.wait(timeout=10)))
        real_step(into, inflater, part, last=last)

    # A submission's body is streamed: each part is inflated in a worker thread.
    monkeypatch.setattr(api.body, "_spool_step", watched_step)

    response = http.post(
        "/v1/submissions",
        content=_bomb(MAX_BODY_BYTES + 1),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "X-JWS-Signature": "a..b",
        },
    )

    for other in others:  # served by now, even had the inflation blocked the loop
        other.join(timeout=30)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert seen == [(False, True)]


def test_gzip_bodies_within_the_cap_still_inflate(http: TestClient, board: Credentials) -> None:
    body = encode(submission_body([health_record()]))
    response = http.post(
        "/v1/submissions",
        content=gzip.compress(body),
        headers={
            "Authorization": f"Bearer {access_token(http, board)}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "X-JWS-Signature": detached_signature(key=board.key, alg=board.alg, body=body),
        },
    )

    assert response.status_code == 201, response.text
