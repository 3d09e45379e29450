"""Revoking a key or disabling a client ends its access tokens at once.

Access tokens live up to 15 minutes; every request checks in the database that the key
that obtained the token is still active and the client still enabled, so the end holds in
every process that shares the database and across restarts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.app import create_app
from cli.main import app as cme
from services.access.clients import add_key, disable_client, enable_client, revoke_key
from services.access.keys import generate_key_pair, load_private_key
from services.access.tokens import ASSERTION_REFUSED
from services.caller import Caller
from services.settings import Settings, get_settings
from services.store.tables import AuditEvent
from tests.factories import (
    Credentials,
    access_token,
    encode,
    health_record,
    post_submission,
    submission_body,
    token_form,
)

OPERATOR = Caller.operator()


def receipt(http: TestClient, token: str) -> int:
    """A request that needs a valid token: 404 (no such receipt) when it is accepted."""
    response = http.get(
        f"/v1/submissions/{uuid.uuid4()}", headers={"Authorization": f"Bearer {token}"}
    )
    if response.status_code == 401:
        assert response.json()["code"] == "unauthenticated"
    return response.status_code


@pytest.fixture
def operator_cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """`cme` pointed at the test database: its own engine, as another process would be."""
    monkeypatch.setenv("CME_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def second_key(db: Session, board: Credentials) -> Credentials:
    pem, public = generate_key_pair("ec")
    kid = add_key(session=db, caller=OPERATOR, client_id=board.client_id, key=public)
    db.commit()
    key, alg = load_private_key(pem)
    return Credentials(board.client_id, board.org, key, alg, kid, pem)


def test_revoking_the_key_ends_the_tokens_it_obtained_at_once(
    http: TestClient, board: Credentials, db: Session
) -> None:
    token = access_token(http, board)
    assert receipt(http, token) == 404

    revoke_key(session=db, caller=OPERATOR, client_id=board.client_id, kid=board.kid)
    db.commit()

    assert receipt(http, token) == 401


def test_tokens_obtained_with_the_clients_other_key_survive_a_rotation(
    http: TestClient, board: Credentials, db: Session
) -> None:
    old_token = access_token(http, board)
    rotated = second_key(db, board)
    new_token = access_token(http, rotated)

    revoke_key(session=db, caller=OPERATOR, client_id=board.client_id, kid=board.kid)
    db.commit()

    assert receipt(http, old_token) == 401
    assert receipt(http, new_token) == 404


def test_revoke_key_at_the_command_line_ends_tokens_in_every_running_and_restarted_process(
    http: TestClient, board: Credentials, settings: Settings, operator_cli: CliRunner
) -> None:
    token = access_token(http, board)
    with TestClient(create_app(settings)) as other_process:
        assert receipt(other_process, token) == 404

        result = operator_cli.invoke(
            cme, ["clients", "revoke-key", "--client-id", board.client_id, "--kid", board.kid]
        )

        assert result.exit_code == 0, result.output
        assert receipt(http, token) == 401
        assert receipt(other_process, token) == 401
    with TestClient(create_app(settings)) as restarted:
        assert receipt(restarted, token) == 401


def test_disabling_a_client_ends_its_tokens_and_refuses_new_ones(
    http: TestClient, board: Credentials, db: Session
) -> None:
    token = access_token(http, board)
    rotated = second_key(db, board)
    token_of_other_key = access_token(http, rotated)

    disable_client(session=db, caller=OPERATOR, client_id=board.client_id)
    db.commit()
    refused = http.post("/oauth2/token", data=token_form(board))

    assert receipt(http, token) == 401
    assert receipt(http, token_of_other_key) == 401
    assert refused.status_code == 401
    assert refused.json() == {"error": "invalid_client", "error_description": ASSERTION_REFUSED}


def test_a_disabled_clients_token_cannot_send_a_submission(
    http: TestClient, board: Credentials, db: Session
) -> None:
    token = access_token(http, board)
    disable_client(session=db, caller=OPERATOR, client_id=board.client_id)
    db.commit()

    response = post_submission(http, board, encode(submission_body([health_record()])), token=token)

    assert response.status_code == 401, response.text
    assert response.json()["code"] == "unauthenticated"


def test_enabling_again_admits_new_tokens_but_never_the_old_ones(
    http: TestClient, board: Credentials, db: Session
) -> None:
    old_token = access_token(http, board)
    disable_client(session=db, caller=OPERATOR, client_id=board.client_id)
    db.commit()
    enable_client(session=db, caller=OPERATOR, client_id=board.client_id)
    db.commit()

    new_token = access_token(http, board)

    assert receipt(http, new_token) == 404
    assert receipt(http, old_token) == 401


def test_disable_and_enable_at_the_command_line_are_audited(
    http: TestClient, board: Credentials, db: Session, operator_cli: CliRunner
) -> None:
    token = access_token(http, board)
    arguments = ["--client-id", board.client_id]

    disabled = operator_cli.invoke(cme, ["clients", "disable", *arguments])
    refused_while_disabled = receipt(http, token)
    disabled_again = operator_cli.invoke(cme, ["clients", "disable", *arguments])
    enabled = operator_cli.invoke(cme, ["clients", "enable", *arguments])
    enabled_again = operator_cli.invoke(cme, ["clients", "enable", *arguments])
    unknown = operator_cli.invoke(cme, ["clients", "disable", "--client-id", "cli_nobody"])

    assert disabled.exit_code == 0, disabled.output
    assert refused_while_disabled == 401
    assert (disabled_again.exit_code, enabled.exit_code) == (2, 0), enabled.output
    assert "client_already_disabled" in disabled_again.stderr
    assert enabled_again.exit_code == 2
    assert "client_not_disabled" in enabled_again.stderr
    assert unknown.exit_code == 2
    assert "not_found" in unknown.stderr
    assert receipt(http, token) == 401
    assert receipt(http, access_token(http, board)) == 404
    events = db.execute(
        select(AuditEvent.action, AuditEvent.object_ids).where(
            AuditEvent.action.in_(["client.disabled", "client.enabled"])
        )
    ).all()
    assert [tuple(event) for event in events] == [
        ("client.disabled", [board.client_id]),
        ("client.enabled", [board.client_id]),
    ]
    db.rollback()
