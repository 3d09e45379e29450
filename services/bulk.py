"""Bulk loading of health records: COPY on PostgreSQL, batched INSERT elsewhere.

A 100,000-record extract is loaded in one COPY stream inside the request's transaction,
so it commits (or rolls back) with everything else the request did.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from services.tables import HealthRecord

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
_JSON_COLUMNS = frozenset({"former_names", "address_lines"})
_BATCH = 1000


def bulk_insert_health_records(session: Session, rows: Iterable[tuple[Any, ...]]) -> None:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _copy(connection.connection.driver_connection, rows)
        return
    statement = insert(HealthRecord)
    for batch in _batches(rows):
        connection.execute(
            statement, [dict(zip(HEALTH_RECORD_COLUMNS, row, strict=True)) for row in batch]
        )


def _copy(driver_connection: Any, rows: Iterable[tuple[Any, ...]]) -> None:
    json_positions = [i for i, name in enumerate(HEALTH_RECORD_COLUMNS) if name in _JSON_COLUMNS]
    statement = f"COPY health_records ({', '.join(HEALTH_RECORD_COLUMNS)}) FROM STDIN"
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            values = list(row)
            for position in json_positions:
                if values[position] is not None:
                    values[position] = json.dumps(values[position], ensure_ascii=False)
            copy.write_row(values)


def _batches(rows: Iterable[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, _BATCH)):
        yield batch
