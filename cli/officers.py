"""`cme officers`: the council officers who may sign in to the console.

They act on CME_DATABASE_URL directly, each in one transaction, and are audited.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from cli.console import note
from cli.operator import operator_transaction
from services.access import officers
from services.caller import Caller

app = typer.Typer(help="Council officers who sign in to the console.")


@app.command("add")
def add(
    la: Annotated[str, typer.Option("--la", help="The officer's authority, e.g. W06000015.")],
    subject: Annotated[
        str, typer.Option(help="The `sub` claim the authority's identity provider gives them.")
    ],
    name: Annotated[str, typer.Option(help="The officer's name, as colleagues know them.")],
    sensitive: Annotated[
        bool, typer.Option("--sensitive", help="Cleared for sensitive children's cases.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Register an officer of an authority: they can sign in to the console from now on."""
    with operator_transaction() as session:
        added = officers.add_officer(
            session=session,
            caller=Caller.operator(),
            la_code=la,
            subject=subject,
            name=name,
            sensitive=sensitive,
        )
    if as_json:
        sys.stdout.write(json.dumps(added.as_dict()) + "\n")
        return
    clearance = " (cleared for sensitive cases)" if added.sensitive else ""
    note(f"officer {added.officer_id} of {added.la} can sign in as {added.subject}{clearance}")


@app.command("remove")
def remove(
    subject: Annotated[str, typer.Option(help="The officer's `sub`, as registered.")],
) -> None:
    """Remove an officer: their open console sessions end at once."""
    with operator_transaction() as session:
        removed = officers.remove_officer(
            session=session, caller=Caller.operator(), subject=subject
        )
    note(f"removed officer {removed.officer_id} ({removed.subject}); their sessions have ended")


@app.command("list")
def list_(
    la: Annotated[str | None, typer.Option("--la", help="Only this authority's officers.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """List the registered officers."""
    with operator_transaction() as session:
        listed = officers.list_officers(session=session, la_code=la)
    if as_json:
        sys.stdout.write(json.dumps({"items": [o.as_dict() for o in listed]}) + "\n")
        return
    if not listed:
        note("no officers registered")
    for officer in listed:
        clearance = "  sensitive" if officer.sensitive else ""
        typer.echo(f"{officer.la}  {officer.subject}  {officer.name!r}{clearance}")
