"""Bringing a database to the latest migration, and telling whether it is there.

The commands that use a database check it first (`require_existing`, `require_head`), so
that a missing or unmigrated one is named as such instead of failing half-way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, make_url

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    # The migrations package is installed beside this one (editable or not).
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_to_head(engine: Engine) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


class DatabaseMissing(Exception):
    """A SQLite database file that does not exist (connecting would create an empty one)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no database at {path}")
        self.path = path


@dataclass
class SchemaNotAtHead(Exception):
    """The database is not at the latest migration this code knows."""

    current: str | None
    head: str | None
    # Whether `current` is one of this code's revisions (else newer code migrated it).
    known: bool

    def __str__(self) -> str:
        return f"database at revision {self.current or '(none)'}, latest is {self.head}"


def sqlite_file(url: str) -> Path | None:
    """The absolute path of a SQLite database file, or None for any other database."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):  # a URI filename: SQLite's own business
        return None
    return Path(database).resolve()


def display_url(url: str) -> str:
    """The database as people should see it: without its password, a SQLite file by its
    absolute path."""
    parsed = make_url(url)
    path = sqlite_file(url)
    if path is not None:
        parsed = parsed.set(database=str(path))
    return parsed.render_as_string(hide_password=True)


def require_existing(url: str) -> None:
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise DatabaseMissing(path)


def require_head(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaNotAtHead(current=current, head=head, known=is_known(current))


def is_known(revision: str | None) -> bool:
    if revision is None:
        return True
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        return False
    return True
