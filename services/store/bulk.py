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

HEALTH_RECORD_COLUMNS = (
    "lhb_code",
    "record_id",
    "submission_id",
    "local_authority_code",
    "nhs_number",
    "given_name",
    "middle_names",
    "family_name",
    "former_names",
    "date_of_birth",
    "sex",
    "address_lines",
    "postcode",
    "address_last_known",
    "gp_practice_code",
    "sensitive",
)
EDUCATION_RECORD_COLUMNS = (
    "la_code",
    "record_id",
    "given_name",
    "middle_names",
    "family_name",
    "former_names",
    "date_of_birth",
    "sex",
    "address_lines",
    "postcode",
    "upn",
    "nhs_number",
    "provision",
    "provider_name",
    "provider_code",
    "ehe_suitability",
)
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


def bulk_insert_health_records(session: Session, rows: Iterable[tuple[Any, ...]]) -> None:
    bulk_insert(session, HealthRecord, HEALTH_RECORD_COLUMNS, rows)


def bulk_insert_education_records(session: Session, rows: Iterable[tuple[Any, ...]]) -> None:
    bulk_insert(session, EducationRecord, EDUCATION_RECORD_COLUMNS, rows)


def bulk_insert(
    session: Session, table: type[Base], columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        copy_rows(connection.connection.driver_connection, rows, str(table.__tablename__), columns)
        return
    statement = insert(table)
    for batch in _batches(rows):
        connection.execute(statement, [dict(zip(columns, row, strict=True)) for row in batch])


def copy_rows(
    driver_connection: Any,
    rows: Iterable[tuple[Any, ...]],
    table: str = "health_records",
    columns: Sequence[str] = HEALTH_RECORD_COLUMNS,
) -> None:
    """COPY rows (in `columns` order) through a psycopg connection."""
    json_positions = [i for i, name in enumerate(columns) if name in _JSON_COLUMNS]
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            values = list(row)
            for position in json_positions:
                value = values[position]
                if value is not None:
                    values[position] = json.dumps(value, ensure_ascii=False) if value else "[]"
            copy.write_row(values)


def _batches(rows: Iterable[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, _BATCH)):
        yield batch
