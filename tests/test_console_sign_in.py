"""Signing in to the officer console: OpenID Connect at a real provider (oidc-provider-mock
on a local port), registered and unregistered people, sessions that end, CSRF, and the
development sign-in that can never be on by accident."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from oidc_provider_mock import run_server_in_thread
from pydantic import SecretStr
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.app import create_app
from console.app import ConsoleMisconfigured
from services.settings import Settings
from services.store.tables import AuditEvent, ConsoleSession
from tests.cli import cme
from tests.conftest import free_port
from tests.console import (
    SESSION_COOKIE,
    console_client,
    hidden,
    register_officer,
    sign_in,
)


@pytest.fixture
def provider() -> Iterator[str]:
    """A real OpenID Connect provider on a local port; any `sub` can sign in at its form."""
    with run_server_in_thread(port=free_port(), require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def settings(settings: Settings, provider: str) -> Settings:
    return settings.model_copy(
        update={
            "oidc_issuer": provider,
            "oidc_client_id": "cme-console",
            "oidc_client_secret": SecretStr("s3cret-for-tests"),
        }
    )


@pytest.fixture
def console(app: FastAPI, http: TestClient) -> TestClient:
    return console_client(app)


def sign_in_at_provider(console: TestClient, subject: str) -> Response:
    """What a browser does: to the provider, sign in there as `subject`, back again."""
    login = console.get("/console/auth/login")
    assert login.status_code == 302, login.text
    authorize = login.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["openid"]
    assert query["redirect_uri"] == ["http://testserver/console/auth/callback"]
    assert all(query[name][0] for name in ("state", "nonce", "code_challenge"))
    approved = httpx.post(authorize, data={"sub": subject}, follow_redirects=False)
    assert approved.status_code == 302, approved.text
    back = urlsplit(approved.headers["location"])
    assert back.path == "/console/auth/callback"
    return console.get(f"/console/auth/callback?{back.query}")


def test_a_registered_officer_signs_in_at_the_provider(console: TestClient, db: Session) -> None:
    officer = register_officer(db, subject="oidc-officer-1")

    signed_in = sign_in_at_provider(console, "oidc-officer-1")

    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"] == "/console/cases"
    cookie = next(c for c in signed_in.headers.get_list("set-cookie") if SESSION_COOKIE in c)
    for attribute in ("Secure", "HttpOnly", "SameSite=lax", "Path=/"):
        assert attribute.lower() in cookie.lower()
    worklist = console.get("/console/cases")
    assert worklist.status_code == 200
    assert 'data-testid="worklist"' in worklist.text
    assert console.get("/console/").headers["location"] == "/console/cases"
    db.rollback()
    # Only the token's hash is stored.
    token = console.cookies[SESSION_COOKIE]
    stored = db.scalars(select(ConsoleSession.token_sha256)).all()
    assert token not in stored
    assert len(stored) == 1
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "console.signed_in")).all()
    assert [(e.officer, e.org_code) for e in events] == [(officer.subject, "W06000015")]


def test_a_person_who_is_not_registered_sees_only_a_page_saying_so(
    console: TestClient, db: Session
) -> None:
    refused = sign_in_at_provider(console, "someone-else")

    assert refused.status_code == 403
    assert 'data-testid="not-registered"' in refused.text
    assert SESSION_COOKIE not in console.cookies
    assert "/console/cases" not in refused.text  # no way into the service
    db.rollback()
    assert db.scalars(select(ConsoleSession)).all() == []
    assert console.get("/console/cases").headers["location"] == "/console/sign-in"


def test_a_forged_state_signs_no_one_in(console: TestClient, db: Session) -> None:
    register_officer(db, subject="oidc-officer-2")
    login = console.get("/console/auth/login")
    approved = httpx.post(
        login.headers["location"], data={"sub": "oidc-officer-2"}, follow_redirects=False
    )
    query = parse_qs(urlsplit(approved.headers["location"]).query)

    forged = console.get(
        "/console/auth/callback", params={"code": query["code"][0], "state": "not-the-state"}
    )

    assert forged.status_code == 400
    assert SESSION_COOKIE not in console.cookies


def test_removing_an_officer_ends_their_open_session_at_once(
    console: TestClient, db: Session, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    officer = register_officer(db, subject="leaving-officer")
    assert sign_in_at_provider(console, "leaving-officer").status_code == 303
    assert console.get("/console/cases").status_code == 200
    monkeypatch.setenv("CME_DATABASE_URL", database_url)

    removed = cme("officers", "remove", "--subject", officer.subject)

    assert removed.exit_code == 0, removed.output
    after = console.get("/console/cases")
    assert after.status_code == 303
    assert after.headers["location"] == "/console/sign-in"


def test_a_session_ends_after_the_idle_timeout(console: TestClient, db: Session) -> None:
    officer = register_officer(db)
    sign_in(console, db, officer)
    assert console.get("/console/cases").status_code == 200
    db.execute(
        update(ConsoleSession).values(last_seen_at=datetime.now(UTC) - timedelta(minutes=31))
    )
    db.commit()

    assert console.get("/console/cases").headers["location"] == "/console/sign-in"


def test_a_session_ends_at_its_absolute_lifetime_however_active(
    console: TestClient, db: Session
) -> None:
    sign_in(console, db, register_officer(db))
    db.execute(update(ConsoleSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    db.commit()

    assert console.get("/console/cases").headers["location"] == "/console/sign-in"


def test_sign_out_needs_the_forms_csrf_token_and_ends_the_session(
    console: TestClient, db: Session
) -> None:
    sign_in(console, db, register_officer(db))
    page = console.get("/console/cases").text

    forged = console.post("/console/auth/sign-out", data={"csrf_token": "guessed"})
    assert forged.status_code == 403
    assert console.get("/console/cases").status_code == 200

    signed_out = console.post(
        "/console/auth/sign-out", data={"csrf_token": hidden(page, "csrf_token")}
    )

    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/console/sign-in"
    db.rollback()
    assert db.scalars(select(ConsoleSession)).all() == []


def test_pages_carry_security_headers(console: TestClient, db: Session) -> None:
    sign_in(console, db, register_officer(db))

    for path in ("/console/sign-in", "/console/cases"):
        headers = console.get(path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src" not in headers["content-security-policy"]  # default-src 'none'
        assert headers["cache-control"] == "no-store"
        assert headers["x-content-type-options"] == "nosniff"


def test_the_console_is_not_in_the_openapi_document(http: TestClient) -> None:
    paths = http.get("/openapi.json").json()["paths"]

    assert not [path for path in paths if path.startswith("/console")]


# Development sign-in.


def dev_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    fields: dict[str, object] = {
        "database_url": database_url,
        "public_base_url": "http://127.0.0.1:8000",
        "dev_key_dir": tmp_path / "keys",
        "reconcile_in_process": False,
        "rate_limit_per_minute": 0,
        "audit_chain": "commit",
        "console_dev_sign_in": True,
    }
    return Settings.model_validate(fields | overrides)


def test_development_sign_in_signs_a_registered_officer_in_with_a_warning(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="console.app"):
        app = create_app(dev_settings(tmp_path, database_url))
    assert any("development sign-in is ON" in r.getMessage() for r in caplog.records)
    with TestClient(app), app.state.sessions() as db:
        officer = register_officer(db, subject="dev-officer")
        browser = console_client(app)
        page = browser.get("/console/auth/dev")
        assert 'data-testid="dev-banner"' in page.text
        assert browser.get("/console/sign-in").text.count("/console/auth/dev") == 1

        refused = browser.post(
            "/console/auth/dev", data={"subject": officer.subject, "csrf_token": "forged"}
        )
        assert refused.status_code == 403
        signed_in = browser.post(
            "/console/auth/dev",
            data={"subject": officer.subject, "csrf_token": hidden(page.text, "csrf_token")},
        )
        assert signed_in.status_code == 303
        worklist = browser.get("/console/cases")
        assert worklist.status_code == 200
        assert 'data-testid="dev-banner"' in worklist.text
        unknown = browser.post(
            "/console/auth/dev",
            data={"subject": "nobody", "csrf_token": hidden(page.text, "csrf_token")},
        )
        assert unknown.status_code == 403
        assert 'data-testid="not-registered"' in unknown.text


def test_development_sign_in_is_off_unless_asked_for(console: TestClient) -> None:
    assert console.get("/console/auth/dev").status_code == 404
    assert console.post("/console/auth/dev", data={"subject": "x"}).status_code == 404
    assert 'data-testid="dev-banner"' not in console.get("/console/sign-in").text


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"oidc_issuer": "https://login.example.gov.uk"}, "CME_OIDC_ISSUER"),
        ({"public_base_url": "https://cme.example.gov.uk"}, "cme.example.gov.uk"),
        ({"public_base_url": "http://10.1.2.3:8000"}, "10.1.2.3"),
    ],
)
def test_development_sign_in_refuses_to_start_beside_a_provider_or_off_this_machine(
    tmp_path: Path, database_url: str, overrides: dict[str, object], reason: str
) -> None:
    settings = dev_settings(tmp_path, database_url, **overrides)

    with pytest.raises(ConsoleMisconfigured, match=reason):
        create_app(settings)


def test_cme_serve_refuses_development_sign_in_off_this_machine_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CME_CONSOLE_DEV_SIGN_IN", "1")
    monkeypatch.setenv("CME_PUBLIC_BASE_URL", "https://cme.example.gov.uk")

    result = cme("serve")

    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stderr.count("\n") == 1
    assert "CME_CONSOLE_DEV_SIGN_IN=1 needs CME_PUBLIC_BASE_URL on this machine" in result.stderr


def test_without_a_provider_the_sign_in_page_says_how_to_set_one_up(
    tmp_path: Path, database_url: str
) -> None:
    app = create_app(dev_settings(tmp_path, database_url, console_dev_sign_in=False))
    with TestClient(app):
        page = console_client(app).get("/console/sign-in?lang=cy")

    assert page.status_code == 200
    assert "CME_OIDC_ISSUER" in page.text
    assert "CME_CONSOLE_DEV_SIGN_IN=1" in page.text
    assert '<html lang="cy">' in page.text


def test_a_new_sign_in_clears_sessions_that_ran_out(console: TestClient, db: Session) -> None:
    officer = register_officer(db)
    sign_in(console, db, officer)
    db.execute(update(ConsoleSession).values(expires_at=datetime.now(UTC) - timedelta(hours=1)))
    db.commit()

    sign_in(console, db, officer)

    db.rollback()
    assert len(db.scalars(select(ConsoleSession)).all()) == 1
