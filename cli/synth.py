"""`cme synth`: write a synthetic population with ground truth, for demos and benchmarks.

Per covering health board a full submission body (what `cme push` sends), per authority the
education records body (what an LA PUTs) and a truth file saying what each child really is.
Everything is made up: no real child is in these files.
"""

from __future__ import annotations

import csv
import json
import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from schemas.organisations import organisation
from services.synthetic import (
    TRUTH_CATEGORIES,
    ErrorModel,
    Population,
    build_submission,
    generate_population,
)

console = Console()
# Extracts are run overnight; 02:00 UTC on the as-of date is as good a time as any.
_EXTRACT_TIME = time(2, 0, tzinfo=UTC)


def synth(
    la: Annotated[
        list[str], typer.Option("--la", help="GSS code of a Welsh local authority (repeatable).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Directory to write into.")],
    children: Annotated[
        int, typer.Option("--children", min=1, help="Children on the GP list per authority.")
    ] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same population.")] = 1,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Reference date (YYYY-MM-DD); default today.")
    ] = None,
    errors: Annotated[
        ErrorModel,
        typer.Option(
            "--errors",
            help="How a child's two records differ: 'classic' (the model the engine was"
            " first built against) or 'independent' (written apart from the engine, with"
            " namesakes and harder twins).",
        ),
    ] = "classic",
) -> None:
    """Write a synthetic population: health extracts, education records and the truth."""
    try:
        reference_date = date.fromisoformat(as_of) if as_of else date.today()
        population = generate_population(
            la_codes=la,
            children_per_authority=children,
            reference_date=reference_date,
            seed=seed,
            error_model=errors,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    out.mkdir(parents=True, exist_ok=True)
    written = write_population(population, out=out, seed=seed)
    console.print(_summary(population))
    for path in written:
        console.print(f"wrote {path}")


def write_population(population: Population, *, out: Path, seed: int) -> list[Path]:
    """The files `cme synth` writes, in the order written."""
    written: list[Path] = []
    by_board: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in population.health_records:
        by_board[_covering_board(record["local_authority_code"])].append(record)
    # Submission ids from the seed, so rerunning writes byte-identical files.
    rng = random.Random(seed)  # noqa: S311 - reproducible ids, not secrets
    extracted_at = datetime.combine(population.reference_date, _EXTRACT_TIME)
    for lhb_code, records in sorted(by_board.items()):
        submission = build_submission(
            lhb_code=lhb_code,
            records=records,
            extracted_at=extracted_at,
            submission_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        )
        written.append(_write_json(out / f"health-extract-{lhb_code}.json", submission))
    for la_code, education_records in population.education_records_by_la.items():
        body = {"as_of": population.reference_date.isoformat(), "records": education_records}
        written.append(_write_json(out / f"education-{la_code}.json", body))
        path = out / f"truth-{la_code}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["record_id", "category", "education_record_id"])
            for record_id, truth in population.truth.items():
                if truth.local_authority_code == la_code:
                    writer.writerow([record_id, truth.category, truth.education_record_id or ""])
        written.append(path)
    return written


def _covering_board(la_code: str) -> str:
    found = organisation(la_code)
    if found is None or found.lhb_code is None:
        raise ValueError(f"no covering health board for {la_code}")
    return found.lhb_code


def _write_json(path: Path, body: dict[str, Any]) -> Path:
    path.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def _summary(population: Population) -> Table:
    la_codes = list(population.education_records_by_la)
    counts = Counter(
        (truth.local_authority_code, truth.category) for truth in population.truth.values()
    )
    table = Table(title=f"Synthetic population on {population.reference_date.isoformat()}")
    table.add_column("category")
    for la_code in la_codes:
        table.add_column(la_code, justify="right")
    for category in TRUTH_CATEGORIES:
        table.add_row(category, *(f"{counts[(la_code, category)]:,}" for la_code in la_codes))
    table.add_section()
    health = Counter(truth.local_authority_code for truth in population.truth.values())
    table.add_row("health records", *(f"{health[la_code]:,}" for la_code in la_codes))
    table.add_row(
        "education records",
        *(f"{len(population.education_records_by_la[la_code]):,}" for la_code in la_codes),
    )
    return table
