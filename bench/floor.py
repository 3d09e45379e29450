"""The baselines bench/load.py measures the service against, served by one uvicorn process
of their own (never by the product API):

- `GET /ping`: a constant JSON body (what the web stack alone costs);
- the floor endpoint, `GET /floor/{la_code}/cme-cases[?limit=&cursor=]` and
  `GET /floor/{la_code}/cme-cases/{case_id}`: the service's own case-page and case SQL
  (built by services/cases/queries.py's filter, run through the same driver, psycopg),
  the rows encoded with orjson. No authentication, no audit, no shaping: what reading and
  writing the same data costs at the least.

The database is CME_DATABASE_URL, as for the service.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import orjson
import psycopg
from fastapi import FastAPI, Request, Response
from psycopg.rows import dict_row
from psycopg.types.json import set_json_loads
from sqlalchemy import Integer, Select, bindparam, select, tuple_
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from services.caller import Caller
from services.cases.queries import visible
from services.cursors import decode_cursor, encode_cursor
from services.store.tables import CmeCase

POOL_SIZE = 10  # connections per worker process


def _sql(statement: Select[Any]) -> str:
    compiled = statement.compile(dialect=postgresql.psycopg.dialect())  # type: ignore[no-untyped-call]
    return str(compiled)


def _statements() -> tuple[str, str, str]:
    """The statements `list_case_rows` (first page, next page) and `get_case_row` run for an
    authority's caller without filters, compiled once with named parameters."""
    caller = Caller(org_code=cast(str, bindparam("la_code")))
    base = select(CmeCase.__table__).where(visible(caller))
    order = (CmeCase.updated_at, CmeCase.case_id)
    after = tuple_(*order) > tuple_(bindparam("after_time"), bindparam("after_id"))
    return (
        _sql(base.order_by(*order).limit(bindparam("rows", type_=Integer))),
        _sql(base.where(after).order_by(*order).limit(bindparam("rows", type_=Integer))),
        _sql(base.where(CmeCase.case_id == bindparam("case_id"))),
    )


FIRST_PAGE, NEXT_PAGE, ONE_CASE = _statements()


class Pool:
    """A few autocommit connections per worker, handed out in turn."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.idle: asyncio.Queue[psycopg.AsyncConnection[dict[str, Any]]] = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(POOL_SIZE):
            connection = await psycopg.AsyncConnection.connect(
                self.conninfo, autocommit=True, row_factory=dict_row
            )
            set_json_loads(orjson.loads, connection)
            self.idle.put_nowait(connection)

    async def fetch(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        connection = await self.idle.get()
        try:
            cursor = await connection.execute(sql, params)
            return await cursor.fetchall()
        finally:
            self.idle.put_nowait(connection)

    async def close(self) -> None:
        while not self.idle.empty():
            await self.idle.get_nowait().close()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    url = os.environ.get("CME_DATABASE_URL", "")
    pool = None
    if url.startswith("postgresql"):
        pool = Pool(make_url(url).set(drivername="postgresql").render_as_string(False))
        await pool.open()
    app.state.pool = pool
    yield
    if pool is not None:
        await pool.close()


app = FastAPI(title="bench baselines", lifespan=lifespan)


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}


def _orjson(document: Any) -> Response:
    return Response(orjson.dumps(document, option=orjson.OPT_UTC_Z), media_type="application/json")


@app.get("/floor/{la_code}/cme-cases")
async def floor_page(
    request: Request, la_code: str, limit: int = 100, cursor: str | None = None
) -> Response:
    params: dict[str, Any] = {"la_code": la_code, "rows": limit + 1}
    if cursor is None:
        rows = await request.app.state.pool.fetch(FIRST_PAGE, params)
    else:
        params["after_time"], params["after_id"] = decode_cursor(cursor)
        rows = await request.app.state.pool.fetch(NEXT_PAGE, params)
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(page[-1]["updated_at"], page[-1]["case_id"]) if more else None
    return _orjson({"items": page, "next_cursor": next_cursor})


@app.get("/floor/{la_code}/cme-cases/{case_id}")
async def floor_case(request: Request, la_code: str, case_id: str) -> Response:
    rows = await request.app.state.pool.fetch(ONE_CASE, {"la_code": la_code, "case_id": case_id})
    if not rows:
        return Response(status_code=404)
    return _orjson(rows[0])
