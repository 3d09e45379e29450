"""The database an operator command uses: named on stderr, and refused when it is missing
or not at the latest migration, instead of creating an empty one or failing half-way.

`cme db upgrade` is the one command that may create a database; it says what it did.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from alembic.util.exc import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cli.console import fail, note
from services.settings import get_settings
from services.store.db import make_engine
from services.store.schema_version import (
    DatabaseMissing,
    SchemaNotAtHead,
    current_revision,
    display_url,
    require_existing,
    require_head,
    sqlite_file,
    upgrade_to_head,
)

_ENVIRONMENT = "CME_DATABASE_URL"


def open_database() -> Engine:
    """An engine on CME_DATABASE_URL once the database is there and migrated."""
    url = get_settings().database_url
    shown = display_url(url)
    try:
        require_existing(url)
    except DatabaseMissing as missing:
        raise fail(
            f"no database at {missing.path} ({_where_from(url)}). Run the command where the "
            f"database is, set {_ENVIRONMENT} to it, or create it with `cme db upgrade`."
        ) from None
    engine = make_engine(url)
    try:
        require_head(engine)
    except SchemaNotAtHead as behind:
        engine.dispose()
        if not behind.known:
            raise fail(
                f"database {shown} is at migration {behind.current}, which this cme does not "
                "know: newer software migrated it; run that version."
            ) from None
        state = (
            "has no tables yet"
            if behind.current is None
            else f"is at migration {behind.current}, not the latest {behind.head}"
        )
        raise fail(f"database {shown} {state}: run `cme db upgrade` first.") from None
    except SQLAlchemyError as error:
        engine.dispose()
        raise fail(
            f"cannot use database {shown}: {_reason(error)}. Check {_ENVIRONMENT}."
        ) from None
    note(f"database: {shown}")
    return engine


@contextmanager
def database() -> Iterator[Engine]:
    engine = open_database()
    try:
        yield engine
    finally:
        engine.dispose()


def check_database() -> None:
    """Refuse now, rather than serve on a database that is missing or not migrated."""
    with database():
        pass


def upgrade() -> None:
    """Bring the database to the latest migration, creating it if need be, and say so."""
    url = get_settings().database_url
    shown = display_url(url)
    path = sqlite_file(url)
    created = path is not None and not path.exists()
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        upgrade_to_head(engine)
        after = current_revision(engine)
    except CommandError as error:
        raise fail(f"cannot migrate database {shown}: {error}.") from None
    except SQLAlchemyError as error:
        raise fail(
            f"cannot migrate database {shown}: {_reason(error)}. Check {_ENVIRONMENT}."
        ) from None
    finally:
        engine.dispose()
    if before == after:
        note(f"database {shown} is already at the latest migration, {after}")
    elif created:
        note(f"database {shown} created and migrated to {after}")
    else:
        note(f"database {shown} migrated from {before or 'empty'} to {after}")


def _where_from(url: str) -> str:
    if _ENVIRONMENT in os.environ:
        return f"{_ENVIRONMENT} is {display_url(url)}"
    return f"{_ENVIRONMENT} is not set, so ./cme.db in the current directory, {os.getcwd()}"


def _reason(error: SQLAlchemyError) -> str:
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(error).__name__
