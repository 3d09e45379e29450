"""`cme education upload`: the authority's reference client for its education records.

Sends a JSON or CSV file (told apart by content) with `PUT`, prints the receipt or every
problem with its pointer, and with `--wait` follows the reconciliation the upload queued to
its end. `--as-of` fills in the date for a file that does not carry it, and is checked
against one that does; a CSV that is not UTF-8 is sent with the charset `--charset` names.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.client import DEFAULT_BASE_URL, BaseUrl, ClientId, KeyFile, LaCode, Service, refused
from cli.console import EXIT_REFUSED, fail, note, show_counts
from cli.extracts import ExtractError, field_names, is_json, refuse_other_kind
from cli.reconciliations import show_run, wait_for_run


def upload(
    file: Annotated[Path, typer.Argument(help="Education records: JSON or CSV.")],
    la: LaCode,
    client_id: ClientId,
    key: KeyFile,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    as_of: Annotated[
        str | None,
        typer.Option(help="The date the records are as of (YYYY-MM-DD), if the file lacks it."),
    ] = None,
    charset: Annotated[
        str | None,
        typer.Option(help="The CSV's encoding if it is not UTF-8, e.g. windows-1252."),
    ] = None,
    wait: Annotated[
        bool, typer.Option(help="Follow the reconciliation the upload queued to its end.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the receipt as JSON.")] = False,
) -> None:
    """Replace your authority's education records (JSON or CSV) and print the receipt."""
    try:
        raw = file.read_bytes()
    except OSError as error:
        raise fail(f"cannot read {file}: {error.strerror or error}.") from None
    body, content_type = education_body(raw, name=str(file), as_of=_date(as_of), charset=charset)
    with Service(base_url=base_url, client_id=client_id, key_file=key) as service:
        response = service.request(
            "PUT",
            f"/v1/local-authorities/{la}/education-records",
            content=body,
            headers={"Content-Type": content_type},
        )
        if response.status_code != 200:
            raise refused(response, what="education records")
        receipt: dict[str, Any] = response.json()
        if not as_json:
            _show_receipt(receipt)
        if wait:
            run_id = receipt["reconciliation_id"]
            receipt["reconciliation"] = (
                None if run_id is None else wait_for_run(service, la=la, reconciliation_id=run_id)
            )
    if as_json:
        sys.stdout.write(json.dumps(receipt) + "\n")
        if (receipt.get("reconciliation") or {}).get("status") == "failed":
            raise typer.Exit(code=EXIT_REFUSED)
    elif receipt.get("reconciliation") is not None:
        show_run(receipt["reconciliation"])
        note(f"the cases: cme pull --la {la} --client-id {client_id} --key {key}")


def education_body(
    raw: bytes, *, name: str, as_of: date | None, charset: str | None
) -> tuple[bytes, str]:
    """What to send and its Content-Type."""
    if is_json(raw):
        return _json_body(raw, name=name, as_of=as_of), "application/json"
    text = _decoded(raw, name=name, charset=charset)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = [column.strip() for column in rows[0]] if rows else []
    _refuse_health_extract(header, name=name)
    if as_of is None:
        if "as_of" not in header:
            raise fail(f"{name} has no as_of column: give the date with --as-of YYYY-MM-DD.")
        return raw, "text/csv" if charset is None else f"text/csv; charset={charset}"
    if "as_of" in header:
        column = header.index("as_of")
        _check_as_of({row[column] for row in rows[1:] if len(row) > column}, as_of, name=name)
        return raw, "text/csv" if charset is None else f"text/csv; charset={charset}"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*rows[0], "as_of"])
    writer.writerows([*row, as_of.isoformat()] for row in rows[1:] if row)
    return out.getvalue().encode("utf-8"), "text/csv; charset=utf-8"


def _json_body(raw: bytes, *, name: str, as_of: date | None) -> bytes:
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise fail(f"{name} is JSON but not UTF-8: JSON files must be UTF-8.") from None
    except ValueError as error:
        raise fail(f"{name} is not readable JSON ({error}).") from None
    _refuse_health_extract(field_names(document), name=name)
    if isinstance(document, list):
        if as_of is None:
            raise fail(f"{name} is a list of records: give their date with --as-of YYYY-MM-DD.")
        document = {"as_of": as_of.isoformat(), "records": document}
    elif isinstance(document, dict) and as_of is not None:
        if "as_of" in document:
            _check_as_of({str(document["as_of"])}, as_of, name=name)
        document = {"as_of": as_of.isoformat()} | document
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def _decoded(raw: bytes, *, name: str, charset: str | None) -> str:
    if charset is not None:
        try:
            codecs.lookup(charset)
        except LookupError:
            raise fail(f"--charset {charset} is not an encoding Python knows.") from None
    try:
        return raw.decode(charset or "utf-8-sig")
    except UnicodeDecodeError as error:
        if charset is None:
            raise fail(
                f"{name} is not UTF-8 (byte 0x{raw[error.start]:02x} at offset {error.start}):"
                " give its encoding, e.g. --charset windows-1252, or save it as CSV UTF-8."
            ) from None
        raise fail(f"{name} is not {charset} (offset {error.start}): check --charset.") from None


def _refuse_health_extract(names: Iterable[str], *, name: str) -> None:
    try:
        refuse_other_kind(names, expected="education records", name=name)
    except ExtractError as error:
        raise fail(str(error)) from None


def _check_as_of(in_file: set[str], as_of: date, *, name: str) -> None:
    others = sorted(value for value in in_file if value and value != as_of.isoformat())
    if others:
        raise fail(
            f"--as-of {as_of.isoformat()} contradicts {name}'s as_of {others[0]}: leave "
            "--as-of out or correct the file."
        )


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"--as-of must be a date, YYYY-MM-DD, not {text!r}.") from None


def _show_receipt(receipt: dict[str, Any]) -> None:
    show_counts(
        "provision",
        receipt["records_by_provision"],
        heading=f"[green]accepted[/green]: {receipt['record_count']} education records for "
        f"{receipt['la_code']} as of {receipt['as_of']}",
        codes=True,
    )
    if receipt["reconciliation_id"] is None:
        note(
            "no reconciliation queued: no health records are waiting for this authority "
            "(one starts when a health board's extract arrives)"
        )
    else:
        note(f"reconciliation {receipt['reconciliation_id']} queued")
