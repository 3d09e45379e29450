"""`cme pull`: the local authority's reference client for its CME cases.

Follows cursors to the end, writes CSV or NDJSON, and remembers the newest `updated_at`
it saw in a state file, so the next pull asks only for what changed since.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn

from cli.client import DEFAULT_BASE_URL, BaseUrl, ClientId, KeyFile, LaCode, Service, pages
from cli.console import fail, note, stderr
from schemas.cases import CaseOut
from services.cases.csv_export import cases_csv

PAGE_SIZE = 500


def pull(
    la: LaCode,
    client_id: ClientId,
    key: KeyFile,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    out: Annotated[Path | None, typer.Option(help="Output file (default: stdout).")] = None,
    output_format: Annotated[str, typer.Option("--format", help="csv or ndjson.")] = "csv",
    status: Annotated[str | None, typer.Option(help="open or closed (default: both).")] = None,
    state: Annotated[
        Path | None,
        typer.Option(help="State file for incremental pulls (default .cme-pull-LA.json)."),
    ] = None,
    full: Annotated[bool, typer.Option(help="Ignore the state file and pull everything.")] = False,
) -> None:
    """Pull your authority's CME cases, incrementally, to CSV or NDJSON."""
    if output_format not in ("csv", "ndjson"):
        raise typer.BadParameter("--format must be csv or ndjson")
    if out is not None and not out.parent.is_dir():
        raise fail(f"cannot write {out}: there is no directory {out.parent}.")
    state_file = state or Path(f".cme-pull-{la}.json")
    since = None if full or not state_file.exists() else _since(state_file)
    with Service(base_url=base_url, client_id=client_id, key_file=key) as service:
        cases = list(_pages(service, la=la, status=status, since=since))
    _write(cases, out, output_format)
    newest = max((c.updated_at for c in cases), default=None)
    if newest is not None:
        state_file.write_text(json.dumps({"updated_since": newest.isoformat()}) + "\n")
    note(
        f"{len(cases)} case(s)"
        + (f" changed since {since}" if since else "")
        + f"; state in {state_file}"
    )


def _pages(
    service: Service, *, la: str, status: str | None, since: str | None
) -> Iterator[CaseOut]:
    params: dict[str, Any] = {"limit": PAGE_SIZE}
    if status:
        params["status"] = status
    if since:
        params["updated_since"] = since
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,
    ) as bar:
        task = bar.add_task("pulling cases", total=None)
        count = 0
        path = f"/v1/local-authorities/{la}/cme-cases"
        for page in pages(service, path, params=params, what="case list"):
            for item in page["items"]:
                count += 1
                yield CaseOut.model_validate(item)
            bar.update(task, description=f"pulling cases: {count}")


def _since(state_file: Path) -> str:
    try:
        return str(json.loads(state_file.read_text("utf-8"))["updated_since"])
    except (OSError, ValueError, KeyError, TypeError):
        raise fail(
            f"the state file {state_file} is unreadable: pull everything with --full, "
            "which writes it anew."
        ) from None


def _write(cases: list[CaseOut], out: Path | None, output_format: str) -> None:
    try:
        target: AbstractContextManager[IO[str]] = (
            out.open("w", encoding="utf-8", newline="") if out else nullcontext(sys.stdout)
        )
    except OSError as error:
        raise fail(f"cannot write {out}: {error.strerror or error}.") from None
    with target as handle:
        if output_format == "csv":
            handle.write(cases_csv(cases))
        else:
            for case in cases:
                handle.write(case.model_dump_json() + "\n")
