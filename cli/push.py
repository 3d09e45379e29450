"""`cme push`: the health board's reference client.

Reads an extract, builds the submission, gets a token, signs the exact bytes, sends them
gzip-compressed with a progress bar, and prints the receipt or the errors.

A list of records becomes a submission whose `submission_id` is derived from the file
(its SHA-256, the board, the extract type and `extracted_at`) and whose `extracted_at` is
the file's modification time unless `--extracted-at` says otherwise: sending the same file
again is a replay (200 with the original receipt), never a conflict. Options given for a
whole submission document may fill in what it lacks but never contradict it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from cli.client import DEFAULT_BASE_URL, BaseUrl, ClientId, KeyFile, Service, refused
from cli.console import fail, show_counts, stderr
from cli.extracts import ExtractError, parse_extract

_UPLOAD_CHUNK = 256 * 1024
# Submission ids derived from files are name-based UUIDs (version 5) in this namespace.
_SUBMISSION_IDS = uuid.UUID("16763410-8763-4b7b-84da-5d5cf5c074c8")
_OPTIONS = {
    "submission_id": "--submission-id",
    "lhb_code": "--lhb",
    "extract_type": "--extract-type",
    "extracted_at": "--extracted-at",
}


def push(
    extract: Annotated[Path, typer.Argument(help="JSON or CSV extract of child records.")],
    client_id: ClientId,
    key: KeyFile,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    lhb: Annotated[
        str | None,
        typer.Option(help="Your health board's code: needed for a list of records."),
    ] = None,
    extract_type: Annotated[str | None, typer.Option(help="full or delta (default: full).")] = None,
    submission_id: Annotated[
        str | None,
        typer.Option(help="A UUID of your own (default: derived from the file)."),
    ] = None,
    extracted_at: Annotated[
        str | None,
        typer.Option(
            help="When the extract was taken, e.g. 2026-01-15T02:00:00Z "
            "(default: the file's modification time)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the receipt as JSON.")] = False,
) -> None:
    """Send a signed extract to the service and print the receipt."""
    try:
        raw = extract.read_bytes()
        document = submission(
            parse_extract(raw, name=str(extract)),
            raw=raw,
            modified=datetime.fromtimestamp(extract.stat().st_mtime, UTC),
            options={
                "submission_id": submission_id,
                "lhb_code": lhb,
                "extract_type": extract_type,
                "extracted_at": extracted_at,
            },
        )
    except OSError as error:
        raise fail(f"cannot read {extract}: {error.strerror or error}.") from None
    except ExtractError as error:
        raise fail(str(error)) from None
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with Service(base_url=base_url, client_id=client_id, key_file=key, timeout=600) as service:
        response = _send(service, body=body)
    _report(response, as_json=as_json)


def submission(
    records_or_submission: dict[str, Any] | list[dict[str, Any]],
    *,
    raw: bytes,
    modified: datetime,
    options: dict[str, str | None],
) -> dict[str, Any]:
    """The submission to send: a whole document as given (options may only fill in what it
    lacks), or a list of records wrapped with what the options and the file say."""
    given = _checked(options)
    if isinstance(records_or_submission, list):
        document: dict[str, Any] = {"records": records_or_submission}
    else:
        document = dict(records_or_submission)
        for field, value in given.items():
            if value is not None and field in document and not _same(field, document[field], value):
                raise ExtractError(
                    f"{_OPTIONS[field]} {value} contradicts the extract's {field} "
                    f"{document[field]}: leave {_OPTIONS[field]} out or correct the file."
                )
    for field, value in given.items():
        if value is not None:
            document.setdefault(field, value)
    if "lhb_code" not in document:
        raise ExtractError("--lhb is required when the extract does not name its lhb_code.")
    document.setdefault("extract_type", "full")
    document.setdefault("extracted_at", modified.replace(microsecond=0).isoformat())
    document.setdefault("submission_id", derived_submission_id(raw, document))
    return {
        name: document[name]
        for name in ("submission_id", "lhb_code", "extract_type", "extracted_at")
    } | document


def derived_submission_id(raw: bytes, document: dict[str, Any]) -> str:
    """The same file, from the same board, of the same type and time, gets the same id."""
    name = "|".join(
        (
            str(document["lhb_code"]),
            str(document["extract_type"]),
            str(document["extracted_at"]),
            hashlib.sha256(raw).hexdigest(),
        )
    )
    return str(uuid.uuid5(_SUBMISSION_IDS, name))


def _checked(options: dict[str, str | None]) -> dict[str, str | None]:
    checked = dict(options)
    if options["submission_id"] is not None:
        try:
            checked["submission_id"] = str(uuid.UUID(options["submission_id"]))
        except ValueError:
            raise ExtractError("--submission-id must be a UUID.") from None
    if options["extracted_at"] is not None and _timestamp(options["extracted_at"]) is None:
        raise ExtractError(
            "--extracted-at must be a timestamp with its offset, e.g. 2026-01-15T02:00:00Z."
        )
    if options["extract_type"] not in (None, "full", "delta"):
        raise ExtractError("--extract-type must be full or delta.")
    return checked


def _timestamp(text: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _same(field: str, in_file: object, option: str) -> bool:
    if field == "extracted_at":
        return _timestamp(in_file) == _timestamp(option)
    if field == "submission_id":
        return str(in_file).lower() == option.lower()
    return in_file == option


def _send(service: Service, *, body: bytes) -> httpx.Response:
    signature = service.sign(body)
    compressed = gzip.compress(body, compresslevel=6)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,  # no progress displays in logs
    ) as progress:
        task = progress.add_task("uploading", total=len(compressed))

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(compressed), _UPLOAD_CHUNK):
                piece = compressed[start : start + _UPLOAD_CHUNK]
                progress.advance(task, len(piece))
                yield piece

        return service.request(
            "POST",
            "/v1/submissions",
            content=chunks(),
            headers={
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "Content-Length": str(len(compressed)),
                "X-JWS-Signature": signature,
            },
        )


def _report(response: httpx.Response, *, as_json: bool) -> None:
    if response.status_code not in (200, 201):
        raise refused(response, what="submission")
    receipt: dict[str, Any] = response.json()
    if as_json:
        sys.stdout.write(json.dumps(receipt) + "\n")
        return
    replay = " (already received: original receipt)" if response.status_code == 200 else ""
    show_counts(
        "records retained for",
        receipt["records_by_local_authority"],
        heading=f"[green]accepted[/green]{replay}: submission {receipt['submission_id']}, "
        f"{receipt['record_count']} records",
        codes=True,
    )
    stderr.print(f"not retained: {receipt['not_retained']}; body sha256 {receipt['body_sha256']}")
