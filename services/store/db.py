"""Engine, sessions and the declarative base.

SQLite is the embedded default so a newcomer needs nothing installed; PostgreSQL (psycopg 3)
is production. Both are configured here so that services never care which one they run on.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import orjson
from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Executable,
    MetaData,
    create_engine,
    event,
)
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

log = logging.getLogger(__name__)

# A pooled PostgreSQL connection idle longer than this is pinged before it is used again.
PING_AFTER_IDLE_SECONDS = 5.0
_IDLE_SINCE = "cme_idle_since"

# How long a SQLite connection waits for another's lock before giving up.
_SQLITE_BUSY_SECONDS = 30

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    # JSON columns (a case's child, candidates and history) are parsed on every read: orjson
    # does it several times faster than the standard library, to the same Python values.
    kwargs.setdefault("json_deserializer", orjson.loads)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": _SQLITE_BUSY_SECONDS}, **kwargs)
        _configure_sqlite(engine)
        return engine
    # As many connections as the request thread pool has threads (anyio's default 40), so
    # that no thread holding a connection can wait on one that waits for a connection.
    options: dict[str, Any] = {"pool_size": 10, "max_overflow": 30, "pool_timeout": 10}
    engine = create_engine(url, **(options | kwargs))
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """Pessimistic disconnect handling for connections that sat idle: one unused for
    PING_AFTER_IDLE_SECONDS is pinged as it leaves the pool, and replaced if the server
    has gone (restarted, failed over, or a firewall dropped it). One in steady use is not
    pinged: SQLAlchemy's `pool_pre_ping` would cost every request a round trip per
    connection it takes. A server lost while connections are busy fails the requests that
    find it gone, and SQLAlchemy then replaces the whole pool."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and takes (or makes) another.
            raise DisconnectionError from error


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so every transaction can start
        # with BEGIN IMMEDIATE (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        # Deleted children's data must not linger in free pages (minimisation).
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers queue on the database lock up front instead of failing when two
        # read transactions both try to upgrade to write (SQLITE_BUSY without waiting).
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine, *, audit_chain: str = "commit") -> sessionmaker[Session]:
    """Sessions for one engine; `audit_chain` is how their audit events are chained
    (see services/audit.py)."""
    return sessionmaker(
        bind=engine,
        expire_on_commit=False,
        autoflush=False,
        info={"cme_audit_chain": audit_chain},
    )


@contextmanager
def single_read(engine: Engine) -> Iterator[Connection]:
    """A connection for one read that needs no transaction of its own. On PostgreSQL it runs
    in autocommit, which saves the BEGIN and ROLLBACK round trips; SQLite keeps its usual
    transaction (its `begin` hook above)."""
    with engine.connect() as connection:
        yield (
            connection
            if is_sqlite(engine)
            else connection.execution_options(isolation_level="AUTOCOMMIT")
        )


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work for the CLI and workers: commit on success, roll back on error."""
    with factory() as session, session.begin():
        yield session


# The tables that hold children's details, and so the dead rows of deleted children.
PERSONAL_DATA_TABLES = (
    "health_records",
    "education_records",
    "submissions",
    "cme_cases",
    "england_transfers",
)
# A truncating checkpoint waits for readers while holding back writers: briefly, and again.
_CHECKPOINT_WAIT_SECONDS = 0.5
_CHECKPOINT_ATTEMPTS = 5


def clear_deleted_residue(engine: Engine) -> bool:
    """After a commit that deleted children's details, remove the copies the database still
    keeps outside its tables, as far as the database allows; True when it could.

    SQLite (with `secure_delete`, the tables' own pages are overwritten at once): the
    write-ahead log still holds every page as it was before, so it is checkpointed into
    the database file and truncated to nothing. PostgreSQL: VACUUM marks the deleted rows'
    space reusable (see the README for what it does not remove)."""
    if is_sqlite(engine):
        try:
            return _truncate_write_ahead_log(engine)
        except sqlite3.Error as error:  # the deletion is committed; a later checkpoint may do
            log.warning(
                "checkpoint after deletion failed", extra={"error_type": type(error).__name__}
            )
            return False
    return _vacuum(engine, PERSONAL_DATA_TABLES)


def _truncate_write_ahead_log(engine: Engine) -> bool:
    # A raw connection: outside any transaction (the `begin` hook would open one), with a
    # short busy wait, since a truncating checkpoint holds writers back while it waits.
    connection = engine.raw_connection()
    cursor = connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(_CHECKPOINT_WAIT_SECONDS * 1000)}")
        frames = 0
        for attempt in range(1, _CHECKPOINT_ATTEMPTS + 1):
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy, frames, _checkpointed = cursor.fetchone() or (0, 0, 0)
            if not busy:
                return True
            if attempt < _CHECKPOINT_ATTEMPTS:
                time.sleep(_CHECKPOINT_WAIT_SECONDS)
        # Readers kept it: the log is truncated at the next successful checkpoint (the next
        # reconciliation, `cme purge`, or the last connection closing).
        log.warning(
            "write-ahead log not truncated: readers held it",
            extra={"wal_frames": frames, "attempts": _CHECKPOINT_ATTEMPTS},
        )
        return False
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_SECONDS * 1000}")
        cursor.close()
        connection.close()


def _vacuum(engine: Engine, tables: tuple[str, ...]) -> bool:
    try:
        # VACUUM cannot run inside a transaction block.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(tables)}")
    except SQLAlchemyError as error:
        log.warning("vacuum after deletion failed", extra={"error_type": type(error).__name__})
        return False
    return True


def affected_rows(session: Session, statement: Executable) -> int:
    """Rows a bulk UPDATE or DELETE touched."""
    return int(cast(CursorResult[Any], session.execute(statement)).rowcount or 0)
