"""One-to-one assignment and sole candidates (`services.linkage.assignment`), pure."""

from __future__ import annotations

import math

import pytest

from services.linkage.assignment import (
    RIVAL_FLOOR,
    SOLE_CANDIDATE_WEIGHT,
    SOLE_REVIEW_LOWER,
    Assignment,
    accept_sole,
    assign,
    clear_identity,
    review_sole,
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
    result = _assign(ScoredPair("h1", "e1", 0.8), ScoredPair("h1", "e2", RIVAL_FLOOR))

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


def test_a_postcode_slip_or_gap_with_the_address_agreeing_is_still_home() -> None:
    slip = _labels("exact", "different", "exact", "exact") | {"postcode": "fuzzy"}
    gap = _labels("exact", "different", "exact", "exact") | {"postcode": "missing"}
    slip_elsewhere = slip | {"address": "partial"}
    assert clear_identity(slip | {"address": "fuzzy"})
    assert clear_identity(gap | {"address": "exact"})
    assert not clear_identity(slip_elsewhere)


def test_at_home_a_wrong_birth_date_is_allowed_only_with_both_names_agreeing() -> None:
    assert clear_identity(_labels("exact", "equivalent", "different", "missing", home=True))
    assert not clear_identity(_labels("exact", "exact", "different", "exact"))
    assert not clear_identity(_labels("fuzzy", "exact", "different", "exact", home=True))
    assert not clear_identity(_labels("exact", "fuzzy", "different", "exact", home=True))


def test_at_home_a_field_never_recorded_is_no_evidence_but_the_given_name_must_agree() -> None:
    assert clear_identity(_labels("exact", "missing", "exact", "exact", home=True))
    assert clear_identity(_labels("exact", "different", "missing", "exact", home=True))
    assert not clear_identity(_labels("missing", "exact", "exact", "exact", home=True))
    assert not clear_identity(_labels("fuzzy", "different", "missing", "exact", home=True))


def test_a_weak_sole_candidate_is_shown_rather_than_the_child_listed() -> None:
    # 0.002 as one pair of n x n; the only record that could be theirs: odds x 100.
    result = review_sole(
        _assign(ScoredPair("h1", "e1", 0.002)), review_lower=REVIEW, bayes_factor=FACTOR
    )

    assert result.accepted == []
    [shown] = result.review["h1"]
    assert shown.match_probability == sole_candidate_probability(0.002, FACTOR)
    assert SOLE_REVIEW_LOWER <= shown.match_probability < REVIEW


def test_a_weak_pair_with_a_stronger_rival_is_not_a_sole_candidate() -> None:
    result = review_sole(
        _assign(ScoredPair("h1", "e1", 0.002), ScoredPair("h2", "e1", 0.003)),
        review_lower=REVIEW,
        bayes_factor=FACTOR,
    )

    assert [p.health_record_id for p in result.sole] == ["h2"]
    assert set(result.review) == {"h2"}


def test_too_weak_a_sole_candidate_is_still_not_shown() -> None:
    result = review_sole(
        _assign(ScoredPair("h1", "e1", 0.0011)), review_lower=REVIEW, bayes_factor=FACTOR
    )

    assert result.review == {}


def test_pairs_are_ranked_by_evidence_where_probabilities_saturate() -> None:
    # Both round to probability 1.0; the exact twin's pair carries more evidence.
    exact = ScoredPair("h-b", "e1", 1.0, {"prior": -13.0, "given_name": 60.0})
    slipped = ScoredPair("h-a", "e1", 1.0, {"prior": -13.0, "given_name": 50.0})

    result = _assign(slipped, exact)

    assert [(p.health_record_id, p.education_record_id) for p in result.accepted] == [("h-b", "e1")]


def test_a_sole_candidate_accepted_carries_its_evidence_in_the_weights() -> None:
    weights = {"prior": -10.0, "given_name": 5.0, "date_of_birth": 5.0}
    result = _assign(ScoredPair("h1", "e1", 0.5, weights))

    [accepted] = result.accepted
    assert accepted.match_weights[SOLE_CANDIDATE_WEIGHT] == pytest.approx(math.log2(FACTOR))
    assert accepted.match_weight == pytest.approx(math.log2(FACTOR))
