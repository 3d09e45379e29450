"""What a submission asks of the database beyond its records: no statement that walks the
rows just copied in when nothing can be replaced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from services.store.tables import HealthRecord
from tests.factories import Credentials, encode, health_record, post_submission, submission_body


@pytest.fixture
def deletes() -> Iterator[list[str]]:
    """The DELETE statements any engine runs while the test does."""
    seen: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if sql.lstrip().upper().startswith("DELETE FROM HEALTH_RECORDS"):
            seen.append(sql)

    event.listen(Engine, "before_cursor_execute", statement)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", statement)


def test_a_boards_first_full_extract_deletes_nothing(
    http: TestClient, board: Credentials, db: Session, deletes: list[str]
) -> None:
    records = [health_record(1, record_id="a"), health_record(2, record_id="b")]

    post_submission(http, board, encode(submission_body(records)))

    assert deletes == []
    assert db.scalar(select(func.count()).select_from(HealthRecord)) == 2


def test_a_later_full_extract_still_replaces_the_earlier_records(
    http: TestClient, board: Credentials, db: Session, deletes: list[str]
) -> None:
    post_submission(http, board, encode(submission_body([health_record(1, record_id="a")])))
    db.rollback()

    post_submission(http, board, encode(submission_body([health_record(2, record_id="b")])))

    # Besides the DELETE of records sent again (by record_id), the full extract's own.
    assert [sql for sql in deletes if "submission_id !=" in sql] != []
    db.expire_all()
    assert db.scalars(select(HealthRecord.record_id)).all() == ["b"]
