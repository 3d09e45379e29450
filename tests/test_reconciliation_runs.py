"""An authority can find its reconciliation runs: the upload's receipt names the run, the
runs are listed, and asking for a run while one is under way answers with that one."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from services.reconciliation.queue import claim_next
from tests.factories import (
    Credentials,
    bearer,
    education_record,
    encode,
    health_record,
    make_client,
    post_submission,
    put_education_records,
    submission_body,
)
from tests.test_reconciliation_api import run_queued

RUNS = "/v1/local-authorities/W06000015/reconciliations"


def upload(http: TestClient, board: Credentials, cardiff: Credentials) -> str | None:
    post_submission(http, board, encode(submission_body([health_record(1)])))
    receipt = put_education_records(http, cardiff, [education_record(1)])
    assert receipt.status_code == 200, receipt.text
    reconciliation_id: str | None = receipt.json()["reconciliation_id"]
    return reconciliation_id


def test_the_upload_receipt_names_the_run_it_queued(
    app: FastAPI, http: TestClient, board: Credentials, cardiff: Credentials
) -> None:
    queued = upload(http, board, cardiff)

    assert queued is not None
    assert run_queued(app) == queued
    run = http.get(f"{RUNS}/{queued}", headers=bearer(http, cardiff)).json()
    assert run["status"] == "succeeded"


def test_an_upload_with_no_health_records_waiting_queues_nothing(
    http: TestClient, cardiff: Credentials
) -> None:
    receipt = put_education_records(http, cardiff, [education_record(1)])

    assert receipt.json()["reconciliation_id"] is None
    assert http.get(RUNS, headers=bearer(http, cardiff)).json() == {
        "items": [],
        "next_cursor": None,
    }


def test_asking_while_a_run_is_queued_or_running_answers_with_that_run(
    app: FastAPI, http: TestClient, board: Credentials, cardiff: Credentials
) -> None:
    queued = upload(http, board, cardiff)
    headers = bearer(http, cardiff)

    while_queued = http.post(RUNS, headers=headers)
    with app.state.sessions() as session, session.begin():
        claimed = claim_next(session=session)
        assert claimed is not None
    while_running = http.post(RUNS, headers=headers)

    assert (while_queued.status_code, while_running.status_code) == (202, 202)
    assert while_queued.json() == {"reconciliation_id": queued, "status": "queued"}
    assert while_running.json() == {"reconciliation_id": queued, "status": "running"}
    assert [
        run["reconciliation_id"] for run in http.get(RUNS, headers=headers).json()["items"]
    ] == [queued]


def test_runs_are_listed_newest_first_page_by_page(
    app: FastAPI, http: TestClient, board: Credentials, cardiff: Credentials
) -> None:
    first = upload(http, board, cardiff)
    run_queued(app)
    second = upload(http, board, cardiff)
    run_queued(app)
    headers = bearer(http, cardiff)

    page_one = http.get(RUNS, params={"limit": 1}, headers=headers).json()
    page_two = http.get(
        RUNS, params={"limit": 1, "cursor": page_one["next_cursor"]}, headers=headers
    ).json()
    late = http.post(RUNS, headers=headers)

    assert [r["reconciliation_id"] for r in page_one["items"] + page_two["items"]] == [
        second,
        first,
    ]
    assert page_two["next_cursor"] is None
    assert (late.status_code, late.json()["code"]) == (409, "education_records_required")


def test_another_authority_sees_no_runs(
    http: TestClient, db: Session, board: Credentials, cardiff: Credentials
) -> None:
    upload(http, board, cardiff)
    newport = make_client(db, org="W06000022", scopes=["cme:read"])
    db.commit()

    response = http.get(RUNS, headers=bearer(http, newport))

    assert response.status_code == 404
