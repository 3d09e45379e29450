"""Migrations build the schema the code expects, and downgrade cleanly."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from services.store.db import Base, make_engine
from services.store.schema_version import alembic_config, current_revision, head_revision


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    # Disposed even when the test fails: a pooled connection left for the garbage collector
    # raises its ResourceWarning in whichever test happens to run next.
    made = make_engine(database_url)
    yield made
    made.dispose()


def test_migrated_schema_matches_the_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)

    assert differences == []


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert current_revision(engine) is None
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    assert current_revision(engine) == head_revision()


def test_a_case_pages_audit_ids_stay_in_the_row_on_postgresql(engine: Engine) -> None:
    """Migration 0013: 100 case ids (~4 KB) in the row itself, not in a TOAST table; a
    catalogue setting PostgreSQL alone has, so SQLite only goes down and up through it."""
    config = alembic_config()
    # Random ids, as case ids are: they barely compress, so only storage keeps them inline.
    rng = random.Random(12)
    ids = json.dumps([str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(100)])

    def toasted_bytes_after_an_event() -> int:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO audit_inbox (occurred_at, action, object_type, object_ids) "
                    "VALUES (CURRENT_TIMESTAMP, 'case.listed', 'cme_case', :ids)"
                ),
                {"ids": ids},
            )
            if engine.dialect.name != "postgresql":
                return 0
            size = connection.scalar(
                text(
                    "SELECT pg_relation_size(reltoastrelid) FROM pg_class "
                    "WHERE relname = 'audit_inbox'"
                )
            )
            connection.execute(text("DELETE FROM audit_inbox"))
            return int(size)

    assert toasted_bytes_after_an_event() == 0
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0012")
    before = toasted_bytes_after_an_event()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    assert current_revision(engine) == head_revision()
    assert before > 0 if engine.dialect.name == "postgresql" else before == 0
