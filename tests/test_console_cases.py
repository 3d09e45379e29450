"""The officer's work in the console: worklist with clocks, case page, outcomes and notes
with the API's ETag rule, reviews, access history, runs, both languages; always as the
signed-in officer, within their authority and clearance, and audited naming them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.reconciliation.queue import enqueue
from services.store.tables import AuditEvent, CmeCase, ReviewDecision
from tests.console import (
    SignedInOfficer,
    console_client,
    hidden,
    signed_in_officer,
)
from tests.factories import Credentials, bearer, make_case

CARDIFF = "W06000015"
SWANSEA = "W06000011"


@pytest.fixture
def console(app: FastAPI, http: TestClient) -> TestClient:
    return console_client(app)


@pytest.fixture
def officer(console: TestClient, db: Session) -> SignedInOfficer:
    return signed_in_officer(console, db)


def case_row(db: Session, case_id: str) -> CmeCase:
    db.rollback()
    found = db.get(CmeCase, case_id, populate_existing=True)
    assert found is not None
    # Let go of the database (on SQLite a transaction holds the write lock).
    db.expunge_all()
    db.rollback()
    return found


def form(page: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": hidden(page, "csrf_token"), "etag": hidden(page, "etag"), **fields}


def test_the_worklist_links_the_authoritys_cases_and_only_those(
    console: TestClient, db: Session, officer: SignedInOfficer
) -> None:
    own = make_case(db)
    elsewhere = make_case(db, la_code=SWANSEA, child={"given_name": "Elsewhere"})

    page = console.get("/console/cases")

    assert page.status_code == 200
    assert f'href="/console/cases/{own.case_id}"' in page.text
    assert elsewhere.case_id not in page.text
    assert "Elsewhere" not in page.text
    for path in ("", "/access", "/review"):
        refused = console.get(f"/console/cases/{elsewhere.case_id}{path}")
        assert refused.status_code == 404
        assert "Elsewhere" not in refused.text


def test_sensitive_cases_only_for_cleared_officers_and_never_an_address(
    app: FastAPI, console: TestClient, db: Session, officer: SignedInOfficer
) -> None:
    sensitive = make_case(db, sensitive=True, child={"given_name": "Cudd"})

    assert sensitive.case_id not in console.get("/console/cases").text
    assert console.get(f"/console/cases/{sensitive.case_id}").status_code == 404

    cleared = console_client(app)
    signed_in_officer(cleared, db, sensitive=True)
    page = cleared.get(f"/console/cases/{sensitive.case_id}")
    assert page.status_code == 200
    assert "Cudd" in page.text
    assert "Not held:" in page.text
    assert "CF11" not in page.text
    assert sensitive.case_id in cleared.get("/console/cases").text


def test_an_outcome_recorded_in_the_console_is_what_the_api_shows(
    console: TestClient,
    http: TestClient,
    db: Session,
    officer: SignedInOfficer,
    cardiff: Credentials,
) -> None:
    case = make_case(db)
    page = console.get(f"/console/cases/{case.case_id}").text
    assert re.search(r'data-testid="case-status">open<', page)

    recorded = console.post(
        f"/console/cases/{case.case_id}/outcome",
        data=form(page, outcome="registered_at_school", note="Ar gofrestr Ysgol y Wern."),
    )

    assert recorded.status_code == 303
    assert recorded.headers["location"] == f"/console/cases/{case.case_id}"
    shown = http.get(
        f"/v1/local-authorities/{CARDIFF}/cme-cases/{case.case_id}", headers=bearer(http, cardiff)
    ).json()
    assert (shown["status"], shown["outcome"], shown["note"]) == (
        "closed",
        "registered_at_school",
        "Ar gofrestr Ysgol y Wern.",
    )
    after = console.get(f"/console/cases/{case.case_id}").text
    assert re.search(r'data-testid="case-status">closed<', after)
    assert "Case closed" in after
    db.rollback()
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "cme_case").order_by(AuditEvent.seq)
    ).all()
    by_officer = [(e.action, e.officer, e.org_code, e.client_id) for e in events if e.officer]
    assert ("case.read", officer.subject, CARDIFF, None) in by_officer
    assert ("case.updated", officer.subject, CARDIFF, None) in by_officer


def test_a_stale_etag_shows_the_conflict_and_changes_nothing(
    console: TestClient, db: Session, officer: SignedInOfficer
) -> None:
    case = make_case(db)
    first = console.get(f"/console/cases/{case.case_id}").text
    noted = console.post(
        f"/console/cases/{case.case_id}/note", data=form(first, note="Rang the school.")
    )
    assert noted.status_code == 303
    version = case_row(db, case.case_id).version

    stale = console.post(
        f"/console/cases/{case.case_id}/outcome",
        data=form(first, outcome="not_traced", note="Written on an old copy."),
    )

    assert stale.status_code == 409
    assert 'data-testid="conflict"' in stale.text
    assert "Rang the school." in stale.text  # the case as it is now
    assert "Written on an old copy." in stale.text  # what the officer wrote, kept
    assert hidden(stale.text, "etag") != hidden(first, "etag")
    unchanged = case_row(db, case.case_id)
    assert (unchanged.status, unchanged.version) == ("open", version)


def test_a_refused_change_says_why_and_changes_nothing(
    console: TestClient, db: Session, officer: SignedInOfficer
) -> None:
    case = make_case(db)
    page = console.get(f"/console/cases/{case.case_id}").text

    refused = console.post(
        f"/console/cases/{case.case_id}/outcome",
        data=form(page, outcome="moved_to_another_authority"),
    )
    forged = console.post(
        f"/console/cases/{case.case_id}/outcome",
        data=form(page, outcome="not_traced") | {"csrf_token": "not-the-token"},
    )

    assert refused.status_code == 422
    assert "Choose the authority the child moved to." in refused.text
    assert forged.status_code == 403
    assert case_row(db, case.case_id).status == "open"


def test_a_move_to_another_welsh_authority_opens_its_case(
    console: TestClient, db: Session, officer: SignedInOfficer
) -> None:
    case = make_case(db)
    page = console.get(f"/console/cases/{case.case_id}").text
    assert f'value="{CARDIFF}"' not in page  # not a move to itself
    assert 'value="england"' in page

    moved = console.post(
        f"/console/cases/{case.case_id}/outcome",
        data=form(page, outcome="moved_to_another_authority", receiving_local_authority=SWANSEA),
    )

    assert moved.status_code == 303
    db.rollback()
    received = db.scalars(select(CmeCase).where(CmeCase.la_code == SWANSEA)).one()
    assert (received.status, received.transferred_from_la_code) == ("open", CARDIFF)


def candidate(record_id: str, provision: str, **extra: Any) -> dict[str, Any]:
    return {
        "education_record_id": record_id,
        "provision": provision,
        "ehe_suitability": None,
        "match_probability": 0.61,
        "agreement": {"family_name": "exact", "given_name": "fuzzy", "postcode": "different"},
        **extra,
    }


def test_review_shows_candidates_beside_the_health_record_and_remembers_the_answer(
    console: TestClient, db: Session, officer: SignedInOfficer
) -> None:
    weights = {"prior": -6.6, "family_name": 5.1, "given_name": 2.3, "postcode": -3.0}
    case = make_case(
        db,
        reason="possible_match_needs_review",
        candidates=[
            candidate("upn-A", "maintained_school", match_weights=weights),
            candidate("upn-B", "ehe"),
        ],
    )

    page = console.get(f"/console/cases/{case.case_id}/review")

    assert page.status_code == 200
    assert 'data-testid="candidates"' in page.text
    assert "Llewellyn" in page.text  # the health record's value beside the agreement
    assert "Agrees closely (likely a typing error)" in page.text
    assert "-6.6" in page.text
    assert "+5.1" in page.text
    assert 'name="education_record_id" value="none"' in page.text
    case_page = console.get(f"/console/cases/{case.case_id}").text
    assert 'data-testid="candidates"' in case_page

    decided = console.post(
        f"/console/cases/{case.case_id}/review",
        data=form(page.text, education_record_id="none"),
    )

    assert decided.status_code == 303
    settled = case_row(db, case.case_id)
    assert (settled.status, settled.reason) == ("open", "not_found_in_education_records")
    remembered = db.get(ReviewDecision, (case.la_code, case.source_lhb_code, case.source_record_id))
    assert remembered is not None
    assert (remembered.education_record_id, remembered.decided_by) == (None, officer.subject)


def test_choosing_a_school_record_closes_the_case(
    console: TestClient, db: Session, officer: SignedInOfficer
) -> None:
    case = make_case(
        db,
        reason="possible_match_needs_review",
        candidates=[candidate("upn-A", "maintained_school")],
    )
    page = console.get(f"/console/cases/{case.case_id}/review").text

    console.post(
        f"/console/cases/{case.case_id}/review", data=form(page, education_record_id="upn-A")
    )

    closed = case_row(db, case.case_id)
    assert (closed.status, closed.outcome) == ("closed", "registered_at_school")


def test_the_worklist_shows_clocks_and_filters_by_them(
    console: TestClient, db: Session, officer: SignedInOfficer
) -> None:
    now = datetime.now(UTC)
    overdue = make_case(
        db,
        transferred_from_la_code=SWANSEA,
        transfer_started_at=now - timedelta(days=30),
        child={"given_name": "Hwyr"},
    )
    waiting = make_case(
        db,
        reason="possible_match_needs_review",
        identified_at=now - timedelta(days=3),
        child={"given_name": "Aros"},
    )

    page = console.get("/console/cases").text
    only_overdue = console.get("/console/cases", params={"clock": "overdue"}).text
    reviews = console.get(
        "/console/cases", params={"reason": "possible_match_needs_review", "status": "open"}
    ).text

    overdue_row = next(r for r in page.split("<tr") if overdue.case_id in r)
    assert 'class="overdue"' in overdue_row
    assert "Overdue" in overdue_row  # said in words, not by colour alone
    assert "Review waiting 3 days" in page
    assert overdue.case_id in only_overdue
    assert waiting.case_id not in only_overdue
    assert waiting.case_id in reviews
    assert overdue.case_id not in reviews
    assert console.get("/console/cases", params={"clock": "soon"}).status_code == 400


def test_access_history_names_officers_and_clients(
    console: TestClient,
    http: TestClient,
    db: Session,
    officer: SignedInOfficer,
    cardiff: Credentials,
) -> None:
    case = make_case(db)
    http.get(
        f"/v1/local-authorities/{CARDIFF}/cme-cases/{case.case_id}", headers=bearer(http, cardiff)
    )
    console.get(f"/console/cases/{case.case_id}")

    page = console.get(f"/console/cases/{case.case_id}/access")

    assert page.status_code == 200
    history = page.text.split('data-testid="access-history"', 1)[1]
    assert f"Officer {officer.subject}" in history
    assert f"System {cardiff.client_id}" in history
    assert "Viewed the case" in history
    db.rollback()
    read = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.access_history_read")
    ).one()
    assert (read.officer, read.org_code, read.object_ids) == (
        officer.subject,
        CARDIFF,
        [case.case_id],
    )


def test_runs_and_a_runs_summary(
    console: TestClient, db: Session, officer: SignedInOfficer
) -> None:
    job = enqueue(session=db, la_code=CARDIFF, trigger="education_records")
    job.status, job.finished_at = "succeeded", datetime.now(UTC)
    job.summary = {
        "health_records_considered": 120,
        "matched_by_provision": {"ehe": 2, "maintained_school": 100},
        "cases_opened": 7,
        "cases_closed": 1,
        "cases_open": 9,
        "sensitive_cases": {"cases_opened": 2, "cases_closed": 0, "cases_open": 3},
    }
    other = enqueue(session=db, la_code=SWANSEA, trigger="manual")
    db.commit()

    runs = console.get("/console/runs").text
    detail = console.get(f"/console/runs/{job.reconciliation_id}")

    assert 'data-testid="runs"' in runs
    assert f'href="/console/runs/{job.reconciliation_id}"' in runs
    assert other.reconciliation_id not in runs
    assert detail.status_code == 200
    assert "Health records considered" in detail.text
    # Without clearance the sensitive children's cases are not counted.
    assert re.search(r"Cases opened</th><td>5<", detail.text)
    assert console.get(f"/console/runs/{other.reconciliation_id}").status_code == 404


def test_welsh_is_chosen_remembered_and_written_throughout(
    console: TestClient, db: Session, officer: SignedInOfficer
) -> None:
    case = make_case(db, child={"date_of_birth": "2014-03-01"})

    chosen = console.get("/console/cases?lang=cy")
    remembered = console.get(f"/console/cases/{case.case_id}")
    back = console.get("/console/cases?lang=en")

    assert '<html lang="cy">' in chosen.text
    assert "Rhestr waith" in chosen.text
    assert "cme_console_lang=cy" in chosen.headers["set-cookie"]
    assert '<html lang="cy">' in remembered.text
    assert "1 Mawrth 2014" in remembered.text
    assert "Allgofnodi" in remembered.text
    assert "Siân Prydderch, Caerdydd" in remembered.text
    assert f'<option value="{SWANSEA}">Abertawe</option>' in remembered.text
    assert '<html lang="en">' in back.text
    assert "1 March 2014" in console.get(f"/console/cases/{case.case_id}").text
