"""A CSV of education records that is not UTF-8 (a spreadsheet saved as Windows-1252) gets an
error that says so, or is decoded when Content-Type declares its charset."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.store.tables import EducationRecord
from tests.factories import Credentials, bearer

PATH = "/v1/local-authorities/W06000015/education-records"
SPREADSHEET = (
    "as_of,record_id,given_name,family_name,date_of_birth,provision\r\n"
    "2026-01-20,e1,Mali,Evans,2016-01-05,maintained_school\r\n"
    "2026-01-20,e2,Siân,Gruffydd,2015-03-02,maintained_school\r\n"
).encode("cp1252")


@pytest.mark.parametrize("content_type", ["text/csv", "text/csv; charset=utf-8"])
def test_a_csv_that_is_not_utf8_is_refused_saying_so(
    http: TestClient, cardiff: Credentials, content_type: str
) -> None:
    response = http.put(
        PATH, content=SPREADSHEET, headers={**bearer(http, cardiff), "Content-Type": content_type}
    )

    assert response.status_code == 422, response.text
    [problem] = response.json()["errors"]
    assert problem["code"] == "csv_not_utf8"
    assert problem["pointer"] == ""
    assert "line 3" in problem["detail"]
    assert "charset=windows-1252" in problem["detail"]
    assert "Siân" not in response.text  # no personal data in the error


@pytest.mark.parametrize(
    "content_type", ["text/csv; charset=windows-1252", 'text/csv;charset="CP1252"']
)
def test_a_csv_in_its_declared_charset_is_decoded(
    http: TestClient, cardiff: Credentials, db: Session, content_type: str
) -> None:
    response = http.put(
        PATH, content=SPREADSHEET, headers={**bearer(http, cardiff), "Content-Type": content_type}
    )

    assert response.status_code == 200, response.text
    db.expire_all()
    names = db.scalars(select(EducationRecord.given_name).order_by(EducationRecord.record_id))
    assert list(names) == ["Mali", "Siân"]


def test_an_unknown_charset_is_refused(http: TestClient, cardiff: Credentials) -> None:
    for charset in ("klingon-8", "rot13", "zlib"):
        response = http.put(
            PATH,
            content=SPREADSHEET,
            headers={**bearer(http, cardiff), "Content-Type": f"text/csv; charset={charset}"},
        )

        assert response.status_code == 415, response.text
        assert response.json()["code"] == "unsupported_charset"


def test_bytes_the_declared_charset_does_not_have_are_refused(
    http: TestClient, cardiff: Credentials
) -> None:
    response = http.put(
        PATH,
        content=SPREADSHEET,
        headers={**bearer(http, cardiff), "Content-Type": "text/csv; charset=us-ascii"},
    )

    assert response.status_code == 422, response.text
    assert [p["code"] for p in response.json()["errors"]] == ["csv_charset_mismatch"]
