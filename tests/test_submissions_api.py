"""POST/GET /v1/submissions through the HTTP interface: storage, semantics, idempotency."""

from __future__ import annotations

import gzip
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from services.store.tables import AuditEvent, HealthRecord, Submission
from tests.factories import (
    Credentials,
    access_token,
    encode,
    health_record,
    make_client,
    nhs_number,
    post_submission,
    submission_body,
)


def count(db: Session, table: type[object]) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(table)) or 0)


def stored(db: Session) -> list[HealthRecord]:
    db.expire_all()
    return list(db.scalars(select(HealthRecord).order_by(HealthRecord.record_id)))


def test_signed_submission_is_stored_and_receipted(
    http: TestClient, board: Credentials, db: Session
) -> None:
    body = encode(submission_body([health_record(1), health_record(2, nhs_number=nhs_number(7))]))

    response = post_submission(http, board, body)

    assert response.status_code == 201, response.text
    receipt = response.json()
    assert response.headers["location"] == f"/v1/submissions/{receipt['submission_id']}"
    assert receipt["status"] == "accepted"
    assert receipt["lhb_code"] == "7A4"
    assert receipt["record_count"] == 2
    assert receipt["records_by_local_authority"] == {"W06000015": 2}
    assert receipt["not_retained"] == {"not_compulsory_school_age": 0, "deceased": 0}
    assert len(stored(db)) == 2
    row = db.get(Submission, (receipt["submission_id"], receipt["lhb_code"]))
    assert row is not None
    assert row.body_sha256 == receipt["body_sha256"]
    assert row.body_gzip is not None
    assert gzip.decompress(row.body_gzip) == body
    assert row.signature.count(".") == 2


def test_gzip_body_is_verified_after_decoding_and_kept_as_sent(
    http: TestClient, board: Credentials, db: Session
) -> None:
    body = encode(submission_body([health_record(1)]))

    response = post_submission(http, board, body, compress=True)

    assert response.status_code == 201, response.text
    row = db.get(Submission, (response.json()["submission_id"], "7A4"))
    assert row is not None
    assert row.body_gzip is not None
    assert gzip.decompress(row.body_gzip) == body


def test_receipt_is_readable_by_the_sending_board(http: TestClient, board: Credentials) -> None:
    receipt = post_submission(http, board, encode(submission_body([health_record()]))).json()
    token = access_token(http, board)

    response = http.get(
        f"/v1/submissions/{receipt['submission_id']}", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200
    assert response.json() == receipt


def test_another_board_cannot_read_the_receipt(
    http: TestClient, board: Credentials, db: Session
) -> None:
    receipt = post_submission(http, board, encode(submission_body([health_record()]))).json()
    other = make_client(db, org="7A1", scopes=["submissions:read"])
    db.commit()

    response = http.get(
        f"/v1/submissions/{receipt['submission_id']}",
        headers={"Authorization": f"Bearer {access_token(http, other)}"},
    )

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert receipt["submission_id"] not in response.text


def test_same_id_and_body_replays_the_original_receipt(
    http: TestClient, board: Credentials, db: Session
) -> None:
    body = encode(submission_body([health_record()]))
    first = post_submission(http, board, body)

    again = post_submission(http, board, body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert count(db, Submission) == 1
    assert count(db, HealthRecord) == 1


def test_same_id_with_a_different_body_is_a_conflict(
    http: TestClient, board: Credentials, db: Session
) -> None:
    document = submission_body([health_record()])
    post_submission(http, board, encode(document))
    document["records"][0]["given_name"] = "Ffion"

    response = post_submission(http, board, encode(document))

    assert response.status_code == 409
    assert response.json()["code"] == "submission_id_conflict"
    assert stored(db)[0].given_name == "Cerys"


def test_another_boards_submission_id_is_a_different_submission_not_a_conflict(
    http: TestClient, board: Credentials, db: Session
) -> None:
    """A 409 would tell one board that another board used the id: ids are per board."""
    other = make_client(db, org="7A1", scopes=["submissions:write", "submissions:read"])
    db.commit()
    document = submission_body([health_record()])
    first = post_submission(http, board, encode(document))
    other_document = {**document, "lhb_code": "7A1", "records": [health_record(2)]}

    response = post_submission(http, other, encode(other_document))
    replayed = post_submission(http, other, encode(other_document))

    assert first.status_code == 201, first.text
    assert response.status_code == 201, response.text
    assert response.json()["lhb_code"] == "7A1"
    assert response.json()["submission_id"] == document["submission_id"]
    assert replayed.status_code == 200
    assert replayed.json() == response.json()
    assert count(db, Submission) == 2
    assert {(r.lhb_code, r.submission_id) for r in stored(db)} == {
        ("7A4", document["submission_id"]),
        ("7A1", document["submission_id"]),
    }
    db.rollback()  # end the read: SQLite's write lock must not be held against the app
    for credentials, receipt in ((board, first.json()), (other, response.json())):
        read = http.get(
            f"/v1/submissions/{document['submission_id']}",
            headers={"Authorization": f"Bearer {access_token(http, credentials)}"},
        )
        assert read.status_code == 200, read.text
        assert read.json() == receipt


def test_identical_requests_racing_store_one_submission(
    http: TestClient, board: Credentials, db: Session
) -> None:
    body = encode(submission_body([health_record(i, record_id=f"r-{i}") for i in range(50)]))
    token = access_token(http, board)

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(
            pool.map(
                lambda _: post_submission(http, board, body, token=token).status_code, range(2)
            )
        )

    assert statuses == [200, 201]
    assert count(db, Submission) == 1
    assert count(db, HealthRecord) == 50


def test_out_of_age_and_deceased_children_are_counted_not_stored(
    http: TestClient, board: Credentials, db: Session
) -> None:
    records = [
        health_record(1),
        health_record(2, record_id="toddler", date_of_birth="2023-05-01"),
        health_record(3, record_id="adult", date_of_birth="2007-01-01"),
        health_record(4, record_id="died", date_of_death="2025-12-01"),
    ]

    receipt = post_submission(http, board, encode(submission_body(records))).json()

    assert receipt["record_count"] == 4
    assert receipt["records_by_local_authority"] == {"W06000015": 1}
    assert receipt["not_retained"] == {"not_compulsory_school_age": 2, "deceased": 1}
    assert [r.record_id for r in stored(db)] == ["cav-000001"]


def test_sensitive_child_is_stored_without_any_address(
    http: TestClient, board: Credentials, db: Session
) -> None:
    record = health_record(1, sensitive=True)
    del record["address"]

    response = post_submission(http, board, encode(submission_body([record])))

    assert response.status_code == 201, response.text
    (row,) = stored(db)
    assert row.sensitive is True
    assert (row.address_lines, row.postcode, row.address_last_known) == (None, None, None)


def test_postcodes_and_names_are_normalised(
    http: TestClient, board: Credentials, db: Session
) -> None:
    record = health_record(
        1,
        given_name="Sio\u0302n",  # decomposed circumflex
        address={"lines": ["1 Ffordd yr Eglwys"], "postcode": "cf119ab"},
    )

    post_submission(http, board, encode(submission_body([record])))

    (row,) = stored(db)
    assert row.given_name == "Si\u00f4n"
    assert row.postcode == "CF11 9AB"


def test_full_extract_replaces_the_boards_records_for_its_authorities(
    http: TestClient, board: Credentials, db: Session
) -> None:
    first = [
        health_record(1, record_id="a"),
        health_record(2, record_id="b"),
        health_record(3, record_id="v", local_authority_code="W06000014"),
    ]
    post_submission(http, board, encode(submission_body(first)))

    post_submission(http, board, encode(submission_body([health_record(4, record_id="c")])))

    # Cardiff's set is replaced; the Vale of Glamorgan was not in the extract and stays.
    assert [r.record_id for r in stored(db)] == ["c", "v"]


def test_delta_adds_updates_and_removes_by_record_id(
    http: TestClient, board: Credentials, db: Session
) -> None:
    post_submission(
        http,
        board,
        encode(submission_body([health_record(1, record_id="a"), health_record(2, record_id="b")])),
    )
    delta = [
        health_record(3, record_id="a", family_name="Price"),
        health_record(4, record_id="b", date_of_death="2026-01-10"),
        health_record(5, record_id="c"),
    ]

    response = post_submission(http, board, encode(submission_body(delta, extract_type="delta")))

    assert response.json()["not_retained"]["deceased"] == 1
    assert [(r.record_id, r.family_name) for r in stored(db)] == [("a", "Price"), ("c", "Jones")]


def test_delta_marking_a_child_sensitive_removes_the_stored_address(
    http: TestClient, board: Credentials, db: Session
) -> None:
    post_submission(http, board, encode(submission_body([health_record(1, record_id="a")])))
    flagged = health_record(1, record_id="a", sensitive=True)
    del flagged["address"]

    post_submission(http, board, encode(submission_body([flagged], extract_type="delta")))

    (row,) = stored(db)
    assert row.sensitive
    assert (row.postcode, row.address_lines) == (None, None)


def test_a_board_only_replaces_its_own_records(
    http: TestClient, board: Credentials, db: Session
) -> None:
    other = make_client(db, org="7A5", scopes=["submissions:write"])
    db.commit()
    post_submission(http, other, encode(submission_body([health_record(1)], lhb_code="7A5")))

    post_submission(http, board, encode(submission_body([health_record(2)])))

    assert sorted(r.lhb_code for r in stored(db)) == ["7A4", "7A5"]


def test_each_stored_submission_appends_one_audit_event(
    http: TestClient, board: Credentials, db: Session
) -> None:
    receipt = post_submission(http, board, encode(submission_body([health_record()]))).json()

    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "submission.received")).all()

    assert [(e.client_id, e.org_code, e.object_ids, e.record_count) for e in events] == [
        (board.client_id, "7A4", [receipt["submission_id"]], 1)
    ]


def test_a_failure_at_commit_answers_an_error_never_a_receipt(
    app: FastAPI, http: TestClient, board: Credentials, db: Session
) -> None:
    token = access_token(http, board)
    body = encode(submission_body([health_record()]))
    sessions = app.state.sessions

    def fail(session: Session) -> None:
        raise RuntimeError("disk full")

    event.listen(sessions, "before_commit", fail)
    try:
        # No `with`: the lifespan already ran for `http`; a second one would replace the
        # session factory this test hooks into.
        raw = TestClient(app, raise_server_exceptions=False)
        response = post_submission(raw, board, body, token=token)
    finally:
        event.remove(sessions, "before_commit", fail)

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert count(db, Submission) == 0
    assert count(db, HealthRecord) == 0


@pytest.mark.parametrize("volume", [120])
def test_synthetic_extract_round_trips(
    http: TestClient, board: Credentials, db: Session, volume: int
) -> None:
    from datetime import date

    from services.synthetic import build_submission, generate_health_records
    from tests.factories import EXTRACTED_AT

    records = generate_health_records(
        count=volume,
        la_codes=["W06000015", "W06000014"],
        reference_date=date(2026, 1, 15),
        seed=7,
        sensitive_share=0.05,
        deceased_share=0.05,
    )
    document = build_submission(lhb_code="7A4", records=records, extracted_at=EXTRACTED_AT)

    response = post_submission(http, board, encode(document), compress=True)

    assert response.status_code == 201, response.text
    receipt = response.json()
    retained = sum(receipt["records_by_local_authority"].values())
    assert retained + sum(receipt["not_retained"].values()) == volume
    assert count(db, HealthRecord) == retained
