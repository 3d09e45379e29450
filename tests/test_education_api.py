"""PUT /v1/local-authorities/{la_code}/education-records."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas.identifiers import upn_check_letter
from services.store.tables import AuditEvent, EducationRecord, EducationSet
from tests.factories import (
    Credentials,
    bearer,
    education_record,
    make_client,
    put_education_records,
)


def education_rows(db: Session) -> list[EducationRecord]:
    db.expire_all()
    return list(db.scalars(select(EducationRecord).order_by(EducationRecord.record_id)))


def welsh_upn(la_number: str = "681") -> str:
    body = f"{la_number}000012345"
    return upn_check_letter(body) + body


def test_education_records_replace_the_authoritys_set(
    http: TestClient, cardiff: Credentials, db: Session
) -> None:
    put_education_records(http, cardiff, [education_record(1), education_record(2)])

    response = put_education_records(
        http,
        cardiff,
        [
            education_record(3, upn=welsh_upn()),
            education_record(4, provision="ehe", ehe_suitability="assured", provider_name=None),
        ],
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "la_code": "W06000015",
        "as_of": "2026-01-20",
        "record_count": 2,
        "records_by_provision": {"ehe": 1, "maintained_school": 1},
        "reconciliation_id": None,
    }
    assert [r.record_id for r in education_rows(db)] == ["upn-000003", "upn-000004"]
    education_set = db.get(EducationSet, "W06000015")
    assert education_set is not None
    assert education_set.consumed_at is None
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "education_records.replaced")
        )
        == 2
    )


def test_csv_upload_is_accepted_with_flattened_columns(
    http: TestClient, cardiff: Credentials, db: Session
) -> None:
    csv_text = (
        "as_of,record_id,given_name,family_name,date_of_birth,sex,provision,ehe_suitability,"
        "address_line_1,postcode,former_given_name_1,former_family_name_1\n"
        "2026-01-20,e1,Siôn,Davies,2014-09-01,M,ehe,not_assured,1 Stryd Fawr,cf101aa,,Price\n"
        "2026-01-20,e2,Mali,Evans,2016-01-05,F,independent_school,,,,,\n"
    )

    response = http.put(
        "/v1/local-authorities/W06000015/education-records",
        content=csv_text.encode(),
        headers={**bearer(http, cardiff), "Content-Type": "text/csv"},
    )

    assert response.status_code == 200, response.text
    first, second = education_rows(db)
    assert (first.postcode, first.address_lines, first.former_names) == (
        "CF10 1AA",
        ["1 Stryd Fawr"],
        [{"given_name": None, "family_name": "Price"}],
    )
    assert (second.provision, second.postcode) == ("independent_school", None)


@pytest.mark.parametrize(
    ("change", "pointer", "code"),
    [
        ({"provision": "ehe"}, "/records/1/ehe_suitability", "ehe_suitability_required"),
        (
            {"ehe_suitability": "assured"},
            "/records/1/ehe_suitability",
            "ehe_suitability_not_allowed",
        ),
        ({"upn": "A681000012345"}, "/records/1/upn", "upn_invalid"),
        ({"provision": "home"}, "/records/1/provision", "not_allowed_value"),
        ({"record_id": "upn-000000"}, "/records/1/record_id", "duplicate_record_id"),
        ({"shoe_size": 3}, "/records/1/shoe_size", "unknown_field"),
        ({"nhs_number": "9990001234"}, "/records/1/nhs_number", "nhs_number_checksum"),
    ],
)
def test_invalid_education_records_change_nothing(
    http: TestClient,
    cardiff: Credentials,
    db: Session,
    change: dict[str, object],
    pointer: str,
    code: str,
) -> None:
    put_education_records(http, cardiff, [education_record(9)])

    response = put_education_records(
        http, cardiff, [education_record(0), education_record(1, **change)]
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert {"pointer": pointer, "code": code} in [
        {"pointer": e["pointer"], "code": e["code"]} for e in response.json()["errors"]
    ]
    assert [r.record_id for r in education_rows(db)] == ["upn-000009"]


def test_welsh_upns_from_every_authority_are_valid(http: TestClient, cardiff: Credentials) -> None:
    records = [education_record(n, upn=welsh_upn(str(n))) for n in range(660, 682)]

    assert put_education_records(http, cardiff, records).status_code == 200


def test_another_authoritys_path_is_not_found(
    http: TestClient, cardiff: Credentials, db: Session
) -> None:
    response = put_education_records(http, cardiff, [education_record()], la_code="W06000022")

    assert response.status_code == 404
    assert education_rows(db) == []


def test_a_health_board_cannot_write_education_records(http: TestClient, db: Session) -> None:
    board = make_client(db, org="7A4", scopes=["submissions:write"])
    db.commit()

    response = put_education_records(http, board, [education_record()], la_code="W06000015")

    assert response.status_code == 403
    assert education_rows(db) == []


def test_wrong_content_type_is_refused(http: TestClient, cardiff: Credentials) -> None:
    response = http.put(
        "/v1/local-authorities/W06000015/education-records",
        content=b"<xml/>",
        headers={**bearer(http, cardiff), "Content-Type": "application/xml"},
    )

    assert response.status_code == 415
