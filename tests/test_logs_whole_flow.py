"""A whole flow leaves no personal data and no token in the logs."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from services.linkage import LinkageSettings
from services.logs import JsonFormatter
from services.reconciliation.worker import work_once
from tests.factories import (
    Credentials,
    access_token,
    education_record,
    encode,
    health_record,
    make_client,
    nhs_number,
    post_submission,
    put_education_records,
    submission_body,
)

CARDIFF = "W06000015"
AT_SCHOOL = health_record(
    1,
    record_id="r-1",
    given_name="Gwenllïan",
    family_name="Prydderch",
    date_of_birth="2014-07-09",
    nhs_number=nhs_number(31),
    address={"lines": ["5 Lôn Isaf"], "postcode": "CF23 5QQ"},
)
MISSING = health_record(
    2,
    record_id="r-2",
    given_name="Iolo",
    family_name="Bevan",
    date_of_birth="2013-03-03",
    nhs_number=nhs_number(32),
    address={"lines": ["8 Heol Fawr"], "postcode": "CF24 1RR"},
)
PERSONAL = (
    "Gwenllïan",
    "Prydderch",
    "2014-07-09",
    AT_SCHOOL["nhs_number"],
    "CF23 5QQ",
    "Lôn Isaf",
    "Iolo",
    "Bevan",
    "2013-03-03",
    MISSING["nhs_number"],
    "CF24 1RR",
    "Heol Fawr",
)


def test_no_personal_data_or_token_in_any_log(
    app: FastAPI,
    http: TestClient,
    board: Credentials,
    db: Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    officer = make_client(db, org=CARDIFF, scopes=["education:write", "cme:read", "cme:write"])
    government = make_client(db, org="WG", scopes=["statistics:read"])
    db.commit()
    tokens = [
        access_token(http, officer),
        access_token(http, board),
        access_token(http, government),
    ]

    post_submission(http, board, encode(submission_body([AT_SCHOOL, MISSING])), token=tokens[1])
    bad = health_record(3, record_id="r-3", given_name="Iolo", nhs_number="9990001234")
    post_submission(http, board, encode(submission_body([bad])), token=tokens[1])
    put_education_records(
        http,
        officer,
        [
            education_record(
                1,
                given_name="Gwenllïan",
                family_name="Prydderch",
                date_of_birth="2014-07-09",
                address={"lines": ["5 Lôn Isaf"], "postcode": "CF23 5QQ"},
            )
        ],
    )
    work_once(sessions=app.state.sessions, settings=LinkageSettings())
    headers = {"Authorization": f"Bearer {tokens[0]}"}
    cases = http.get(f"/v1/local-authorities/{CARDIFF}/cme-cases", headers=headers).json()["items"]
    http.get(f"/v1/local-authorities/{CARDIFF}/cme-cases", headers=headers | {"Accept": "text/csv"})
    url = f"/v1/local-authorities/{CARDIFF}/cme-cases/{cases[0]['case_id']}"
    etag = http.get(url, headers=headers).headers["etag"]
    http.patch(
        url,
        json={"status": "closed", "outcome": "not_traced"},
        headers=headers | {"If-Match": etag},
    )
    http.get("/v1/statistics", headers={"Authorization": f"Bearer {tokens[2]}"})

    assert [c["child"]["family_name"] for c in cases] == ["Bevan"]  # the flow really ran
    formatter = JsonFormatter()
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    assert "reconciliation finished" in logged
    for secret in (*PERSONAL, *tokens, "9990001234"):
        assert secret not in logged
