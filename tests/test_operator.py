"""Operator duties: subject access, erasure, restriction, purge, England transfers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli.main import app as cme
from services.store.tables import AuditEvent, CmeCase, EnglandTransfer
from tests.factories import Credentials, bearer, make_case, make_client, nhs_number

CARDIFF = "W06000015"


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI pointed at the test database (conftest clears the cached settings)."""
    monkeypatch.setenv("CME_DATABASE_URL", database_url)
    return CliRunner()


@pytest.fixture
def officer(db: Session) -> Credentials:
    credentials = make_client(db, org=CARDIFF, scopes=["cme:read", "cme:write"])
    db.commit()
    return credentials


def count_cases(db: Session) -> int:
    db.rollback()
    total = int(db.scalar(select(func.count()).select_from(CmeCase)) or 0)
    db.rollback()
    return total


def test_subject_access_reports_the_case_and_who_read_it(
    http: TestClient, officer: Credentials, db: Session, cli_env: CliRunner
) -> None:
    number = nhs_number(555)
    case = make_case(db, child={"nhs_number": number, "given_name": "Mabli"})
    make_case(db)
    http.get(
        f"/v1/local-authorities/{CARDIFF}/cme-cases/{case.case_id}", headers=bearer(http, officer)
    )
    db.rollback()

    result = cli_env.invoke(cme, ["subject-access", "--la", CARDIFF, "--nhs-number", number])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [c["case_id"] for c in report["cases"]] == [case.case_id]
    assert report["cases"][0]["child"]["given_name"] == "Mabli"
    assert {"client_id": officer.client_id, "action": "case.read"}.items() <= report["accesses"][
        0
    ].items()


def test_restricted_cases_are_shown_to_no_one_until_lifted(
    http: TestClient, officer: Credentials, db: Session, cli_env: CliRunner
) -> None:
    case = make_case(db)
    db.rollback()
    url = f"/v1/local-authorities/{CARDIFF}/cme-cases/{case.case_id}"

    assert cli_env.invoke(cme, ["restrict", "--case-id", case.case_id]).exit_code == 0
    hidden = http.get(url, headers=bearer(http, officer)).status_code
    listed = http.get(
        f"/v1/local-authorities/{CARDIFF}/cme-cases", headers=bearer(http, officer)
    ).json()
    assert cli_env.invoke(cme, ["restrict", "--case-id", case.case_id, "--lift"]).exit_code == 0

    assert hidden == 404
    assert listed["items"] == []
    assert http.get(url, headers=bearer(http, officer)).status_code == 200


def test_erasure_removes_the_case_and_is_audited(db: Session, cli_env: CliRunner) -> None:
    case = make_case(db)
    db.rollback()

    result = cli_env.invoke(cme, ["erase", "--case-id", case.case_id])

    assert result.exit_code == 0, result.output
    assert count_cases(db) == 0
    assert (
        db.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "case.erased")
        )
        == 1
    )
    db.rollback()


def test_erasing_an_unknown_case_fails_cleanly(cli_env: CliRunner) -> None:
    result = cli_env.invoke(cme, ["erase", "--case-id", "00000000-0000-4000-8000-000000000000"])

    assert result.exit_code == 2


def test_purge_deletes_closed_cases_past_retention_only(db: Session, cli_env: CliRunner) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=400)
    make_case(db, status="closed", outcome="not_traced", closed_at=long_ago)
    make_case(db, status="closed", outcome="not_traced", closed_at=datetime.now(UTC))
    make_case(db)
    db.rollback()

    result = cli_env.invoke(cme, ["purge"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["closed_cases_deleted"] == 1
    assert count_cases(db) == 2


def test_england_transfer_is_listed_then_exported_and_forgotten(
    http: TestClient, officer: Credentials, db: Session
) -> None:
    case = make_case(db)
    db.rollback()
    url = f"/v1/local-authorities/{CARDIFF}/cme-cases/{case.case_id}"
    headers = bearer(http, officer)
    etag = http.get(url, headers=headers).headers["etag"]
    http.patch(
        url,
        json={
            "status": "closed",
            "outcome": "moved_to_another_authority",
            "receiving_local_authority": "england",
        },
        headers=headers | {"If-Match": etag},
    )

    pending = http.get(
        f"/v1/local-authorities/{CARDIFF}/england-transfers", headers=headers
    ).json()["items"]
    transfer_id = pending[0]["transfer_id"]
    exported = http.post(
        f"/v1/local-authorities/{CARDIFF}/england-transfers/{transfer_id}/exported", headers=headers
    ).json()
    after = http.get(f"/v1/local-authorities/{CARDIFF}/england-transfers", headers=headers).json()[
        "items"
    ]

    assert pending[0]["child"]["family_name"] == "Llewellyn"
    assert pending[0]["overdue"] is False
    assert exported["child"] == {}
    assert after == []
    db.rollback()
    stored = db.get(EnglandTransfer, transfer_id)
    assert stored is not None
    assert stored.child == {}
    db.rollback()


def test_another_authority_cannot_see_england_transfers(
    http: TestClient, officer: Credentials, db: Session
) -> None:
    newport = make_client(db, org="W06000022", scopes=["cme:read", "cme:write"])
    db.commit()

    response = http.get(
        f"/v1/local-authorities/{CARDIFF}/england-transfers", headers=bearer(http, newport)
    )

    assert response.status_code == 404


def test_overdue_welsh_handovers_are_visible_to_operators(db: Session, cli_env: CliRunner) -> None:
    make_case(
        db,
        la_code="W06000022",
        transferred_from_la_code=CARDIFF,
        transfer_started_at=datetime.now(UTC) - timedelta(days=30),
    )
    db.rollback()

    result = cli_env.invoke(cme, ["transfers", "overdue"])

    assert result.exit_code == 0, result.output
    assert "W06000022" in result.stdout
