"""Every problem in an upload comes back in one answer: a record's own rules, field
formats and the rules across records, for submissions and education records, JSON and CSV.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import (
    Credentials,
    bearer,
    education_record,
    encode,
    health_record,
    nhs_number,
    post_submission,
    put_education_records,
    submission_body,
)


def problems(response: object) -> set[tuple[str, str]]:
    body = response.json()  # type: ignore[attr-defined]
    return {(e["pointer"], e["code"]) for e in body["errors"]}


def test_an_education_upload_reports_every_problem_at_once(
    http: TestClient, cardiff: Credentials
) -> None:
    records = [
        education_record(0, provision="ehe"),  # no ehe_suitability
        education_record(1, upn="A681000012345"),  # a bad UPN
        education_record(2, record_id="upn-000000"),  # the first one's id again
        education_record(3, date_of_birth="2026-02-01"),  # after as_of
    ]

    response = put_education_records(http, cardiff, records)

    assert response.status_code == 422
    assert problems(response) == {
        ("/records/0/ehe_suitability", "ehe_suitability_required"),
        ("/records/1/upn", "upn_invalid"),
        ("/records/2/record_id", "duplicate_record_id"),
        ("/records/3/date_of_birth", "date_of_birth_in_future"),
    }


def test_a_csv_upload_reports_every_problem_at_once(http: TestClient, cardiff: Credentials) -> None:
    csv_text = (
        "as_of,record_id,given_name,family_name,date_of_birth,provision,ehe_suitability,upn\n"
        "2026-01-20,e1,Siôn,Davies,2014-09-01,ehe,,\n"
        "2026-01-20,e2,Mali,Evans,2016-01-05,maintained_school,,A681000012345\n"
        "2026-01-20,e1,Nia,Evans,2016-01-05,maintained_school,assured,\n"
    )

    response = http.put(
        "/v1/local-authorities/W06000015/education-records",
        content=csv_text.encode(),
        headers={**bearer(http, cardiff), "Content-Type": "text/csv"},
    )

    assert response.status_code == 422
    assert problems(response) == {
        ("/records/0/ehe_suitability", "ehe_suitability_required"),
        ("/records/1/upn", "upn_invalid"),
        ("/records/2/ehe_suitability", "ehe_suitability_not_allowed"),
        ("/records/2/record_id", "duplicate_record_id"),
    }


def test_a_submission_reports_every_problem_at_once(http: TestClient, board: Credentials) -> None:
    records = [
        health_record(0, sensitive=True),  # a sensitive child with an address
        health_record(1, nhs_number="9990001234"),  # fails the check digit
        health_record(2, record_id="cav-000000"),  # the first one's id again
        health_record(3, date_of_death="2001-01-01"),  # before birth
        health_record(4, nhs_number=nhs_number(4), address=None),  # no address
    ]

    response = post_submission(http, board, encode(submission_body(records)))

    assert response.status_code == 422
    assert problems(response) == {
        ("/records/0/address", "address_not_allowed_for_sensitive"),
        ("/records/1/nhs_number", "nhs_number_checksum"),
        ("/records/2/record_id", "duplicate_record_id"),
        ("/records/3/date_of_death", "date_of_death_before_birth"),
        ("/records/4/address", "required"),
    }
