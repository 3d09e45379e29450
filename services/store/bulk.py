"""Bulk loading of records: COPY on PostgreSQL, batched INSERT elsewhere.

A 100,000-record extract is loaded in one COPY stream inside the request's transaction,
so it commits (or rolls back) with everything else the request did.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

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


def bulk_insert(session: Session, table: type[Base], rows: Iterable[Row]) -> None:
    """Insert rows keyed by column name, each with every column of `insert_columns`."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        copy_rows(connection.connection.driver_connection, rows, table)
        return
    statement = insert(table)
    for batch in _batches(rows):
        connection.execute(statement, batch)


def copy_rows(
    driver_connection: Any, rows: Iterable[Row], table: type[Base], *, into: str | None = None
) -> None:
    """COPY rows through a psycopg connection, into the table or `into`, a table of its shape."""
    columns = insert_columns(table)
    json_columns = [name for name in columns if name in _JSON_COLUMNS]
    statement = f"COPY {into or table.__tablename__} ({', '.join(columns)}) FROM STDIN"
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            for name in json_columns:
                value = row[name]
                if value is not None:
                    row[name] = json.dumps(value, ensure_ascii=False) if value else "[]"
            copy.write_row([row[name] for name in columns])


def _batches(rows: Iterable[Row]) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, _BATCH)):
        yield batch
