"""The newcomer's walk-through, end to end over real HTTP: generate a key, register a
client, serve, and push a CSV and a JSON extract with `cme push` (`service`: conftest.py)."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cli.extracts import csv_header, row_from_record
from cli.main import app as cme
from services.store.db import make_engine, session_factory
from services.synthetic import generate_health_records
from tests.factories import make_case


def _records(count: int) -> list[dict[str, object]]:
    return generate_health_records(
        count=count, la_codes=["W06000015"], reference_date=date.today(), seed=11
    )


def test_generate_register_and_push(service: str, tmp_path: Path) -> None:
    runner = CliRunner()
    private, public = tmp_path / "board.pem", tmp_path / "board.jwk"
    generated = runner.invoke(
        cme, ["keys", "generate", "--private-key", str(private), "--public-key", str(public)]
    )
    assert generated.exit_code == 0, generated.output
    registered = runner.invoke(
        cme,
        [
            "clients",
            "add",
            "--org",
            "7A4",
            "--name",
            "Cardiff and Vale extract",
            "--scope",
            "submissions:write",
            "--scope",
            "submissions:read",
            "--public-key",
            str(public),
            "--json",
        ],
    )
    assert registered.exit_code == 0, registered.output
    client_id = json.loads(registered.stdout)["client_id"]

    records = _records(30)
    extract_csv = tmp_path / "extract.csv"
    with extract_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=csv_header())
        writer.writeheader()
        writer.writerows(row_from_record(r) for r in records)
    extract_json = tmp_path / "extract.json"
    extract_json.write_text(json.dumps(records), "utf-8")

    for extract in (extract_csv, extract_json):
        pushed = runner.invoke(
            cme,
            [
                "push",
                str(extract),
                "--client-id",
                client_id,
                "--key",
                str(private),
                "--base-url",
                service,
                "--lhb",
                "7A4",
                "--json",
            ],
        )
        assert pushed.exit_code == 0, pushed.output
        receipt = json.loads(pushed.stdout.strip().splitlines()[-1])
        assert receipt["status"] == "accepted"
        assert receipt["record_count"] == 30


def test_push_prints_validation_errors_and_fails(service: str, tmp_path: Path) -> None:
    runner = CliRunner()
    private, public = tmp_path / "board.pem", tmp_path / "board.jwk"
    runner.invoke(
        cme, ["keys", "generate", "--private-key", str(private), "--public-key", str(public)]
    )
    registered = runner.invoke(
        cme,
        [
            "clients",
            "add",
            "--org",
            "7A4",
            "--name",
            "x",
            "--scope",
            "submissions:write",
            "--public-key",
            str(public),
            "--json",
        ],
    )
    client_id = json.loads(registered.stdout)["client_id"]
    bad = _records(2)
    bad[1]["nhs_number"] = "9990001234"
    extract = tmp_path / "bad.json"
    extract.write_text(json.dumps(bad), "utf-8")

    pushed = runner.invoke(
        cme,
        [
            "push",
            str(extract),
            "--client-id",
            client_id,
            "--key",
            str(private),
            "--base-url",
            service,
            "--lhb",
            "7A4",
        ],
    )

    assert pushed.exit_code == 1
    assert "/records/1/nhs_number" in pushed.output
    assert "nhs_number_checksum" in pushed.output


def add_cases(database_url: str, *cases: dict[str, Any]) -> None:
    """Cases written straight to the database, as reconciliation would leave them."""
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            for fields in cases:
                make_case(session, **fields)
    finally:
        engine.dispose()


def test_pull_follows_cursors_and_is_incremental(
    service: str, database_url: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    private, public = tmp_path / "la.pem", tmp_path / "la.jwk"
    runner.invoke(
        cme, ["keys", "generate", "--private-key", str(private), "--public-key", str(public)]
    )
    registered = runner.invoke(
        cme,
        [
            "clients",
            "add",
            "--org",
            "W06000015",
            "--name",
            "Cardiff CME",
            "--scope",
            "cme:read",
            "--public-key",
            str(public),
            "--json",
        ],
    )
    client_id = json.loads(registered.stdout)["client_id"]
    add_cases(database_url, {}, {}, {}, {"la_code": "W06000022"})
    state = tmp_path / "state.json"
    out = tmp_path / "cases.ndjson"
    base = [
        "pull",
        "--la",
        "W06000015",
        "--client-id",
        client_id,
        "--key",
        str(private),
        "--base-url",
        service,
        "--state",
        str(state),
    ]

    first = runner.invoke(cme, [*base, "--format", "ndjson", "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert len(out.read_text().splitlines()) == 3
    assert state.exists()

    add_cases(database_url, {"child": {"given_name": "Nia"}})
    second = runner.invoke(cme, [*base, "--format", "csv", "--out", str(tmp_path / "new.csv")])

    assert second.exit_code == 0, second.output
    lines = (tmp_path / "new.csv").read_text().splitlines()
    assert len(lines) == 2  # header + the one case changed since the first pull
    assert "Nia" in lines[1]
