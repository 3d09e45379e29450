"""The `cme` command's key, client and audit subcommands, run through typer's CliRunner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from cli.main import app
from services.access.keys import generate_key_pair, key_id, load_public_key, public_jwk
from services.store.db import is_sqlite, make_engine
from services.store.tables import AuditEvent, Client, ClientKey

runner = CliRunner()


@pytest.fixture
def engine(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The CLI pointed at the test database; an engine on it for arranging and inspecting."""
    monkeypatch.setenv("CME_DATABASE_URL", database_url)
    inspector = make_engine(database_url)
    yield inspector
    inspector.dispose()


def cme(*arguments: str) -> Result:
    return runner.invoke(app, list(arguments))


def count(engine: Engine, table: type[Client | ClientKey | AuditEvent]) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def jwk_file(tmp_path: Path, name: str = "public.jwk") -> tuple[Path, str]:
    """A fresh P-256 public JWK on disk, and its RFC 7638 thumbprint."""
    _, public = generate_key_pair("ec")
    path = tmp_path / name
    path.write_text(json.dumps(public_jwk(public)))
    return path, public.thumbprint()


def add_board_client(public_key: Path) -> Result:
    return cme(
        "clients",
        "add",
        "--org",
        "7A4",
        "--name",
        "Cardiff and Vale PAS",
        "--scope",
        "submissions:write",
        "--scope",
        "submissions:read",
        "--public-key",
        str(public_key),
        "--json",
    )


def tamper(engine: Engine, statement: str) -> None:
    """Change the audit trail behind the service's back, with its guard triggers lifted."""
    with engine.begin() as connection:
        if is_sqlite(engine):
            connection.execute(text("DROP TRIGGER audit_events_no_update"))
            connection.execute(text("DROP TRIGGER audit_events_no_delete"))
            connection.execute(text(statement))
        else:
            # Re-enabled in the same transaction: the PostgreSQL database outlives this test.
            connection.execute(
                text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
            )
            connection.execute(text(statement))
            connection.execute(
                text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
            )


@pytest.mark.parametrize("kind", ["ec", "ed25519"])
def test_keys_generate_writes_the_pair_and_prints_the_kid(tmp_path: Path, kind: str) -> None:
    private, public = tmp_path / "private.pem", tmp_path / "public.jwk"

    result = cme(
        "keys",
        "generate",
        "--private-key",
        str(private),
        "--public-key",
        str(public),
        "--kind",
        kind,
    )

    assert result.exit_code == 0, result.output
    assert "PRIVATE KEY" in private.read_text()
    assert private.stat().st_mode & 0o077 == 0
    printed = json.loads(result.stdout)
    assert printed["kid"] == key_id(load_public_key(public.read_text()))
    assert "d" not in json.loads(public.read_text())


def test_clients_add_json_prints_exactly_one_registration_object(
    engine: Engine, tmp_path: Path
) -> None:
    public_key, thumbprint = jwk_file(tmp_path)

    result = add_board_client(public_key)

    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    registration = json.loads(result.stdout)
    assert set(registration) == {"client_id", "org", "scopes", "kid"}
    assert registration["org"] == "7A4"
    assert sorted(registration["scopes"]) == ["submissions:read", "submissions:write"]
    assert registration["kid"] == thumbprint
    with Session(engine) as session:
        stored = session.get(Client, registration["client_id"])
        assert stored is not None
        assert stored.org_code == "7A4"


def test_clients_add_accepts_a_pem_public_key(engine: Engine, tmp_path: Path) -> None:
    _, public = generate_key_pair("ec")
    native = public.public_key
    assert native is not None
    public_key = tmp_path / "public.pem"
    public_key.write_bytes(
        native.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )

    result = add_board_client(public_key)

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kid"] == public.thumbprint()
    assert count(engine, ClientKey) == 1


@pytest.mark.parametrize("scope", ["cme:read", "statistics:read", "no-such-scope"])
def test_clients_add_refuses_a_scope_the_organisation_cannot_hold(
    engine: Engine, tmp_path: Path, scope: str
) -> None:
    public_key, _ = jwk_file(tmp_path)

    result = cme(
        "clients",
        "add",
        "--org",
        "7A4",
        "--name",
        "x",
        "--scope",
        scope,
        "--public-key",
        str(public_key),
        "--json",
    )

    assert result.exit_code == 2, result.output
    assert "invalid_scope" in result.stderr
    assert result.stdout == ""
    assert count(engine, Client) == 0
    assert count(engine, ClientKey) == 0
    assert count(engine, AuditEvent) == 0


def test_clients_add_refuses_a_weak_rsa_2048_key(engine: Engine, tmp_path: Path) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    public_key = tmp_path / "weak.pem"
    public_key.write_bytes(
        weak.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )

    result = add_board_client(public_key)

    assert result.exit_code == 2, result.output
    assert "key_refused" in result.stderr
    assert result.stdout == ""
    assert count(engine, Client) == 0


def test_clients_add_refuses_an_incomplete_jwk_cleanly(engine: Engine, tmp_path: Path) -> None:
    document = json.loads(jwk_file(tmp_path)[0].read_text())
    del document["y"]
    public_key = tmp_path / "truncated.jwk"
    public_key.write_text(json.dumps(document))

    result = add_board_client(public_key)

    assert result.exit_code == 2, result.output
    assert "key_refused" in result.stderr
    assert count(engine, Client) == 0


def test_key_rotation_adds_then_revokes_a_key(engine: Engine, tmp_path: Path) -> None:
    first_key, first_kid = jwk_file(tmp_path, "first.jwk")
    second_key, second_kid = jwk_file(tmp_path, "second.jwk")
    client_id = json.loads(add_board_client(first_key).stdout)["client_id"]

    added = cme(
        "clients", "add-key", "--client-id", client_id, "--public-key", str(second_key), "--json"
    )
    revoked = cme("clients", "revoke-key", "--client-id", client_id, "--kid", first_kid)
    revoked_again = cme("clients", "revoke-key", "--client-id", client_id, "--kid", first_kid)

    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout) == {"client_id": client_id, "kid": second_kid}
    assert revoked.exit_code == 0, revoked.output
    assert revoked_again.exit_code == 2, revoked_again.output
    with Session(engine) as session:
        keys = {k.kid: k.revoked_at for k in session.scalars(select(ClientKey)).all()}
    assert set(keys) == {first_kid, second_kid}
    assert keys[first_kid] is not None
    assert keys[second_kid] is None


def test_add_key_to_an_unknown_client_is_refused(engine: Engine, tmp_path: Path) -> None:
    public_key, _ = jwk_file(tmp_path)

    result = cme("clients", "add-key", "--client-id", "cli_nobody", "--public-key", str(public_key))

    assert result.exit_code == 2, result.output
    assert "not_found" in result.stderr
    assert count(engine, ClientKey) == 0


@pytest.fixture
def audited(engine: Engine, tmp_path: Path) -> Engine:
    """Two audit events: a client registered (seq 1) and a key added (seq 2)."""
    first_key, _ = jwk_file(tmp_path, "first.jwk")
    second_key, _ = jwk_file(tmp_path, "second.jwk")
    client_id = json.loads(add_board_client(first_key).stdout)["client_id"]
    added = cme("clients", "add-key", "--client-id", client_id, "--public-key", str(second_key))
    assert added.exit_code == 0, added.output
    assert count(engine, AuditEvent) == 2
    return engine


def test_audit_verify_passes_an_intact_chain(audited: Engine) -> None:
    result = cme("audit", "verify")

    assert result.exit_code == 0, result.output
    assert "intact: 2 events" in result.stderr


def test_audit_verify_names_an_edited_event(audited: Engine) -> None:
    tamper(audited, "UPDATE audit_events SET action = 'client.nothing_to_see' WHERE seq = 1")

    result = cme("audit", "verify")

    assert result.exit_code == 1
    assert "event 1" in result.stderr
    assert "edited" in result.stderr


def test_audit_verify_names_a_deleted_last_event(audited: Engine) -> None:
    tamper(audited, "DELETE FROM audit_events WHERE seq = 2")

    result = cme("audit", "verify")

    assert result.exit_code == 1
    assert "event 2" in result.stderr
