"""Migration 0012: a health record still refers to its board's submission, checked once per
statement by triggers instead of once per row by a foreign key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import psycopg
import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.store.bulk import RowStream
from services.store.db import make_engine
from services.store.tables import HealthRecord
from tests.test_migration_0008 import HEALTH_RECORD, SUBMISSION, SUBMISSION_ID, _migrate

OTHER_ID = "9b2d7c1e-0a4f-4c6e-8d1b-5e3f2a1c0d77"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    yield made
    made.dispose()


def _row(record: str, submission_id: str = SUBMISSION_ID, lhb: str = "7A4") -> dict[str, object]:
    return {"lhb": lhb, "record": record, "id": submission_id}


def _one_submission_with_a_record(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text(SUBMISSION), {"id": SUBMISSION_ID, "lhb": "7A4"})
        connection.execute(text(HEALTH_RECORD), _row("cav-1"))


def _refused(engine: Engine, statement: str, parameters: dict[str, object]) -> None:
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text(statement), parameters)


def test_health_records_carry_no_per_row_foreign_key(engine: Engine) -> None:
    with engine.connect() as connection:
        assert inspect(connection).get_foreign_keys("health_records") == []


def test_a_record_needs_its_own_boards_submission(engine: Engine) -> None:
    _one_submission_with_a_record(engine)

    _refused(engine, HEALTH_RECORD, _row("cav-2", submission_id=OTHER_ID))
    # The same submission_id of another board is another submission.
    _refused(engine, HEALTH_RECORD, _row("bcu-1", lhb="7A1"))
    _refused(
        engine,
        "UPDATE health_records SET submission_id = :id WHERE record_id = 'cav-1'",
        {"id": OTHER_ID},
    )
    with engine.connect() as connection:
        assert connection.execute(
            text("SELECT record_id, submission_id FROM health_records")
        ).all() == [("cav-1", SUBMISSION_ID)]


def test_a_submission_with_records_is_neither_deleted_nor_rekeyed(engine: Engine) -> None:
    _one_submission_with_a_record(engine)

    _refused(engine, "DELETE FROM submissions WHERE submission_id = :id", {"id": SUBMISSION_ID})
    _refused(
        engine,
        "UPDATE submissions SET submission_id = :other WHERE submission_id = :id",
        {"id": SUBMISSION_ID, "other": OTHER_ID},
    )
    with engine.begin() as connection:
        # Its other columns change freely (the receipt is filled in after the records).
        connection.execute(text("UPDATE submissions SET record_count = 2"))
        # A submission without records goes, and so does one whose records went first.
        connection.execute(text(SUBMISSION), {"id": OTHER_ID, "lhb": "7A4"})
        connection.execute(
            text("DELETE FROM submissions WHERE submission_id = :id"), {"id": OTHER_ID}
        )
        connection.execute(text("DELETE FROM health_records"))
        connection.execute(text("DELETE FROM submissions"))


def test_records_copied_in_bulk_are_checked_too(engine: Engine) -> None:
    """On PostgreSQL a COPY, checked once at its end; elsewhere batched inserts."""
    row: dict[str, object] = {
        "lhb_code": "7A4",
        "record_id": "cav-9",
        "submission_id": OTHER_ID,
        "local_authority_code": "W06000015",
        "address_last_known": None,
        "gp_practice_code": None,
        "sensitive": False,
        "nhs_number": None,
        "given_name": "Cerys",
        "middle_names": None,
        "family_name": "Jones",
        "former_names": [],
        "date_of_birth": date(2015, 3, 2),
        "sex": None,
        "address_lines": None,
        "postcode": None,
    }
    _one_submission_with_a_record(engine)
    # A COPY's error comes from the driver itself, not through SQLAlchemy.
    with pytest.raises((IntegrityError, psycopg.IntegrityError)):
        _load(engine, dict(row))
    _load(engine, dict(row, submission_id=SUBMISSION_ID))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM health_records")).scalar() == 2


def _load(engine: Engine, row: dict[str, object]) -> None:
    with Session(engine) as session, session.begin(), RowStream(session, HealthRecord) as rows:
        rows.add([row])


def test_downgrade_puts_the_foreign_key_back(engine: Engine) -> None:
    _one_submission_with_a_record(engine)
    with engine.begin() as connection:
        _migrate(connection, "0011", down=True)
    with engine.connect() as connection:
        (foreign_key,) = inspect(connection).get_foreign_keys("health_records")
        assert foreign_key["referred_table"] == "submissions"
        assert foreign_key["constrained_columns"] == ["submission_id", "lhb_code"]
    # The foreign key alone refuses a record without its submission, then.
    _refused(engine, HEALTH_RECORD, _row("cav-2", submission_id=OTHER_ID))
    with engine.begin() as connection:
        # No trigger is left behind: the record goes (it has no children).
        connection.execute(text("DELETE FROM health_records"))
        connection.execute(text("DELETE FROM submissions"))

    with engine.begin() as connection:
        _migrate(connection, "head")
    with engine.connect() as connection:
        assert inspect(connection).get_foreign_keys("health_records") == []
    _one_submission_with_a_record(engine)
    _refused(engine, HEALTH_RECORD, _row("cav-2", submission_id=OTHER_ID))
