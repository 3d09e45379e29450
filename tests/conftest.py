"""Test databases built with Alembic, on SQLite and on PostgreSQL.

Every test that takes `database_url` runs twice, once per backend. PostgreSQL is found at
CME_TEST_POSTGRES_URL (default: the local server as user postgres); where it cannot be
reached the PostgreSQL half is skipped with the reason, unless CME_TEST_REQUIRE_POSTGRES=1
(CI), where an unreachable server fails the run.

The app commits inside each request, so tests cannot roll back one outer transaction;
instead each test gets a clean database: a copy of a migrated SQLite file, or a migrated
PostgreSQL database put back after the test as the migrations left it: every table emptied,
the rows the migrations seed written again, and the whole schema rebuilt if the test moved
it off the latest migration.

Every test must pass alone and in any order: `make test` shuffles them (pytest-randomly)
and prints the seed; `--randomly-seed=N` repeats that shuffle, `-p no:randomly` turns it off.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, Table, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import services.store.tables  # noqa: F401  (registers every table on Base.metadata)
from api.app import create_app
from services.settings import Settings, get_settings
from services.store.db import Base, make_engine
from services.store.schema_version import current_revision, head_revision, upgrade_to_head
from tests.factories import Credentials, make_client

POSTGRES_URL = os.environ.get(
    "CME_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("CME_TEST_REQUIRE_POSTGRES") == "1"

SeededRows = dict[Table, list[dict[str, Any]]]


@dataclass(frozen=True)
class PostgresDatabase:
    """One worker's migrated PostgreSQL database and the rows its migrations seeded."""

    url: str
    seeded: SeededRows


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """The shuffle's seed once more, below any failures (`pytest -q` hides the header)."""
    if config.pluginmanager.hasplugin("randomly"):
        seed = config.getoption("randomly_seed")
        terminalreporter.write_line(
            f"tests shuffled; repeat this shuffle with --randomly-seed={seed}"
        )


@pytest.fixture(autouse=True)
def _settings_from_this_test_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees service configuration left by another, or by the shell running pytest.

    `get_settings` caches the first Settings it builds from the CME_* variables; a test that
    points the CLI at its database sets them with monkeypatch, and the cache must not
    outlive them. Variables that configure the suite itself (CME_TEST_*) are not touched.
    """
    service_variables = {f"CME_{field}".upper() for field in Settings.model_fields}
    for name in list(os.environ):
        if name.upper() in service_variables:
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _admin_conninfo() -> str:
    url = make_url(POSTGRES_URL)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


def _admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    """A connection that creates and drops databases; skips (or fails, where PostgreSQL is
    required) the test when the server is unreachable."""
    try:
        return psycopg.connect(_admin_conninfo(), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        if REQUIRE_POSTGRES:
            pytest.fail(
                f"PostgreSQL is required (CME_TEST_REQUIRE_POSTGRES=1) but unreachable: {error}"
            )
        pytest.skip(f"PostgreSQL unreachable at CME_TEST_POSTGRES_URL: {error}")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase]:
    admin = _admin_connection()
    name = f"cme_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
        seeded = _seeded_rows(engine)
    finally:
        engine.dispose()
    yield PostgresDatabase(url=url, seeded=seeded)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _seeded_rows(engine: Engine) -> SeededRows:
    """The rows a freshly migrated database holds (the audit chain's genesis head, so far).

    Read back rather than listed here, so that reference rows a future migration seeds
    survive the clean-up between tests without anyone remembering to add them.
    """
    with engine.connect() as connection:
        rows = {
            table: [dict(row._mapping) for row in connection.execute(select(table))]
            for table in Base.metadata.sorted_tables
        }
    return {table: found for table, found in rows.items() if found}


def _restore(engine: Engine, seeded: SeededRows) -> None:
    """Put the database back as the migrations left it, whatever the test did to it."""
    if current_revision(engine) != head_revision():
        # Migrated down, or its version stamp changed: rebuild the schema from nothing.
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade_to_head(engine)
        return
    # Every table the code knows, so that a table added to services/store/tables.py is
    # emptied too; Alembic's version table is not on the metadata and keeps its one row.
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        for table in Base.metadata.sorted_tables:
            if table in seeded:
                connection.execute(insert(table), seeded[table])


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "cme.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    database: PostgresDatabase = request.getfixturevalue("postgres_database")
    yield database.url
    engine = make_engine(database.url)
    try:
        _restore(engine, database.seeded)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def unmigrated_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that exists but was never migrated (PostgreSQL's URL carries a password,
    which the server's trust authentication ignores, so tests can check it is never shown)."""
    if request.param == "sqlite":
        path = tmp_path / "unmigrated.db"
        sqlite3.connect(path).close()
        yield f"sqlite:///{path}"
        return
    admin = _admin_connection()
    name = f"cme_unmigrated_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name, password="s3cret-pw")
    yield url.render_as_string(hide_password=False)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        public_base_url="http://testserver",
        dev_key_dir=tmp_path / "keys",
        # Tests run queued reconciliations themselves (work_once), deterministically.
        reconcile_in_process=False,
        # Off by default in tests; tests/test_rate_limits.py turns it on.
        rate_limit_per_minute=0,
        # Tests read the chain right after a request; tests/test_audit.py covers background.
        audit_chain="commit",
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def http(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def db(app: FastAPI, http: TestClient) -> Iterator[Session]:
    """A session on the app's database for arranging and inspecting state (commits)."""
    with app.state.sessions() as session:
        yield session


@pytest.fixture
def board(db: Session) -> Credentials:
    credentials = make_client(db, org="7A4", scopes=["submissions:write", "submissions:read"])
    db.commit()
    return credentials


@pytest.fixture
def cardiff(db: Session) -> Credentials:
    credentials = make_client(
        db, org="W06000015", scopes=["education:write", "cme:read", "cme:write"]
    )
    db.commit()
    return credentials


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def service(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The service on a real socket, as `cme serve` runs it (reconciliations in a thread of
    the process); CME_DATABASE_URL and CME_PUBLIC_BASE_URL point the CLI at it."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("CME_DATABASE_URL", database_url)
    monkeypatch.setenv("CME_PUBLIC_BASE_URL", base_url)
    get_settings.cache_clear()
    settings = Settings(
        database_url=database_url,
        public_base_url=base_url,
        dev_key_dir=tmp_path / "k",
        worker_poll_seconds=0.2,
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield base_url
    server.should_exit = True
    thread.join(timeout=10)
    get_settings.cache_clear()


@pytest.fixture
def point_cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str | None], None]]:
    """Point the `cme` command's operator side at a database (None: CME_DATABASE_URL unset)."""

    def point(url: str | None) -> None:
        if url is None:
            monkeypatch.delenv("CME_DATABASE_URL", raising=False)
        else:
            monkeypatch.setenv("CME_DATABASE_URL", url)
        get_settings.cache_clear()

    yield point
    get_settings.cache_clear()
