"""Children found not missing leave no copy behind in the database's own files: not in
SQLite's write-ahead log, and PostgreSQL vacuums the tables they were deleted from."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import services.reconciliation.worker
import services.store.db
from cli.main import app as cme
from services.linkage import LinkageSettings
from services.reconciliation.worker import work_once
from services.settings import get_settings
from services.store.db import clear_deleted_residue
from tests.factories import (
    Credentials,
    education_record,
    encode,
    health_record,
    make_case,
    nhs_number,
    post_submission,
    put_education_records,
    submission_body,
)

GIVEN = ["Anwen", "Bethan", "Carys", "Dylan", "Elin", "Ffion", "Gethin", "Hywel", "Iestyn"]
FAMILY = ["Bowen", "Cadwaladr", "Davies", "Evans", "Griffiths", "Howells", "Jenkins", "Lloyd"]


def _child(index: int) -> dict[str, object]:
    return {
        "given_name": GIVEN[index % len(GIVEN)],
        "family_name": FAMILY[index % len(FAMILY)] + "-" + FAMILY[(index // 3) % len(FAMILY)],
        "date_of_birth": f"201{3 + index % 5}-0{1 + index % 9}-1{index % 10}",
        "nhs_number": nhs_number(7000 + 17 * index),
        "address": {"lines": [f"{index} Heol y Bont"], "postcode": "CF11 9AB"},
    }


AT_SCHOOL = [_child(i) for i in range(24)]
# Where the run deletes children's details (and the raw bodies that carried them).
VACUUMED = ["health_records", "education_records", "submissions"]
MISSING = [_child(i) for i in range(100, 103)]


def _reconcile(app: FastAPI, http: TestClient, board: Credentials, cardiff: Credentials) -> None:
    records = [
        health_record(i, record_id=f"h-{i}", **child) for i, child in enumerate(AT_SCHOOL + MISSING)
    ]
    assert post_submission(http, board, encode(submission_body(records))).status_code == 201
    on_roll = [education_record(i, **child) for i, child in enumerate(AT_SCHOOL)]
    assert put_education_records(http, cardiff, on_roll).status_code == 200
    assert work_once(sessions=app.state.sessions, settings=LinkageSettings()) is not None


def _database_files(database_url: str) -> bytes:
    path = Path(database_url.removeprefix("sqlite:///"))
    found = b""
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if name.exists():
            found += name.read_bytes()
    return found


def _numbers_in(files: bytes, children: list[dict[str, object]]) -> list[str]:
    return [str(c["nhs_number"]) for c in children if str(c["nhs_number"]).encode() in files]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_children_not_missing_are_in_no_file_of_the_sqlite_database(
    app: FastAPI,
    http: TestClient,
    board: Credentials,
    cardiff: Credentials,
    database_url: str,
) -> None:
    _reconcile(app, http, board, cardiff)

    files = _database_files(database_url)

    assert _numbers_in(files, AT_SCHOOL) == []
    # The scan reads what is there: the missing children's cases keep their numbers.
    assert _numbers_in(files, MISSING) == [str(c["nhs_number"]) for c in MISSING]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_without_the_checkpoint_the_write_ahead_log_would_keep_them(
    app: FastAPI,
    http: TestClient,
    board: Credentials,
    cardiff: Credentials,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control: what the test above proves is not a property of the data."""
    monkeypatch.setattr(
        services.reconciliation.worker,
        "clear_deleted_residue",
        lambda _engine: True,
        raising=False,
    )
    _reconcile(app, http, board, cardiff)

    wal = Path(f"{database_url.removeprefix('sqlite:///')}-wal").read_bytes()

    assert _numbers_in(wal, AT_SCHOOL) == [str(c["nhs_number"]) for c in AT_SCHOOL]


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("CME_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_erased_and_purged_cases_are_in_no_file_of_the_sqlite_database(
    http: TestClient, db: Session, cli_env: CliRunner, database_url: str
) -> None:
    """The service is running (its connections keep the write-ahead log) while the operator
    erases one case and purges another past retention."""
    erased, purged = nhs_number(8101), nhs_number(8102)
    case = make_case(db, child={"nhs_number": erased})
    long_ago = datetime.now(UTC) - timedelta(days=400)
    make_case(
        db,
        status="closed",
        outcome="not_traced",
        closed_at=long_ago,
        child={"nhs_number": purged},
    )
    db.rollback()
    assert erased.encode() in _database_files(database_url)

    assert cli_env.invoke(cme, ["erase", "--case-id", case.case_id]).exit_code == 0
    assert erased.encode() not in _database_files(database_url)
    assert purged.encode() in _database_files(database_url)
    assert cli_env.invoke(cme, ["purge"]).exit_code == 0
    assert purged.encode() not in _database_files(database_url)


def _last_vacuums(db: Session) -> dict[str, datetime | None]:
    db.rollback()  # the statistics are read once per transaction
    rows = db.execute(
        text("SELECT relname, last_vacuum FROM pg_stat_user_tables WHERE relname = ANY(:names)"),
        {"names": VACUUMED},
    )
    vacuums = {str(name): last for name, last in rows}
    db.rollback()
    return vacuums


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_vacuums_the_tables_children_were_deleted_from(
    app: FastAPI,
    http: TestClient,
    board: Credentials,
    cardiff: Credentials,
    db: Session,
) -> None:
    before = _last_vacuums(db)

    _reconcile(app, http, board, cardiff)

    after = _last_vacuums(db)
    assert set(after) == set(VACUUMED)
    for table, last in after.items():
        assert last is not None, table
        assert last != before.get(table), table


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_reader_holding_the_log_delays_the_truncation_and_is_logged(
    app: FastAPI,
    db: Session,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(services.store.db, "_CHECKPOINT_WAIT_SECONDS", 0.05)
    path = database_url.removeprefix("sqlite:///")
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM cme_cases").fetchone()  # holds its snapshot
        make_case(db, child={"nhs_number": nhs_number(8201)})
        db.rollback()

        held = clear_deleted_residue(app.state.engine)
        reader.execute("COMMIT")
    finally:
        reader.close()
    released = clear_deleted_residue(app.state.engine)

    assert (held, released) == (False, True)
    warning = next(r for r in caplog.records if r.getMessage().startswith("write-ahead log"))
    assert warning.__dict__["wal_frames"] > 0
    assert Path(f"{path}-wal").stat().st_size == 0
