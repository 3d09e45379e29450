"""`cme token`: an access token for a client, for calls the other commands do not make
(e.g. recording a case's outcome with curl)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from cli.client import DEFAULT_BASE_URL, BaseUrl, ClientId, KeyFile, Service


def token(
    client_id: ClientId,
    key: KeyFile,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    scope: Annotated[
        list[str] | None,
        typer.Option(help="A scope to ask for; repeat for more (default: all the client's)."),
    ] = None,
) -> None:
    """Print the token response (access_token, token_type, expires_in, scope) as JSON."""
    with Service(base_url=base_url, client_id=client_id, key_file=key, scopes=scope) as service:
        answer = service.token()
    sys.stdout.write(json.dumps(answer) + "\n")
