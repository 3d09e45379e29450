"""PostgreSQL connections for the event loop: psycopg's own async pool, beside the
SQLAlchemy engine that everything else uses.

Why a second pool: the requests every client makes most (the grant check of each request,
case pages, single cases) each need one or two statements. Run through the engine they
cost a thread of the pool per step, and a worker's threads spend more time waiting for
the GIL than for PostgreSQL. On the event loop they take no thread at all.

Connections are in autocommit: each statement is its own transaction, so a statement that
reads and audits at once (services/cases/audited_reads.py) commits both or neither, and
has committed before the edge answers. Timestamps come back in UTC and JSON columns are
parsed by orjson, as the engine does (services/store/db.py).
"""

from __future__ import annotations

from typing import Any

import orjson
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import ClauseElement
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

# Per API process. A statement here holds its connection for one round trip, so few
# connections serve many concurrent requests; more would only queue inside PostgreSQL.
MIN_CONNECTIONS, MAX_CONNECTIONS = 2, 10
# As the engine's pool_timeout: a request waits this long for a connection, then 503.
WAIT_SECONDS = 10.0

Rows = AsyncConnection[DictRow]
ReadPool = AsyncConnectionPool[Rows]


async def _configure(connection: Rows) -> None:
    set_json_loads(orjson.loads, connection)


async def open_read_pool(url: str) -> ReadPool | None:
    """The pool for CME_DATABASE_URL, opened; None on SQLite (it keeps the engine's path)."""
    if not url.startswith("postgresql"):
        return None
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    pool = AsyncConnectionPool(
        conninfo,
        connection_class=AsyncConnection[DictRow],
        kwargs={"autocommit": True, "row_factory": dict_row, "options": "-c TimeZone=UTC"},
        configure=_configure,
        min_size=MIN_CONNECTIONS,
        max_size=MAX_CONNECTIONS,
        timeout=WAIT_SECONDS,
        open=False,
    )
    await pool.open(wait=True)
    return pool


def postgres_sql(statement: ClauseElement) -> str:
    """A Core statement as PostgreSQL SQL with named `%(name)s` parameters, compiled once
    (at import) rather than at every request."""
    dialect: Any = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]
    return str(statement.compile(dialect=dialect))
