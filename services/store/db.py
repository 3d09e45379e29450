"""Engine, sessions and the declarative base.

SQLite is the embedded default so a newcomer needs nothing installed; PostgreSQL (psycopg 3)
is production. Both are configured here so that services never care which one they run on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Executable, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

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
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    # As many connections as the request thread pool has threads (anyio's default 40), so
    # that no thread holding a connection can wait on one that waits for a connection.
    options: dict[str, Any] = {"pool_size": 10, "max_overflow": 30, "pool_timeout": 10}
    return create_engine(url, pool_pre_ping=True, **(options | kwargs))


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
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work for the CLI and workers: commit on success, roll back on error."""
    with factory() as session, session.begin():
        yield session


def affected_rows(session: Session, statement: Executable) -> int:
    """Rows a bulk UPDATE or DELETE touched."""
    return int(cast(CursorResult[Any], session.execute(statement)).rowcount or 0)
