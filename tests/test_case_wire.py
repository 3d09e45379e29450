"""Stored cases and England transfers shaped for the wire; pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.cases.transfers import TRANSFER_DAYS
from services.cases.wire import case_out, england_transfer_out
from services.linkage import CandidateLink
from services.reconciliation.apply import candidates_of
from services.reconciliation.decisions import Decision, EducationFacts
from services.store.tables import CmeCase, EnglandTransfer

MOVED = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
CHILD: dict[str, Any] = {
    "given_name": "Mabli",
    "middle_names": None,
    "family_name": "Rees",
    "former_names": [],
    "date_of_birth": "2014-05-01",
    "sex": "F",
    "address": None,
    "nhs_number": None,
}


def handed_over_case(**changes: object) -> CmeCase:
    fields: dict[str, object] = {
        "case_id": "5b0c3f8e-7a53-4a51-9d83-0f1d1c0c2a10",
        "la_code": "W06000015",
        "status": "open",
        "reason": "not_found_in_education_records",
        "sensitive": False,
        "do_not_contact": False,
        "child": CHILD,
        "source_lhb_code": "7A4",
        "source_submission_id": "0d8b5a4e-6a1f-4f3b-9a55-2b8f8f7d1e21",
        "source_record_id": "r1",
        "candidates": [],
        "identified_at": MOVED,
        "updated_at": MOVED,
        "closed_at": None,
        "outcome": None,
        "note": None,
        "transferred_from_la_code": "W06000011",
        "transfer_started_at": MOVED,
        "transfer_acknowledged_at": None,
    }
    return CmeCase(**(fields | changes))


def england_transfer(started_at: datetime, exported_at: datetime | None = None) -> EnglandTransfer:
    return EnglandTransfer(
        transfer_id="9f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b",
        case_id="5b0c3f8e-7a53-4a51-9d83-0f1d1c0c2a10",
        la_code="W06000015",
        child=CHILD if exported_at is None else {},
        note=None,
        started_at=started_at,
        exported_at=exported_at,
    )


def test_a_handed_over_case_is_due_within_the_transfer_duty() -> None:
    transfer = case_out(handed_over_case()).transfer

    assert transfer is not None
    assert transfer.from_local_authority == "W06000011"
    assert transfer.due_by == MOVED + timedelta(days=TRANSFER_DAYS)


def test_a_case_opened_by_reconciliation_has_no_transfer() -> None:
    case = handed_over_case(transferred_from_la_code=None, transfer_started_at=None)

    assert case_out(case).transfer is None


def test_an_england_transfer_is_overdue_only_while_unexported_past_the_duty() -> None:
    long_ago = datetime.now(UTC) - timedelta(days=TRANSFER_DAYS + 1)
    recently = datetime.now(UTC) - timedelta(days=1)

    assert england_transfer_out(england_transfer(long_ago)).overdue is True
    assert england_transfer_out(england_transfer(recently)).overdue is False
    exported = england_transfer_out(england_transfer(long_ago, exported_at=recently))
    assert exported.overdue is False
    assert exported.due_by == long_ago + timedelta(days=TRANSFER_DAYS)


def test_a_review_candidate_shows_its_match_weights_to_the_officer() -> None:
    weights = {"prior": -15.5, "given_name": 4.25, "family_name": 9.5, "date_of_birth": 2.0}
    link = CandidateLink(
        health_record_id="1",
        education_record_id="sch-1",
        match_probability=0.6,
        agreement={"given_name": "fuzzy"},
        method="probabilistic",
        match_weights=weights,
    )
    stored = candidates_of(
        Decision("possible_match_needs_review", candidates=(link,)),
        {"sch-1": EducationFacts("maintained_school")},
    )
    case = handed_over_case(reason="possible_match_needs_review", candidates=stored)

    (shown,) = case_out(case).candidates

    assert shown.match_weights == weights
    assert sum(shown.match_weights.values()) == 0.25


def test_a_candidate_stored_before_weights_were_kept_shows_none() -> None:
    stored = {
        "education_record_id": "sch-1",
        "provision": "maintained_school",
        "match_probability": 0.6,
        "agreement": {},
    }
    case = handed_over_case(reason="possible_match_needs_review", candidates=[stored])

    assert case_out(case).candidates[0].match_weights == {}
