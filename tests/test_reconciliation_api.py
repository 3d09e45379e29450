"""Reconciliation end to end: submissions + education records in, cases out, the rest
deleted."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from services.linkage import LinkageSettings
from services.reconciliation import run as run_module
from services.reconciliation.worker import work_once
from services.store.tables import (
    CmeCase,
    EducationRecord,
    EducationSet,
    HealthRecord,
    Reconciliation,
    Submission,
)
from tests.factories import (
    Credentials,
    bearer,
    education_record,
    encode,
    health_record,
    make_client,
    nhs_number,
    post_submission,
    put_education_records,
    submission_body,
)

AT_SCHOOL = health_record(
    1,
    record_id="h-school",
    given_name="Anwen",
    family_name="Bowen",
    date_of_birth="2014-06-11",
    nhs_number=nhs_number(101),
    address={"lines": ["3 Ffordd Llandaf"], "postcode": "CF5 2AB"},
)
EHE_ASSURED = health_record(
    2,
    record_id="h-ehe-ok",
    given_name="Gruffudd",
    family_name="Pugh",
    date_of_birth="2013-02-20",
    address={"lines": ["9 Heol y Felin"], "postcode": "CF14 4XY"},
)
EHE_NOT_ASSURED = health_record(
    3,
    record_id="h-ehe-no",
    given_name="Lowri",
    family_name="Vaughan",
    date_of_birth="2016-10-01",
    address={"lines": ["21 Stryd y Castell"], "postcode": "CF10 1BH"},
)
MISSING = health_record(
    4,
    record_id="h-missing",
    given_name="Tomos",
    family_name="Llewellyn",
    date_of_birth="2012-12-12",
    address={"lines": ["7 Heol Penarth"], "postcode": "CF11 7QT"},
)
SENSITIVE = {
    **health_record(
        5,
        record_id="h-sensitive",
        given_name="Eira",
        family_name="Meredith",
        date_of_birth="2015-05-05",
        sensitive=True,
    )
}
del SENSITIVE["address"]

EDUCATION = [
    education_record(
        1,
        given_name="Anwen",
        family_name="Bowen",
        date_of_birth="2014-06-11",
        address={"lines": ["3 Ffordd Llandaf"], "postcode": "CF5 2AB"},
    ),
    education_record(
        2,
        given_name="Griffith",
        family_name="Pugh",
        date_of_birth="2013-02-20",
        address={"lines": ["9 Heol y Felin"], "postcode": "CF14 4XY"},
        provision="ehe",
        ehe_suitability="assured",
        provider_name=None,
    ),
    education_record(
        3,
        given_name="Lowri",
        family_name="Vaughan",
        date_of_birth="2016-10-01",
        address={"lines": ["21 Stryd y Castell"], "postcode": "CF10 1BH"},
        provision="ehe",
        ehe_suitability="not_assured",
        provider_name=None,
    ),
]


def run_queued(app: FastAPI) -> str | None:
    return work_once(sessions=app.state.sessions, settings=LinkageSettings())


def arrange(http: TestClient, board: Credentials, cardiff: Credentials) -> dict[str, Any]:
    receipt = post_submission(
        http,
        board,
        encode(submission_body([AT_SCHOOL, EHE_ASSURED, EHE_NOT_ASSURED, MISSING, SENSITIVE])),
    ).json()
    assert put_education_records(http, cardiff, EDUCATION).status_code == 200
    return dict(receipt)


def cases(db: Session) -> dict[str, CmeCase]:
    """The cases as they are now, detached, and the test's transaction ended: on SQLite
    every transaction holds the write lock, so the test must not keep one open."""
    db.rollback()
    found = {c.source_record_id: c for c in db.scalars(select(CmeCase))}
    db.expunge_all()
    db.rollback()
    return found


def test_only_children_missing_education_remain(
    app: FastAPI, http: TestClient, board: Credentials, cardiff: Credentials, db: Session
) -> None:
    receipt = arrange(http, board, cardiff)

    job_id = run_queued(app)

    assert job_id is not None
    response = http.get(
        f"/v1/local-authorities/W06000015/reconciliations/{job_id}", headers=bearer(http, cardiff)
    )
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "succeeded"
    assert job["trigger"] == "education_records"
    summary = job["summary"]
    assert summary["health_records_considered"] == 5
    assert summary["matched_by_provision"] == {"ehe": 2, "maintained_school": 1}
    # Three cases, one of them a sensitive child's, which this officer may not see.
    assert (summary["cases_opened"], summary["cases_open"]) == (2, 2)
    assert "sensitive_cases" not in summary
    assert summary["health_records_deleted"] == 5
    assert summary["education_records_deleted"] == 3
    assert summary["submission_bodies_deleted"] == 1

    found = cases(db)
    assert {k: c.reason for k, c in found.items()} == {
        "h-ehe-no": "ehe_suitability_not_assured",
        "h-missing": "not_found_in_education_records",
        "h-sensitive": "not_found_in_education_records",
    }
    assert found["h-sensitive"].sensitive is True
    assert found["h-sensitive"].child["address"] is None
    assert found["h-missing"].child["address"]["postcode"] == "CF11 7QT"
    assert found["h-ehe-no"].candidates[0]["provision"] == "ehe"

    db.expire_all()
    assert db.scalar(select(func.count()).select_from(HealthRecord)) == 0
    assert db.scalar(select(func.count()).select_from(EducationRecord)) == 0
    submission = db.get(Submission, (receipt["submission_id"], receipt["lhb_code"]))
    assert submission is not None
    assert submission.body_gzip is None
    assert submission.body_sha256 == receipt["body_sha256"]
    assert submission.signature


def test_nothing_remains_anywhere_about_children_not_missing(
    app: FastAPI, http: TestClient, board: Credentials, cardiff: Credentials, db: Session
) -> None:
    arrange(http, board, cardiff)
    run_queued(app)

    dump = _dump_every_table(db)

    for trace in (
        "Anwen",
        "Bowen",
        AT_SCHOOL["nhs_number"],
        "Gruffudd",
        "Griffith",
        "Ffordd Llandaf",
        "CF5 2AB",
    ):
        assert trace not in dump
    assert "Llewellyn" in dump  # the missing child's case keeps what it needs


def _dump_every_table(db: Session) -> str:
    bind = db.get_bind()
    parts = []
    for table in inspect(bind).get_table_names():
        for row in db.execute(text(f"SELECT * FROM {table}")):  # noqa: S608 (names from the schema)
            parts.append(repr(tuple(row)))
    return "\n".join(parts)


def test_rerunning_on_the_same_data_changes_nothing(
    app: FastAPI, http: TestClient, board: Credentials, cardiff: Credentials, db: Session
) -> None:
    arrange(http, board, cardiff)
    run_queued(app)
    before = {k: (c.case_id, c.version, c.updated_at) for k, c in cases(db).items()}

    arrange(http, board, cardiff)
    run_queued(app)

    after = {k: (c.case_id, c.version, c.updated_at) for k, c in cases(db).items()}
    assert after == before


def test_a_child_later_found_at_school_has_the_case_closed(
    app: FastAPI, http: TestClient, board: Credentials, cardiff: Credentials, db: Session
) -> None:
    arrange(http, board, cardiff)
    run_queued(app)
    case_id = cases(db)["h-missing"].case_id

    post_submission(http, board, encode(submission_body([MISSING])))
    put_education_records(
        http,
        cardiff,
        [
            education_record(
                4,
                given_name="Tomos",
                family_name="Llewellyn",
                date_of_birth="2012-12-12",
                address={"lines": ["7 Heol Penarth"], "postcode": "CF11 7QT"},
            )
        ],
    )
    run_queued(app)

    case = cases(db)["h-missing"]
    assert (case.case_id, case.status, case.outcome) == (case_id, "closed", "registered_at_school")


def test_a_failed_run_leaves_the_previous_state_intact(
    app: FastAPI,
    http: TestClient,
    board: Credentials,
    cardiff: Credentials,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    arrange(http, board, cardiff)

    def broken(**_: object) -> None:
        raise RuntimeError("linkage crashed")

    monkeypatch.setattr(run_module, "link", broken)
    job_id = run_queued(app)

    db.expire_all()
    job = db.get(Reconciliation, job_id)
    assert job is not None
    assert (job.status, job.error_code) == ("failed", "reconciliation_error")
    assert db.scalar(select(func.count()).select_from(HealthRecord)) == 5
    assert db.scalar(select(func.count()).select_from(EducationRecord)) == 3
    assert cases(db) == {}
    education_set = db.get(EducationSet, "W06000015")
    assert education_set is not None
    assert education_set.consumed_at is None


def test_manual_reconciliation_is_queued_and_located(
    http: TestClient, cardiff: Credentials
) -> None:
    put_education_records(http, cardiff, [education_record()])

    response = http.post(
        "/v1/local-authorities/W06000015/reconciliations", headers=bearer(http, cardiff)
    )

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert response.headers["location"].endswith(body["reconciliation_id"])


def test_reconciliation_needs_education_records(http: TestClient, cardiff: Credentials) -> None:
    response = http.post(
        "/v1/local-authorities/W06000015/reconciliations", headers=bearer(http, cardiff)
    )

    assert response.status_code == 409
    assert response.json()["code"] == "education_records_required"


def test_another_authority_cannot_see_or_start_reconciliations(
    app: FastAPI, http: TestClient, board: Credentials, cardiff: Credentials, db: Session
) -> None:
    arrange(http, board, cardiff)
    job_id = run_queued(app)
    newport = make_client(db, org="W06000022", scopes=["cme:read", "cme:write"])
    db.commit()

    read = http.get(
        f"/v1/local-authorities/W06000015/reconciliations/{job_id}", headers=bearer(http, newport)
    )
    own_path = http.get(
        f"/v1/local-authorities/W06000022/reconciliations/{job_id}", headers=bearer(http, newport)
    )
    start = http.post(
        "/v1/local-authorities/W06000015/reconciliations", headers=bearer(http, newport)
    )

    assert (read.status_code, own_path.status_code, start.status_code) == (404, 404, 404)
    assert "summary" not in read.text


def test_sqlite_deletes_do_not_linger_in_free_pages(app: FastAPI, http: TestClient) -> None:
    engine = app.state.engine
    if engine.dialect.name != "sqlite":
        assert engine.dialect.name == "postgresql"
        return
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


def test_a_reported_death_closes_the_case_before_the_receipt(
    app: FastAPI, http: TestClient, board: Credentials, cardiff: Credentials, db: Session
) -> None:
    arrange(http, board, cardiff)
    run_queued(app)

    response = post_submission(
        http,
        board,
        encode(submission_body([{**MISSING, "date_of_death": "2026-01-10"}], extract_type="delta")),
    )

    assert response.status_code == 201
    case = cases(db)["h-missing"]
    assert (case.status, case.outcome, case.do_not_contact) == ("closed", "deceased", True)


def test_a_later_extract_listing_the_child_alive_does_not_reopen_a_death(
    app: FastAPI, http: TestClient, board: Credentials, cardiff: Credentials, db: Session
) -> None:
    arrange(http, board, cardiff)
    run_queued(app)
    post_submission(
        http,
        board,
        encode(submission_body([{**MISSING, "date_of_death": "2026-01-10"}], extract_type="delta")),
    )

    arrange(http, board, cardiff)
    run_queued(app)

    case = cases(db)["h-missing"]
    assert (case.status, case.outcome, case.do_not_contact) == ("closed", "deceased", True)


def test_run_counts_cover_only_the_cases_the_caller_may_see(
    app: FastAPI, http: TestClient, board: Credentials, cardiff: Credentials, db: Session
) -> None:
    senior = make_client(db, org="W06000015", scopes=["cme:read", "cme:sensitive"])
    db.commit()
    arrange(http, board, cardiff)
    job_id = run_queued(app)
    url = f"/v1/local-authorities/W06000015/reconciliations/{job_id}"

    counts = {}
    for who, credentials in (("officer", cardiff), ("senior", senior)):
        summary = http.get(url, headers=bearer(http, credentials)).json()["summary"]
        listed = http.get(
            "/v1/local-authorities/W06000015/cme-cases", headers=bearer(http, credentials)
        ).json()["items"]
        counts[who] = (summary["cases_opened"], summary["cases_open"], len(listed))

    assert counts == {"officer": (2, 2, 2), "senior": (3, 3, 3)}
