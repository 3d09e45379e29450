"""The `cme` command: operating the service and the reference clients.

Another way in beside `api/`, calling the same services.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console

from cli import database, operator
from cli import education as education_command
from cli import officers as officers_command
from cli import openapi as openapi_command
from cli import pull as pull_command
from cli import push as push_command
from cli import reconciliations as reconciliations_command
from cli import synth as synth_command
from cli import token as token_command
from cli.console import fail
from schemas.organisations import organisation
from services import audit
from services.access import clients
from services.access.keys import generate_key_pair, key_id, load_public_key, public_jwk
from services.audit.chainer import chain_all
from services.caller import Caller
from services.errors import ServiceError
from services.logs import configure_logging
from services.settings import get_settings
from services.store.db import session_factory

app = typer.Typer(help="CME Exchange: children missing education, NHS Wales to local authorities.")
db_app = typer.Typer(help="The database.")
clients_app = typer.Typer(help="API clients and their keys.")
keys_app = typer.Typer(help="Key pairs for integrators.")
audit_app = typer.Typer(help="The audit trail.")
app.add_typer(db_app, name="db")
app.add_typer(clients_app, name="clients")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(officers_command.app, name="officers")
app.command("push")(push_command.push)
app.command("pull")(pull_command.pull)
app.command("synth")(synth_command.synth)
app.command("subject-access")(operator.subject_access)
app.command("erase")(operator.erase)
app.command("restrict")(operator.restrict)
app.command("purge")(operator.purge)
transfers_app = typer.Typer(help="Moves between authorities.")
transfers_app.command("overdue")(operator.overdue_transfers)
app.add_typer(transfers_app, name="transfers")
app.command("openapi")(openapi_command.openapi)

err = Console(stderr=True)


_transaction = operator.operator_transaction


def _fail(error: ServiceError) -> typer.Exit:
    return fail(f"{error.code}: {error.detail}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database at CME_DATABASE_URL to the latest migration."""
    database.upgrade()


# How `cme serve` runs uvicorn (the Dockerfile's command is `cme serve`).
SERVER_OPTIONS: dict[str, Any] = {
    "log_config": None,  # the service's JSON logs, configured before
    # uvicorn's access line quotes the query string; the service logs its own without it.
    "access_log": False,
    # uvicorn never rewrites the client address from X-Forwarded-For (its default believes
    # the header from 127.0.0.1): the service decides whom to believe (CME_TRUSTED_PROXIES).
    "proxy_headers": False,
    "server_header": False,
}


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Run the HTTP service."""
    import uvicorn

    problem = get_settings().console_configuration_problem()
    if problem is not None:
        raise fail(problem)
    database.check_database()
    configure_logging(get_settings().log_level)
    uvicorn.run("api.main:app", host=host, port=port, workers=workers, **SERVER_OPTIONS)


def _read_key_file(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise fail(f"no public key file {path}.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise fail(f"cannot read {path}: {error}.") from None


@clients_app.command("add")
def clients_add(
    org: Annotated[str, typer.Option(help="Organisation code, e.g. 7A4 or W06000015.")],
    name: Annotated[str, typer.Option(help="A name for the client system.")],
    scope: Annotated[list[str], typer.Option(help="A scope to grant; repeat for more.")],
    public_key: Annotated[Path, typer.Option(help="Public key file: PEM or a JWK document.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Register an API client of an organisation with its public key."""
    try:
        key = load_public_key(_read_key_file(public_key))
        with _transaction() as session:
            registration = clients.register_client(
                session=session, caller=Caller.operator(), org=org, name=name, scopes=scope, key=key
            )
    except ServiceError as error:
        raise _fail(error) from None
    if as_json:
        sys.stdout.write(json.dumps(registration.as_dict()) + "\n")
    else:
        err.print(
            f"client_id [bold]{registration.client_id}[/bold] ({org}); kid {registration.kid}"
        )
        err.print(f"scopes: {' '.join(registration.scopes)}")


@clients_app.command("add-key")
def clients_add_key(
    client_id: Annotated[str, typer.Option(help="The client to add a key to.")],
    public_key: Annotated[Path, typer.Option(help="Public key file: PEM or a JWK document.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Add a key to a client (rotation: add the new key, then revoke the old one)."""
    try:
        key = load_public_key(_read_key_file(public_key))
        with _transaction() as session:
            kid = clients.add_key(
                session=session, caller=Caller.operator(), client_id=client_id, key=key
            )
    except ServiceError as error:
        raise _fail(error) from None
    if as_json:
        sys.stdout.write(json.dumps({"client_id": client_id, "kid": kid}) + "\n")
    else:
        err.print(f"added key {kid} to {client_id}")


@clients_app.command("revoke-key")
def clients_revoke_key(
    client_id: Annotated[str, typer.Option(help="The client whose key to revoke.")],
    kid: Annotated[str, typer.Option(help="The key id to revoke.")],
) -> None:
    """Revoke a key: access tokens it obtained, and its signatures, are refused from now on."""
    try:
        with _transaction() as session:
            clients.revoke_key(
                session=session, caller=Caller.operator(), client_id=client_id, kid=kid
            )
    except ServiceError as error:
        raise _fail(error) from None
    err.print(f"revoked key {kid} of {client_id}")


@clients_app.command("disable")
def clients_disable(
    client_id: Annotated[str, typer.Option(help="The client to disable.")],
) -> None:
    """End a client at once: its access tokens stop working on the next request and no
    new ones are issued; its submissions' signatures are refused too."""
    try:
        with _transaction() as session:
            clients.disable_client(session=session, caller=Caller.operator(), client_id=client_id)
    except ServiceError as error:
        raise _fail(error) from None
    err.print(f"disabled client {client_id}: its access tokens are refused from now on")


@clients_app.command("enable")
def clients_enable(
    client_id: Annotated[str, typer.Option(help="The disabled client to enable again.")],
) -> None:
    """Let a disabled client obtain tokens again with its non-revoked keys (revoke any key
    that may be compromised first). Tokens issued before it was disabled stay refused."""
    try:
        with _transaction() as session:
            clients.enable_client(session=session, caller=Caller.operator(), client_id=client_id)
    except ServiceError as error:
        raise _fail(error) from None
    err.print(f"enabled client {client_id}")


@clients_app.command("list")
def clients_list(
    org: Annotated[str | None, typer.Option(help="Only this organisation's clients.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """List the registered clients with their scopes and active key ids."""
    with _transaction() as session:
        listed = clients.list_clients(session=session, org=org)
    if as_json:
        sys.stdout.write(json.dumps({"items": [c.as_dict() for c in listed]}) + "\n")
        return
    if not listed:
        err.print("no clients registered")
    for c in listed:
        found = organisation(c.org)
        typer.echo(f"{c.client_id}  {c.org} {found.name if found else ''}  {c.name!r}")
        typer.echo(f"    scopes: {' '.join(c.scopes)}")
        typer.echo(f"    active key ids: {' '.join(c.active_kids) or '(none)'}")


@keys_app.command("generate")
def keys_generate(
    private_key: Annotated[Path, typer.Option(help="Where to write the private key (PEM).")],
    public_key: Annotated[Path, typer.Option(help="Where to write the public key (JWK).")],
    kind: Annotated[str, typer.Option(help="ec (ES256), ed25519 (EdDSA) or rsa (PS256).")] = "ec",
) -> None:
    """Make a key pair for an integrator and show its public JWK and kid."""
    if kind not in ("ec", "ed25519", "rsa"):
        raise typer.BadParameter("kind must be ec, ed25519 or rsa")
    chosen: Literal["ec", "ed25519", "rsa"] = kind  # type: ignore[assignment]
    pem, public = generate_key_pair(chosen)
    for existing in (p for p in (private_key, public_key) if p.exists()):
        raise fail(f"{existing} exists already: choose another name, or move it away first.")
    private_key.touch(mode=0o600, exist_ok=False)
    private_key.write_text(pem)
    public_key.write_text(json.dumps(public_jwk(public), indent=2) + "\n")
    err.print(f"private key: {private_key} (keep it secret)")
    err.print(f"public JWK: {public_key}")
    sys.stdout.write(json.dumps({"kid": key_id(public), "public_jwk": public_jwk(public)}) + "\n")


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Run at most one queued job, then exit.")] = False,
    drain: Annotated[
        bool, typer.Option(help="Run queued jobs until none is left, then exit.")
    ] = False,
) -> None:
    """Run queued reconciliations (several workers may share one PostgreSQL database)."""
    import time

    from services.reconciliation.worker import linkage_settings, work_once

    settings = get_settings()
    configure_logging(settings.log_level)
    engine = database.open_database()
    sessions = session_factory(engine, audit_chain=settings.audit_chain)
    try:
        while True:
            chain_all(sessions)
            ran = work_once(sessions=sessions, settings=linkage_settings(settings))
            if once or (drain and ran is None):
                err.print(f"ran reconciliation {ran}" if ran else "no reconciliation queued")
                return
            if ran is None:
                time.sleep(settings.worker_poll_seconds)
    except KeyboardInterrupt:
        err.print("worker stopped")
    finally:
        engine.dispose()


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit chain; exit 1 naming the first bad event if it was tampered with."""
    engine = database.open_database()
    try:
        chained = chain_all(session_factory(engine))  # events still in the inbox first
    finally:
        engine.dispose()
    if chained:
        err.print(f"chained {chained} waiting event(s) first")
    with _transaction() as session:
        checked, broken = audit.verify(session=session)
    if broken is not None:
        err.print(f"[red]audit chain broken[/red] at event {broken.seq}: {broken.reason}")
        raise typer.Exit(code=1)
    err.print(f"audit chain intact: {checked} events")


app.command("token")(token_command.token)
education_app = typer.Typer(help="An authority's education records.")
education_app.command("upload")(education_command.upload)
app.add_typer(education_app, name="education")
reconciliations_app = typer.Typer(help="An authority's reconciliations.")
reconciliations_app.command("list")(reconciliations_command.list_runs)
app.add_typer(reconciliations_app, name="reconciliations")

if __name__ == "__main__":
    app()
