"""`cme reconciliations list`, and following one run to its end (`cme education upload
--wait`): an authority's reconciliations as the service shows them."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cli.client import (
    DEFAULT_BASE_URL,
    BaseUrl,
    ClientId,
    KeyFile,
    LaCode,
    Service,
    pages,
    refused,
)
from cli.console import EXIT_REFUSED, fail, note, show_counts, stderr

FINISHED = ("succeeded", "failed")
_POLL_SECONDS = 1.0
_PAGE_LIMIT = 100  # the largest page the service gives


def list_runs(
    la: LaCode,
    client_id: ClientId,
    key: KeyFile,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    limit: Annotated[int, typer.Option(min=1, help="How many runs, newest first.")] = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print one JSON object: {"items": [...], ...}.')
    ] = False,
) -> None:
    """List the authority's reconciliations, newest first."""
    with Service(base_url=base_url, client_id=client_id, key_file=key) as service:
        runs, next_cursor = _newest_runs(service, la=la, limit=limit)
    if as_json:
        sys.stdout.write(json.dumps({"items": runs, "next_cursor": next_cursor}) + "\n")
        return
    if not runs:
        note(f"no reconciliations for {la} yet")
        return
    # One line a run (ids are long; a table would wrap them in a narrow terminal).
    for run in runs:
        typer.echo(
            f"{run['reconciliation_id']}  {run['status']:<9}  {_when(run['created_at'])}  "
            f"{run['trigger']:<17}  {_outcome(run)}"
        )


def _newest_runs(
    service: Service, *, la: str, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    runs: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": min(limit, _PAGE_LIMIT)}
    path = f"/v1/local-authorities/{la}/reconciliations"
    next_cursor = None
    for page in pages(service, path, params=params, what="reconciliation list"):
        runs.extend(page["items"])
        next_cursor = page["next_cursor"]
        if len(runs) >= limit:
            break
        params["limit"] = min(limit - len(runs), _PAGE_LIMIT)
    return runs, next_cursor


def wait_for_run(service: Service, *, la: str, reconciliation_id: str) -> dict[str, Any]:
    """Follow a run to its end, showing its stage; its final state as the service gives it."""
    path = f"/v1/local-authorities/{la}/reconciliations/{reconciliation_id}"
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,  # no progress displays in logs
    ) as display:
        task = display.add_task(f"reconciliation {reconciliation_id}", total=None)
        shown = ""
        try:
            while True:
                response = service.request("GET", path)
                if response.status_code != 200:
                    raise refused(response, what="reading the reconciliation")
                run: dict[str, Any] = response.json()
                if run["status"] in FINISHED:
                    return run
                stage = f"reconciliation {reconciliation_id}: {_outcome(run)}"
                if stage != shown:
                    display.update(task, description=stage)
                    if not stderr.is_terminal:  # a log gets each stage once instead
                        note(stage)
                    shown = stage
                time.sleep(_POLL_SECONDS)
        except KeyboardInterrupt:
            raise fail(
                f"stopped waiting; reconciliation {reconciliation_id} goes on: "
                f"`cme reconciliations list --la {la}` shows how it ends.",
                exit_code=130,
            ) from None


def show_run(run: dict[str, Any]) -> None:
    """A finished run for people: its counts, or why it failed (exits non-zero then)."""
    if run["status"] == "failed":
        raise fail(
            f"reconciliation {run['reconciliation_id']} failed ({run['error_code']}): "
            "the operator finds the reason in the service's log under this id.",
            exit_code=EXIT_REFUSED,
        )
    show_counts(f"reconciliation {run['reconciliation_id']}", run["summary"] or {})


def _outcome(run: dict[str, Any]) -> str:
    if run["status"] == "succeeded" and run["summary"]:
        summary = run["summary"]
        return f"{summary['cases_opened']} opened, {summary['cases_open']} open"
    if run["status"] == "failed":
        return f"failed: {run['error_code']}"
    stage = (run.get("progress") or {}).get("stage")
    return f"{run['status']}: {stage}" if stage else str(run["status"])


def _when(timestamp: str | None) -> str:
    return "" if timestamp is None else timestamp[:19].replace("T", " ")
