"""The decision rule, without a database."""

from __future__ import annotations

import pytest

from schemas.codes import Provision
from services.linkage.models import CandidateLink, HealthRecordOutcome
from services.reconciliation.decisions import EducationFacts, decide


def link(education_id: str, probability: float = 0.99) -> CandidateLink:
    return CandidateLink("h1", education_id, probability, {"family_name": "exact"}, "probabilistic")


@pytest.mark.parametrize(
    "provision", ["maintained_school", "independent_school", "eotas", "school_in_england"]
)
def test_a_child_matched_to_a_school_is_not_missing(provision: Provision) -> None:
    decision = decide(
        HealthRecordOutcome("h1", match=link("e1")), {"e1": EducationFacts(provision)}
    )

    assert not decision.missing
    assert decision.matched_provision == provision


def test_home_education_assured_is_not_missing() -> None:
    decision = decide(
        HealthRecordOutcome("h1", match=link("e1")), {"e1": EducationFacts("ehe", "assured")}
    )

    assert not decision.missing


def test_home_education_not_assured_is_a_case() -> None:
    decision = decide(
        HealthRecordOutcome("h1", match=link("e1")), {"e1": EducationFacts("ehe", "not_assured")}
    )

    assert decision.reason == "ehe_suitability_not_assured"


def test_no_match_is_a_case() -> None:
    assert decide(HealthRecordOutcome("h1"), {}).reason == "not_found_in_education_records"


def test_uncertain_match_is_a_review_case_with_its_candidates() -> None:
    candidates = (link("e1", 0.7), link("e2", 0.6))

    decision = decide(HealthRecordOutcome("h1", review_candidates=candidates), {})

    assert decision.reason == "possible_match_needs_review"
    assert decision.candidates == candidates
