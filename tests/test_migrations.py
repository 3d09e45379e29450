"""Migrations build the schema the code expects, and downgrade cleanly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

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
