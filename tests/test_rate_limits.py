"""Rate limits: per client and endpoint, 429 with Retry-After, no spill-over; the token
endpoint's limits per address and per claimed client, and whose X-Forwarded-For counts."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import IPv4Network, ip_network
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.app import create_app
from cli.main import app as cli_app
from services.access.keys import generate_key_pair, load_private_key
from services.access.rate_limit import TokenBuckets, TokenEndpointLimits, client_address
from services.settings import Settings, get_settings
from tests.factories import Credentials, access_token, make_case, make_client, token_form

CARDIFF = "W06000015"


@pytest.fixture
def limited(settings: Settings) -> Iterator[TestClient]:
    app = create_app(
        settings.model_copy(update={"rate_limit_per_minute": 60, "rate_limit_burst": 3})
    )
    with TestClient(app) as client:
        yield client


def _officer(db: Session, org: str = CARDIFF) -> Credentials:
    credentials = make_client(db, org=org, scopes=["cme:read"])
    db.commit()
    return credentials


def test_a_client_over_its_burst_gets_429_with_retry_after(
    limited: TestClient, db: Session
) -> None:
    headers = {"Authorization": f"Bearer {access_token(limited, _officer(db))}"}

    statuses = [
        limited.get(f"/v1/local-authorities/{CARDIFF}/cme-cases", headers=headers) for _ in range(4)
    ]

    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    refused = statuses[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1


def test_walking_ids_stays_in_one_bucket(limited: TestClient, db: Session) -> None:
    officer = _officer(db)
    case_ids = [make_case(db).case_id for _ in range(4)]
    db.rollback()
    headers = {"Authorization": f"Bearer {access_token(limited, officer)}"}

    statuses = [
        limited.get(
            f"/v1/local-authorities/{CARDIFF}/cme-cases/{case_id}", headers=headers
        ).status_code
        for case_id in case_ids
    ]

    assert statuses == [200, 200, 200, 429]


def test_one_clients_throttling_never_slows_another(limited: TestClient, db: Session) -> None:
    greedy, patient = _officer(db), _officer(db)
    greedy_headers = {"Authorization": f"Bearer {access_token(limited, greedy)}"}
    patient_headers = {"Authorization": f"Bearer {access_token(limited, patient)}"}
    url = f"/v1/local-authorities/{CARDIFF}/cme-cases"

    for _ in range(5):
        limited.get(url, headers=greedy_headers)

    assert limited.get(url, headers=greedy_headers).status_code == 429
    assert limited.get(url, headers=patient_headers).status_code == 200


def test_buckets_refill_at_the_configured_rate() -> None:
    buckets = TokenBuckets(per_minute=60, burst=2)

    assert [buckets.take("k", now=0.0) for _ in range(3)] == [None, None, 1]
    assert buckets.take("k", now=1.0) is None
    assert buckets.take("other", now=1.0) is None


def test_zero_turns_limits_off() -> None:
    buckets = TokenBuckets(per_minute=0, burst=1)

    assert all(buckets.take("k", now=0.0) is None for _ in range(1000))


# The token endpoint ------------------------------------------------------------------------
#
# Requests are limited per client address before any work (burst 30 here); refused ones
# per address and per claimed client_id (burst 3 here), after the assertion was checked.

PROXY = "10.0.0.1"
ATTACKER, BOARD_ADDRESS = "203.0.113.9", "198.51.100.7"


@pytest.fixture
def token_app(settings: Settings) -> Iterator[FastAPI]:
    app = create_app(
        settings.model_copy(
            update={
                "rate_limit_per_minute": 60,
                "rate_limit_burst": 30,
                "token_failures_per_minute": 1,
                "token_failure_burst": 3,
                "trusted_proxies": [ip_network(PROXY)],
            }
        )
    )
    with TestClient(app):  # the lifespan runs once; the clients below share it
        yield app


def peer(app: FastAPI, address: str, forwarded_for: str | None = None) -> TestClient:
    """Requests arriving over TCP from `address`, optionally with X-Forwarded-For."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else None
    return TestClient(app, client=(address, 50000), headers=headers)


def junk(client_id: str | None = None) -> dict[str, str]:
    """A well-formed assertion signed by a key nobody registered, naming `client_id` or,
    by default, a made-up client of its own (so only the address's limit applies)."""
    pem, _ = generate_key_pair("ec")
    key, alg = load_private_key(pem)
    claimed = client_id or f"cli_{uuid.uuid4().hex[:16]}"
    return token_form(Credentials(claimed, "7A4", key, alg, key.thumbprint(), pem))


def flood(client: TestClient, count: int, client_id: str | None = None) -> list[int]:
    return [client.post("/oauth2/token", data=junk(client_id)).status_code for _ in range(count)]


def test_refusals_from_one_address_turn_into_429_after_the_failure_burst(
    token_app: FastAPI,
) -> None:
    statuses = flood(peer(token_app, ATTACKER), 6)

    assert statuses == [401, 401, 401, 429, 429, 429]


def test_a_flood_from_one_address_never_stops_a_client_at_another(
    token_app: FastAPI, board: Credentials
) -> None:
    flood(peer(token_app, ATTACKER), 10)

    response = peer(token_app, BOARD_ADDRESS).post("/oauth2/token", data=token_form(board))

    assert response.status_code == 200, response.text


def test_a_flood_naming_a_client_never_stops_its_valid_assertions(
    token_app: FastAPI, board: Credentials
) -> None:
    for address in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        flood(peer(token_app, address), 2, client_id=board.client_id)
    naming_the_board_again = flood(peer(token_app, "203.0.113.4"), 1, client_id=board.client_id)

    from_its_own_address = peer(token_app, BOARD_ADDRESS).post(
        "/oauth2/token", data=token_form(board)
    )
    from_the_floods_address = peer(token_app, "203.0.113.1").post(
        "/oauth2/token", data=token_form(board)
    )

    # Failures naming the board are slowed wherever they come from...
    assert naming_the_board_again == [429]
    # ...but a valid assertion is never refused because of them.
    assert from_its_own_address.status_code == 200, from_its_own_address.text
    assert from_the_floods_address.status_code == 200, from_the_floods_address.text


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limits(
    token_app: FastAPI, board: Credentials
) -> None:
    """Every client behind the proxy shares its address: the forwarded one counts."""
    flooded = flood(peer(token_app, PROXY, forwarded_for=ATTACKER), 40)

    response = peer(token_app, PROXY, forwarded_for=BOARD_ADDRESS).post(
        "/oauth2/token", data=token_form(board)
    )

    assert flooded[-1] == 429
    assert response.status_code == 200, response.text


def test_forwarded_for_from_an_untrusted_peer_is_ignored(token_app: FastAPI) -> None:
    statuses = [
        peer(token_app, ATTACKER, forwarded_for=f"192.0.2.{n}")
        .post("/oauth2/token", data=junk())
        .status_code
        for n in range(6)
    ]

    assert statuses == [401, 401, 401, 429, 429, 429]


def test_only_the_hop_a_trusted_proxy_saw_counts_not_what_the_client_wrote() -> None:
    trusted = [ip_network(PROXY), ip_network("10.9.0.0/16")]

    assert client_address(PROXY, [f"192.0.2.7, {ATTACKER}"], trusted) == ATTACKER
    assert client_address(PROXY, [f"192.0.2.7, {ATTACKER}, 10.9.1.1"], trusted) == ATTACKER
    assert client_address(PROXY, ["192.0.2.7", f"{ATTACKER}:4711"], trusted) == ATTACKER
    assert client_address(PROXY, ["not-an-address"], trusted) == PROXY
    assert client_address(PROXY, [], trusted) == PROXY
    assert client_address(ATTACKER, ["192.0.2.7"], trusted) == ATTACKER
    assert client_address(PROXY, ["192.0.2.7"], []) == PROXY


def test_refusals_are_counted_per_address_and_per_claimed_client_separately() -> None:
    limits = TokenEndpointLimits(per_minute=60, burst=2)

    by_one_address = [limits.refused(address="a", claimed_client_id=None, now=0) for _ in "xyz"]
    naming_one_client = [
        limits.refused(address=address, claimed_client_id="cli_1", now=0) for address in "bcd"
    ]

    assert by_one_address == [None, None, 1]
    assert naming_one_client == [None, None, 1]
    assert limits.refused(address="e", claimed_client_id="cli_2", now=0) is None


def test_zero_turns_the_token_endpoints_limits_off_too(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"token_failure_burst": 1}))
    with TestClient(app) as client:
        assert set(flood(client, 5)) == {401}


# `cme serve` itself: uvicorn must not believe X-Forwarded-For on its own --------------------


def _serve_options(monkeypatch: pytest.MonkeyPatch, database_url: str) -> dict[str, Any]:
    """The uvicorn options `cme serve` runs with (it checks its database first)."""
    monkeypatch.setenv("CME_DATABASE_URL", database_url)
    get_settings.cache_clear()
    captured: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda target, **options: captured.update(options))
    monkeypatch.setattr("cli.main.configure_logging", lambda level: None)
    result = CliRunner().invoke(cli_app, ["serve"])
    assert result.exit_code == 0, result.output
    return {k: v for k, v in captured.items() if k not in {"host", "port", "workers"}}


@contextmanager
def served(app: FastAPI, options: dict[str, Any]) -> Iterator[str]:
    """The app behind a real uvicorn server on 127.0.0.1, as `cme serve` runs it."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        assert time.monotonic() < deadline, "uvicorn did not start in time"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.mark.parametrize(("trusted", "limited"), [([], True), ([ip_network("127.0.0.1")], False)])
def test_rotating_forwarded_for_through_cme_serve_bypasses_nothing(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    trusted: list[IPv4Network],
    limited: bool,
) -> None:
    """From 127.0.0.1 with a new X-Forwarded-For each time: limited as one address, unless
    127.0.0.1 is configured as a trusted proxy."""
    app = create_app(
        settings.model_copy(
            update={
                "rate_limit_per_minute": 60,
                "rate_limit_burst": 3,
                "token_failures_per_minute": 1,
                "token_failure_burst": 3,
                "trusted_proxies": trusted,
            }
        )
    )

    with (
        served(app, _serve_options(monkeypatch, settings.database_url)) as base_url,
        httpx.Client() as client,
    ):
        statuses = [
            client.post(
                f"{base_url}/oauth2/token",
                data=junk(),
                headers={"X-Forwarded-For": f"192.0.2.{n}"},
            ).status_code
            for n in range(6)
        ]

    assert (429 in statuses) is limited, statuses
