"""The authority's side through the CLI alone, over a real socket: `cme token`,
`cme education upload` (JSON or CSV, `--as-of`, `--charset`, `--wait`, `--json`),
`cme reconciliations list` and `cme pull`, found through CME_PUBLIC_BASE_URL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from services.store.db import make_engine
from services.store.tables import Reconciliation
from tests.cli import Registered, assert_one_line_error, cme, register
from tests.factories import education_record

CARDIFF = "W06000015"
LA_SCOPES = ["education:write", "cme:read", "cme:write"]


@pytest.fixture
def authority(service: str, tmp_path: Path) -> Registered:
    return register(tmp_path, org=CARDIFF, scopes=LA_SCOPES, name="cardiff")


@pytest.fixture
def population(service: str, tmp_path: Path) -> Path:
    """A synthetic population (`cme synth`) whose health extract the board has pushed."""
    out = tmp_path / "synth"
    made = cme("synth", "--la", CARDIFF, "--children", "60", "--seed", "7", "--out", out)
    assert made.exit_code == 0, made.output
    board = register(
        tmp_path, org="7A4", scopes=["submissions:write", "submissions:read"], name="board"
    )
    pushed = cme("push", out / "health-extract-7A4.json", *board.options)
    assert pushed.exit_code == 0, pushed.output
    return out


def upload(authority: Registered, path: Path, *options: str) -> Any:
    return cme(
        "education",
        "upload",
        path,
        "--la",
        CARDIFF,
        *authority.options,
        *options,
    )


def test_token_prints_the_token_response(authority: Registered) -> None:
    every = cme("token", *authority.options)
    narrowed = cme(
        "token",
        *authority.options,
        "--scope",
        "cme:read",
    )

    assert every.exit_code == 0, every.output
    answer = json.loads(every.stdout)
    assert set(answer) == {"access_token", "token_type", "expires_in", "scope"}
    assert answer["token_type"] == "Bearer"
    assert 0 < answer["expires_in"] <= 900
    assert sorted(answer["scope"].split()) == sorted(LA_SCOPES)
    assert narrowed.exit_code == 0, narrowed.output
    assert json.loads(narrowed.stdout)["scope"] == "cme:read"


def test_a_token_for_another_address_names_the_audience_the_service_expects(
    service: str, authority: Registered
) -> None:
    other_name = service.replace("127.0.0.1", "localhost")

    result = cme(
        "token",
        *authority.options,
        "--base-url",
        other_name,
    )

    assert_one_line_error(
        result,
        f"aud must be the token endpoint URL, {service}/oauth2/token",
        "--base-url",
        exit_code=1,
    )


def test_upload_wait_json_gives_the_receipt_with_the_final_run_then_pull_finds_the_cases(
    population: Path, authority: Registered, tmp_path: Path
) -> None:
    uploaded = upload(authority, population / f"education-{CARDIFF}.json", "--wait", "--json")

    assert uploaded.exit_code == 0, uploaded.output
    assert uploaded.stdout.count("\n") == 1
    receipt = json.loads(uploaded.stdout)
    run = receipt["reconciliation"]
    assert receipt["la_code"] == CARDIFF
    assert run["reconciliation_id"] == receipt["reconciliation_id"] is not None
    assert run["status"] == "succeeded"
    assert run["summary"]["health_records_considered"] == 60
    listed = cme(
        "reconciliations",
        "list",
        "--la",
        CARDIFF,
        *authority.options,
        "--json",
    )
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["items"] == [run]  # as the single-run GET gives it

    cases = tmp_path / "cases.ndjson"
    pulled = cme(
        "pull",
        "--la",
        CARDIFF,
        *authority.options,
        "--format",
        "ndjson",
        "--out",
        cases,
        "--state",
        tmp_path / "state.json",
    )
    assert pulled.exit_code == 0, pulled.output
    assert len(cases.read_text().splitlines()) == run["summary"]["cases_open"] > 0


def test_upload_wait_follows_the_run_and_prints_its_summary(
    population: Path, authority: Registered
) -> None:
    uploaded = upload(authority, population / f"education-{CARDIFF}.json", "--wait")

    assert uploaded.exit_code == 0, uploaded.output
    assert uploaded.stdout == ""
    assert f"education records for {CARDIFF}" in uploaded.stderr
    assert "cases opened" in uploaded.stderr
    assert "health records considered" in uploaded.stderr
    assert f"cme pull --la {CARDIFF}" in uploaded.stderr


def test_upload_wait_without_health_records_says_no_run_was_queued(
    authority: Registered, tmp_path: Path
) -> None:
    records = tmp_path / "education.json"
    records.write_text(json.dumps({"as_of": "2026-01-20", "records": [education_record(1)]}))

    uploaded = upload(authority, records, "--wait", "--json")
    told = upload(authority, records, "--wait")

    assert uploaded.exit_code == 0, uploaded.output
    receipt = json.loads(uploaded.stdout)
    assert receipt["reconciliation_id"] is None
    assert receipt["reconciliation"] is None
    assert told.exit_code == 0, told.output
    assert "no reconciliation queued" in told.stderr


def test_csv_and_record_lists_take_their_date_from_as_of(
    authority: Registered, tmp_path: Path
) -> None:
    csv_file = tmp_path / "education.csv"
    csv_file.write_text(
        "record_id,given_name,family_name,date_of_birth,provision\n"
        "e1,Mali,Evans,2016-01-05,maintained_school\n"
    )
    record_list = tmp_path / "records.json"
    record_list.write_text(json.dumps([education_record(1), education_record(2)]))
    dated = tmp_path / "dated.json"
    dated.write_text(json.dumps({"as_of": "2026-01-20", "records": [education_record(1)]}))

    undated_csv = upload(authority, csv_file, "--json")
    undated_list = upload(authority, record_list, "--json")
    contradicted = upload(authority, dated, "--as-of", "2026-02-01")
    from_csv = upload(authority, csv_file, "--as-of", "2026-01-31", "--json")
    from_list = upload(authority, record_list, "--as-of", "2026-01-30", "--json")

    assert_one_line_error(undated_csv, "no as_of column", "--as-of", exit_code=2)
    assert_one_line_error(undated_list, "list of records", "--as-of", exit_code=2)
    assert_one_line_error(contradicted, "contradicts", "2026-01-20", exit_code=2)
    assert from_csv.exit_code == 0, from_csv.output
    assert json.loads(from_csv.stdout)["as_of"] == "2026-01-31"
    assert from_list.exit_code == 0, from_list.output
    assert json.loads(from_list.stdout)["record_count"] == 2


def test_a_spreadsheets_windows_1252_csv_is_sent_with_its_charset(
    authority: Registered, tmp_path: Path
) -> None:
    spreadsheet = tmp_path / "education.csv"
    spreadsheet.write_bytes(
        (
            "as_of,record_id,given_name,family_name,date_of_birth,provision\r\n"
            "2026-01-20,e1,Siân,Gruffydd,2016-01-05,maintained_school\r\n"
        ).encode("cp1252")
    )

    result = upload(authority, spreadsheet, "--charset", "windows-1252", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["record_count"] == 1


def test_validation_errors_print_every_problem_with_its_pointer(
    authority: Registered, tmp_path: Path
) -> None:
    records = tmp_path / "education.json"
    records.write_text(
        json.dumps(
            {
                "as_of": "2026-01-20",
                "records": [
                    education_record(1, provision="ehe", provider_name=None),
                    education_record(2, upn="A681000012345"),
                ],
            }
        )
    )

    result = upload(authority, records, "--json")

    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    first, *problems = result.stderr.splitlines()
    assert "validation_failed" in first
    assert sorted(line.split()[0] for line in problems) == [
        "/records/0/ehe_suitability",
        "/records/1/upn",
    ]


def test_reconciliations_list_shows_the_newest_first(
    service: str, database_url: str, authority: Registered
) -> None:
    start = datetime(2026, 1, 20, 2, 0, tzinfo=UTC)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    engine = make_engine(database_url)
    with Session(engine) as session:
        for hours, run_id in enumerate(ids):
            session.add(
                Reconciliation(
                    reconciliation_id=run_id,
                    la_code=CARDIFF,
                    status="failed",
                    trigger="manual",
                    created_at=start + timedelta(hours=hours),
                    attempts=1,
                    error_code="worker_lost",
                )
            )
        session.commit()
    engine.dispose()
    options = ["--la", CARDIFF, *authority.options]

    everything = cme("reconciliations", "list", *options, "--json")
    newest_two = cme("reconciliations", "list", *options, "--limit", "2", "--json")
    for_people = cme("reconciliations", "list", *options)

    assert everything.exit_code == 0, everything.output
    assert [run["reconciliation_id"] for run in json.loads(everything.stdout)["items"]] == ids[::-1]
    page = json.loads(newest_two.stdout)
    assert [run["reconciliation_id"] for run in page["items"]] == ids[:0:-1]
    assert page["next_cursor"] is not None
    assert [line.split()[0] for line in for_people.stdout.splitlines()] == ids[::-1]
