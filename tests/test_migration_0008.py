"""Migration 0008 on a database holding data: clients gain the disable switch, and
submissions are re-keyed per board without losing a row or a health record's link."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from services.store.db import make_engine
from services.store.schema_version import alembic_config

SUBMISSION = (
    "INSERT INTO submissions (submission_id, lhb_code, client_id, extract_type, extracted_at,"
    " received_at, body_sha256, signature, record_count, receipt) VALUES (:id, :lhb, 'cli_a',"
    " 'full', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'digest', 'signature', 1, '{}')"
)
HEALTH_RECORD = (
    "INSERT INTO health_records (lhb_code, record_id, submission_id, local_authority_code,"
    " sensitive, given_name, family_name, former_names, date_of_birth) VALUES (:lhb, :record,"
    " :id, 'W06000015', false, 'Cerys', 'Jones', '[]', '2015-03-02')"
)
SUBMISSION_ID = "3f0e9c1e-6b1a-4c1e-9f4e-2d7b8a1c0e55"


def _migrate(connection: Connection, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


def test_upgrade_keeps_clients_submissions_and_their_health_records(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        _migrate(connection, "0007", down=True)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO clients VALUES ('cli_a', '7A4', 'PAS', '[]', CURRENT_TIMESTAMP)")
        )
        connection.execute(text(SUBMISSION), {"id": SUBMISSION_ID, "lhb": "7A4"})
        connection.execute(
            text(HEALTH_RECORD), {"lhb": "7A4", "record": "cav-1", "id": SUBMISSION_ID}
        )

    with engine.begin() as connection:
        _migrate(connection, "head")

    with engine.begin() as connection:
        assert connection.execute(
            text("SELECT client_id, disabled_at, token_generation FROM clients")
        ).all() == [("cli_a", None, 0)]
        assert connection.execute(
            text("SELECT lhb_code, submission_id FROM health_records")
        ).all() == [("7A4", SUBMISSION_ID)]
        # Another board may now use the same id, and its records refer to its own submission.
        connection.execute(text(SUBMISSION), {"id": SUBMISSION_ID, "lhb": "7A1"})
        connection.execute(
            text(HEALTH_RECORD), {"lhb": "7A1", "record": "bcu-1", "id": SUBMISSION_ID}
        )
    with pytest.raises(IntegrityError), engine.begin() as connection:
        # A record of a board that never sent this submission has nothing to refer to.
        connection.execute(
            text(HEALTH_RECORD), {"lhb": "7A2", "record": "hd-1", "id": SUBMISSION_ID}
        )
    engine.dispose()
