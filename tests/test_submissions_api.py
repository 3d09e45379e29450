"""POST/GET /v1/submissions through the HTTP interface."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.tables import HealthRecord, Submission
from tests.factories import Credentials, encode, health_record, post_submission, submission_body


def test_signed_submission_is_stored_and_receipted(
    http: TestClient, board: Credentials, db: Session
) -> None:
    body = encode(submission_body([health_record(1), health_record(2, record_id="cav-2")]))

    response = post_submission(http, board, body)

    assert response.status_code == 201, response.text
    receipt = response.json()
    assert response.headers["location"] == f"/v1/submissions/{receipt['submission_id']}"
    assert receipt["status"] == "accepted"
    assert receipt["record_count"] == 2
    assert receipt["records_by_local_authority"] == {"W06000015": 2}
    assert receipt["not_retained"] == {"not_compulsory_school_age": 0, "deceased": 0}
    assert db.scalar(select(func.count()).select_from(HealthRecord)) == 2
    assert db.scalar(select(func.count()).select_from(Submission)) == 1
