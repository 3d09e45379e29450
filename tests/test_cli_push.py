"""`cme push` honours --submission-id, --lhb, --extract-type and --extracted-at or refuses
them, never ignores them; and sending the same file again is a replay, never a conflict."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.store.db import make_engine
from services.store.tables import Submission
from tests.cli import Registered, assert_one_line_error, cme, register
from tests.conftest import free_port
from tests.factories import health_record, submission_body

TAKEN = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)


@pytest.fixture
def board(service: str, tmp_path: Path) -> Registered:
    return register(
        tmp_path, org="7A4", scopes=["submissions:write", "submissions:read"], name="board"
    )


@pytest.fixture
def record_list(tmp_path: Path) -> Path:
    path = tmp_path / "extract.json"
    path.write_text(json.dumps([health_record(1), health_record(2)]))
    os.utime(path, (TAKEN.timestamp(), TAKEN.timestamp()))
    return path


def push(board: Registered, extract: Path, *options: str) -> Any:
    return cme(
        "push", extract, "--client-id", board.client_id, "--key", board.private_key, *options
    )


def stored(database_url: str) -> list[tuple[str, datetime]]:
    engine = make_engine(database_url)
    with Session(engine) as session:
        rows = session.execute(
            select(Submission.submission_id, Submission.extracted_at).order_by(
                Submission.received_at
            )
        ).all()
    engine.dispose()
    return [(row[0], row[1]) for row in rows]


def test_sending_the_same_file_again_is_a_replay(
    board: Registered, record_list: Path, database_url: str
) -> None:
    first = push(board, record_list, "--lhb", "7A4", "--json")
    again = push(board, record_list, "--lhb", "7A4", "--json")
    told = push(board, record_list, "--lhb", "7A4")

    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert "already received" in told.stderr
    [(submission_id, extracted_at)] = stored(database_url)
    assert submission_id == json.loads(first.stdout)["submission_id"]
    assert extracted_at == TAKEN  # the file's modification time


def test_a_copy_with_a_new_modification_time_is_a_new_extract_not_a_conflict(
    board: Registered, record_list: Path, tmp_path: Path, database_url: str
) -> None:
    copy = tmp_path / "copy.json"
    shutil.copyfile(record_list, copy)  # a plain copy: a new modification time

    first = push(board, record_list, "--lhb", "7A4", "--json")
    second = push(board, copy, "--lhb", "7A4", "--json")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert len(stored(database_url)) == 2


def test_submission_id_and_extracted_at_are_honoured_for_a_list_of_records(
    board: Registered, record_list: Path, database_url: str
) -> None:
    chosen = "3f0e9c1e-6b1a-4c1e-9f4e-2d7b8a1c0e55"

    result = push(
        board,
        record_list,
        "--lhb",
        "7A4",
        "--submission-id",
        chosen,
        "--extracted-at",
        "2026-01-16T03:00:00Z",
        "--json",
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["submission_id"] == chosen
    assert stored(database_url) == [(chosen, datetime(2026, 1, 16, 3, 0, tzinfo=UTC))]


def test_options_agreeing_with_a_whole_submission_are_accepted(
    board: Registered, tmp_path: Path
) -> None:
    document = submission_body([health_record(1)], extracted_at=TAKEN)
    extract = tmp_path / "submission.json"
    extract.write_text(json.dumps(document))

    result = push(
        board,
        extract,
        "--lhb",
        "7A4",
        "--submission-id",
        document["submission_id"].upper(),
        "--extracted-at",
        "2026-01-15T02:00:00+00:00",
        "--extract-type",
        "full",
        "--json",
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["submission_id"] == document["submission_id"]


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("--submission-id", "3f0e9c1e-6b1a-4c1e-9f4e-2d7b8a1c0e55", "submission_id"),
        ("--lhb", "7A3", "lhb_code"),
        ("--extract-type", "delta", "extract_type"),
        ("--extracted-at", "2026-01-16T02:00:00Z", "extracted_at"),
    ],
)
def test_an_option_contradicting_a_whole_submission_is_refused_before_sending(
    option: str, value: str, field: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CME_PUBLIC_BASE_URL", f"http://127.0.0.1:{free_port()}")  # nobody
    extract = tmp_path / "submission.json"
    extract.write_text(json.dumps(submission_body([health_record(1)], extracted_at=TAKEN)))
    key = tmp_path / "unused.pem"

    result = cme("push", extract, "--client-id", "cli_x", "--key", key, option, value)

    assert_one_line_error(result, f"{option} {value} contradicts the extract's {field}")


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ([], "--lhb is required"),
        (["--lhb", "7A4", "--submission-id", "not-a-uuid"], "--submission-id must be a UUID"),
        (["--lhb", "7A4", "--extracted-at", "2026-01-16T02:00:00"], "with its offset"),
        (["--lhb", "7A4", "--extract-type", "weekly"], "full or delta"),
    ],
)
def test_a_list_of_records_needs_sound_options(
    options: list[str], says: str, record_list: Path, tmp_path: Path
) -> None:
    result = cme(
        "push", record_list, "--client-id", "cli_x", "--key", tmp_path / "unused.pem", *options
    )

    assert_one_line_error(result, says, exit_code=2)
