"""Bulk loading of records: COPY on PostgreSQL, batched INSERT elsewhere.

A 100,000-record extract is loaded in one COPY stream inside the request's transaction,
so it commits (or rolls back) with everything else the request did.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from itertools import islice
from types import TracebackType
from typing import Any, Self

from sqlalchemy import ARRAY, String, any_, bindparam, delete, insert
from sqlalchemy.orm import Session

from services.store.db import Base
from services.store.tables import EducationRecord, HealthRecord

Row = dict[str, Any]


def insert_columns(table: type[Base]) -> tuple[str, ...]:
    """Every column a loader fills: all but the generated primary key."""
    return tuple(column.name for column in table.__table__.columns if not column.primary_key)


HEALTH_RECORD_COLUMNS = insert_columns(HealthRecord)
EDUCATION_RECORD_COLUMNS = insert_columns(EducationRecord)
_JSON_COLUMNS = frozenset({"former_names", "address_lines"})
_BATCH = 1000


def delete_health_records(session: Session, *, lhb_code: str, record_ids: Sequence[str]) -> None:
    """Delete a board's records by record_id: one array parameter on PostgreSQL."""
    if not record_ids:
        return
    board = HealthRecord.lhb_code == lhb_code
    if session.get_bind().dialect.name == "postgresql":
        ids = bindparam("record_ids", list(record_ids), type_=ARRAY(String()))
        session.execute(delete(HealthRecord).where(board, HealthRecord.record_id == any_(ids)))
        return
    for start in range(0, len(record_ids), _BATCH):
        batch = record_ids[start : start + _BATCH]
        session.execute(delete(HealthRecord).where(board, HealthRecord.record_id.in_(batch)))


def copy_rows(
    driver_connection: Any, rows: Iterable[Row], table: type[Base], *, into: str | None = None
) -> None:
    """COPY rows through a psycopg connection, into the table or `into`, a table of its shape."""
    with _copy(driver_connection, table, into=into) as copy:
        _write_rows(copy, rows, table)


class RowStream:
    """Rows of one table handed over a batch at a time, within the caller's transaction.

    On PostgreSQL one COPY stays open from batch to batch, so the server stores a batch
    while the caller prepares the next (a COPY per batch would wait for the server each
    time); elsewhere each batch is a batched INSERT. While a COPY is open the connection
    runs nothing else: `pause()` ends it (the next `add` opens another). Use it as a context
    manager, so an exception ends an open COPY (as failed) before the transaction rolls back.
    """

    def __init__(self, session: Session, table: type[Base]) -> None:
        self._session = session
        self._table = table
        self._open = ExitStack()
        self._copy: Any = None

    def add(self, rows: Iterable[Row]) -> None:
        connection = self._session.connection()
        if connection.dialect.name != "postgresql":
            _insert_rows(connection, rows, self._table)
            return
        if self._copy is None:
            driver_connection = connection.connection.driver_connection
            self._copy = self._open.enter_context(_copy(driver_connection, self._table))
        _write_rows(self._copy, rows, self._table)

    def pause(self) -> None:
        """End the open COPY, if any, so that the connection can run other statements."""
        self._copy = None
        self._open.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._copy = None
        self._open.__exit__(kind, error, trace)


@contextmanager
def _copy(driver_connection: Any, table: type[Base], *, into: str | None = None) -> Iterator[Any]:
    statement = (
        f"COPY {into or table.__tablename__} ({', '.join(insert_columns(table))}) FROM STDIN"
    )
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        yield copy


def _write_rows(copy: Any, rows: Iterable[Row], table: type[Base]) -> None:
    columns = insert_columns(table)
    json_columns = [name for name in columns if name in _JSON_COLUMNS]
    for row in rows:
        for name in json_columns:
            value = row[name]
            if value is not None:
                row[name] = json.dumps(value, ensure_ascii=False) if value else "[]"
        copy.write_row([row[name] for name in columns])


def _insert_rows(connection: Any, rows: Iterable[Row], table: type[Base]) -> None:
    statement = insert(table)
    for batch in _batches(rows):
        connection.execute(statement, batch)


def _batches(rows: Iterable[Row]) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, _BATCH)):
        yield batch
