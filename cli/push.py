"""`cme push`: the health board's reference client.

Reads an extract, builds the submission, gets a token, signs the exact bytes, sends them
gzip-compressed with a progress bar, and prints the receipt or the errors.
"""

from __future__ import annotations

import gzip
import json
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from cli.extracts import ExtractError, read_extract
from cli.signing import ASSERTION_TYPE, PrivateKey, client_assertion, detached_signature
from services.access.keys import SigningAlgorithm, load_private_key

console = Console(stderr=True)
_UPLOAD_CHUNK = 256 * 1024


def push(
    extract: Annotated[Path, typer.Argument(help="JSON or CSV extract of child records.")],
    client_id: Annotated[str, typer.Option(help="Your client_id.")],
    key: Annotated[Path, typer.Option(help="Your private key (PEM).")],
    base_url: Annotated[
        str, typer.Option(help="The service's base URL.")
    ] = "http://127.0.0.1:8000",
    lhb: Annotated[
        str | None, typer.Option(help="Health board code (if not in the extract).")
    ] = None,
    extract_type: Annotated[str, typer.Option(help="full or delta.")] = "full",
    submission_id: Annotated[str | None, typer.Option(help="Resend with this id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the receipt as JSON.")] = False,
) -> None:
    """Send a signed extract to the service and print the receipt."""
    try:
        document = read_extract(extract)
    except ExtractError as error:
        console.print(f"[red]error[/red] {error}")
        raise typer.Exit(code=2) from None
    if isinstance(document, list):
        if lhb is None:
            console.print(
                "[red]error[/red] --lhb is required when the extract is a list of records"
            )
            raise typer.Exit(code=2)
        document = {
            "submission_id": submission_id or str(uuid.uuid4()),
            "lhb_code": lhb,
            "extract_type": extract_type,
            "extracted_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "records": document,
        }
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    private_key, alg = load_private_key(key.read_text("ascii"))
    console.print(f"submission {document['submission_id']}: {len(document['records'])} records")
    with httpx.Client(base_url=base_url.rstrip("/"), timeout=600) as http:
        token = fetch_token(
            http, private_key=private_key, alg=alg, client_id=client_id, base_url=base_url
        )
        response = _send(http, token=token, body=body, private_key=private_key, alg=alg)
    _report(response, as_json=as_json)


def fetch_token(
    http: httpx.Client,
    *,
    private_key: PrivateKey,
    alg: SigningAlgorithm,
    client_id: str,
    base_url: str,
) -> str:
    assertion = client_assertion(
        key=private_key,
        alg=alg,
        client_id=client_id,
        token_url=f"{base_url.rstrip('/')}/oauth2/token",
    )
    response = http.post(
        "/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )
    if response.status_code != 200:
        console.print(f"[red]token refused[/red] ({response.status_code}): {response.text}")
        raise typer.Exit(code=1)
    return str(response.json()["access_token"])


def _send(
    http: httpx.Client, *, token: str, body: bytes, private_key: PrivateKey, alg: SigningAlgorithm
) -> httpx.Response:
    signature = detached_signature(key=private_key, alg=alg, body=body)
    compressed = gzip.compress(body, compresslevel=6)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("uploading", total=len(compressed))

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(compressed), _UPLOAD_CHUNK):
                piece = compressed[start : start + _UPLOAD_CHUNK]
                progress.advance(task, len(piece))
                yield piece

        return http.post(
            "/v1/submissions",
            content=chunks(),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "Content-Length": str(len(compressed)),
                "X-JWS-Signature": signature,
            },
        )


def _report(response: httpx.Response, *, as_json: bool) -> None:
    try:
        payload: dict[str, Any] = response.json()
    except ValueError:
        payload = {"detail": response.text}
    if response.status_code in (200, 201):
        if as_json:
            sys.stdout.write(json.dumps(payload) + "\n")
            return
        replay = " (already received: original receipt)" if response.status_code == 200 else ""
        console.print(f"[green]accepted[/green]{replay}: {payload['submission_id']}")
        table = Table("local authority", "records retained")
        for code, count in payload["records_by_local_authority"].items():
            table.add_row(code, str(count))
        console.print(table)
        console.print(
            f"not retained: {payload['not_retained']}; body sha256 {payload['body_sha256']}"
        )
        return
    code, detail = payload.get("code", ""), payload.get("detail", "")
    console.print(f"[red]refused[/red] {response.status_code} {code}: {detail}")
    problems = payload.get("errors") or []
    if problems:
        table = Table("pointer", "code", "detail")
        for problem in problems[:50]:
            table.add_row(problem["pointer"], problem["code"], problem["detail"])
        console.print(table)
        if len(problems) > 50:
            console.print(f"... and {len(problems) - 50} more")
    raise typer.Exit(code=1)
