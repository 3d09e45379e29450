"""One-to-one assignment and sole candidates (`services.linkage.assignment`), pure."""

from __future__ import annotations

import pytest

from services.linkage.assignment import (
    COMPETITOR_FLOOR,
    Assignment,
    accept_sole,
    assign,
    clear_identity,
    sole_candidate_bayes_factor,
    sole_candidate_probability,
)
from services.linkage.models import AgreementLabel
from services.linkage.predict import ScoredPair

ACCEPT, REVIEW = 0.95, 0.50
FACTOR = 100.0  # both lists 90% linked


def _assign(*pairs: ScoredPair) -> Assignment:
    assignment = assign(
        pairs,
        accept_threshold=ACCEPT,
        review_lower=REVIEW,
        max_review_candidates=5,
        taken_health=set(),
        taken_education=set(),
    )
    return accept_sole(
        assignment, accept_threshold=ACCEPT, bayes_factor=FACTOR, accept=lambda _: True
    )


def test_sole_candidate_in_the_band_is_accepted_with_its_adjusted_probability() -> None:
    result = _assign(ScoredPair("h1", "e1", 0.8))

    [accepted] = result.accepted
    assert (accepted.health_record_id, accepted.education_record_id) == ("h1", "e1")
    assert accepted.match_probability == sole_candidate_probability(0.8, FACTOR)
    assert accepted.match_probability >= ACCEPT
    assert result.review == {}


def test_two_candidates_for_one_child_go_to_review() -> None:
    result = _assign(ScoredPair("h1", "e1", 0.8), ScoredPair("h1", "e2", 0.7))

    assert result.accepted == []
    assert [p.education_record_id for p in result.review["h1"]] == ["e1", "e2"]


def test_two_children_for_one_record_go_to_review() -> None:
    result = _assign(ScoredPair("h1", "e1", 0.8), ScoredPair("h2", "e1", 0.6))

    assert result.accepted == []
    assert set(result.review) == {"h1", "h2"}


def test_a_rival_below_the_review_band_still_counts() -> None:
    result = _assign(ScoredPair("h1", "e1", 0.8), ScoredPair("h1", "e2", COMPETITOR_FLOOR))

    assert result.accepted == []
    assert [p.education_record_id for p in result.review["h1"]] == ["e1"]


def test_a_record_settled_above_the_threshold_is_no_rival() -> None:
    # e1 is accepted for h1 first; h2's only open candidate is then e2.
    result = _assign(
        ScoredPair("h1", "e1", 0.99), ScoredPair("h2", "e1", 0.6), ScoredPair("h2", "e2", 0.8)
    )

    assert {(p.health_record_id, p.education_record_id) for p in result.accepted} == {
        ("h1", "e1"),
        ("h2", "e2"),
    }


def test_a_weak_sole_candidate_is_not_accepted() -> None:
    weak = 0.05  # odds x the Bayes factor stay short of the threshold
    assert sole_candidate_probability(weak, FACTOR) < ACCEPT

    result = _assign(ScoredPair("h1", "e1", weak))

    assert result.accepted == []
    assert result.review == {}


def test_the_identity_check_can_veto() -> None:
    assignment = assign(
        [ScoredPair("h1", "e1", 0.8)],
        accept_threshold=ACCEPT,
        review_lower=REVIEW,
        max_review_candidates=5,
        taken_health=set(),
        taken_education=set(),
    )

    result = accept_sole(
        assignment, accept_threshold=ACCEPT, bayes_factor=FACTOR, accept=lambda _: False
    )

    assert result.accepted == []
    assert list(result.review) == ["h1"]


def _labels(
    given: AgreementLabel,
    family: AgreementLabel,
    dob: AgreementLabel,
    sex: AgreementLabel,
    *,
    home: bool = False,
) -> dict[str, AgreementLabel]:
    residence: AgreementLabel = "exact" if home else "different"
    return {
        "given_name": given,
        "family_name": family,
        "date_of_birth": dob,
        "sex": sex,
        "postcode": residence,
        "address": residence,
    }


def test_clear_identity_ignores_residence_and_allows_one_slip() -> None:
    assert clear_identity(_labels("exact", "exact", "exact", "exact"))
    assert clear_identity(_labels("equivalent", "equivalent", "exact", "missing"))
    assert clear_identity(_labels("exact", "partial", "exact", "exact"))
    assert clear_identity(_labels("exact", "exact", "fuzzy", "exact"))


def test_clear_identity_refuses_doubt() -> None:
    assert not clear_identity(_labels("exact", "exact", "exact", "different"))
    assert not clear_identity(_labels("fuzzy", "fuzzy", "exact", "exact"))
    assert not clear_identity(_labels("exact", "different", "exact", "exact"))
    assert not clear_identity(_labels("exact", "exact", "missing", "exact"))


def test_bayes_factor_follows_the_linked_share_and_is_capped() -> None:
    assert sole_candidate_bayes_factor(linked=90, n_health=100, n_education=100) == (
        pytest.approx(100.0)
    )
    # FEBRL with a fifth of B's partners removed: the health side is only 77% linked.
    assert sole_candidate_bayes_factor(linked=77, n_health=100, n_education=80) < 100.0
    assert sole_candidate_bayes_factor(linked=100, n_health=100, n_education=100) == (
        pytest.approx(400.0)
    )
    assert sole_candidate_bayes_factor(linked=0, n_health=0, n_education=10) == 1.0


def test_an_unchanged_home_allows_two_slips_or_a_changed_surname() -> None:
    assert clear_identity(_labels("fuzzy", "exact", "fuzzy", "exact", home=True))
    assert clear_identity(_labels("exact", "different", "exact", "exact", home=True))
    assert not clear_identity(_labels("fuzzy", "fuzzy", "fuzzy", "exact", home=True))
    assert not clear_identity(_labels("different", "exact", "exact", "exact", home=True))
    assert not clear_identity(_labels("fuzzy", "exact", "fuzzy", "exact"))
    assert not clear_identity(_labels("exact", "different", "exact", "exact"))
