"""A floor under linkage quality, measured the way `bench/linkage.py` measures it.

One small authority (1,500 children) from the independent error model
(`services.synthetic.recording_errors`) on a TEST seed, which the engine was never tuned
on, linked by `link()` with default settings (below `min_records_for_training`, so the
shipped prior scores it, as for a small authority), then put through the reconciliation's
assured-EHE safety net and decision rule. Measured when written: definite-listing
precision 0.974 (37 of the 38 listed outright truly missing), recall 1.000 counting
review as caught, review share 0.13%, no truly missing child linked; since the prior
learnt that one field may be wholly different (issue 11, FEBRL work): 0.972 (35 of 36),
1.000 and 0.27%. The floors leave
room for one more case of drift, not for a regression: precision >= 0.94, recall >= 0.99,
review share <= 1%, nothing unmatchable linked, no assured-EHE child made a case (the
safety net, which would turn such a listing into review, finds nothing to do here).
"""

from __future__ import annotations

import math

import pytest

from bench.linkage import Case, run_ours, safety_net, score_outcomes, synth_case
from services.linkage import HealthRecordOutcome
from services.synthetic import TEST_SEEDS

CHILDREN = 1_500
PRECISION_FLOOR = 0.94
RECALL_FLOOR = 0.99
REVIEW_CEILING = 0.01


@pytest.fixture(scope="module")
def case() -> Case:
    return synth_case(error_model="independent", children=CHILDREN, seed=TEST_SEEDS[1])


@pytest.fixture(scope="module")
def outcomes(case: Case) -> list[HealthRecordOutcome]:
    return run_ours(case, sole=True)


def test_the_cme_list_stays_above_the_floor(
    case: Case, outcomes: list[HealthRecordOutcome]
) -> None:
    measured = score_outcomes(case, safety_net(case, outcomes))
    assert measured["definite"] > 20  # enough children listed for the precision to mean something
    assert measured["definite_precision"] >= PRECISION_FLOOR, measured
    assert measured["recall"] >= RECALL_FLOOR, measured
    assert measured["review_share"] <= REVIEW_CEILING, measured
    assert measured["unmatchable_linked"] == 0, measured
    assert measured["ehe_assured_listed"] == 0, measured


def test_every_weighed_candidate_carries_a_waterfall_that_sums_to_its_probability(
    outcomes: list[HealthRecordOutcome],
) -> None:
    shown = [
        candidate
        for outcome in outcomes
        for candidate in (
            *([outcome.match] if outcome.match else []),
            *outcome.review_candidates,
        )
    ]
    weighed = [c for c in shown if c.method == "probabilistic"]
    assert weighed
    assert any("sole_candidate" in c.match_weights for c in weighed)
    assert any(o.review_candidates for o in outcomes)
    for candidate in weighed:
        weights = candidate.match_weights
        assert {"prior", "given_name", "family_name", "date_of_birth", "sex"} <= weights.keys()
        odds = math.pow(2.0, math.fsum(weights.values()))
        assert odds / (1.0 + odds) == pytest.approx(candidate.match_probability, abs=1e-6)
    assert all(c.match_weights == {} for c in shown if c.method == "nhs_number")
