"""Precision and recall of a run estimated from officers' review decisions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from services.linkage import CandidateLink, HealthRecordOutcome, LinkageResult
from services.reconciliation.quality import (
    MIN_LABELS,
    Label,
    calibration_shift,
    estimate,
    labels_for,
)
from services.store.tables import ReviewDecision
from tests.factories import Credentials, bearer
from tests.test_reconciliation_api import arrange, run_queued

CARDIFF, NEWPORT = "W06000015", "W06000022"


def link(health: str, education: str, probability: float) -> CandidateLink:
    return CandidateLink(health, education, probability, {}, "probabilistic")


# A run with three probabilistic links, one NHS-number link and one child left for review.
RUN = LinkageResult(
    outcomes=(
        HealthRecordOutcome("h1", match=link("h1", "e1", 0.99)),
        HealthRecordOutcome("h2", match=link("h2", "e2", 0.97)),
        HealthRecordOutcome("h3", match=link("h3", "e3", 0.999)),
        HealthRecordOutcome("h4", match=CandidateLink("h4", "e4", 1.0, {}, "nhs_number")),
        HealthRecordOutcome("h5", review_candidates=(link("h5", "e5", 0.8), link("h5", "e6", 0.6))),
        HealthRecordOutcome("h6"),
    )
)


def labels(right: int, wrong: int, probability: float = 0.75) -> list[Label]:
    return [Label(probability, True)] * right + [Label(probability, False)] * wrong


def test_officers_overturning_candidates_lowers_the_estimated_precision() -> None:
    upheld = estimate(RUN, labels(right=36, wrong=4), "authority")
    overturned = estimate(RUN, labels(right=8, wrong=32), "authority")

    assert (overturned.precision or 1.0) < (upheld.precision or 0.0)
    # Review candidates overturned too: fewer true matches left for review, recall higher.
    assert (overturned.recall or 0.0) > (upheld.recall or 1.0)
    assert (upheld.labels_used, upheld.label_scope) == (40, "authority")
    assert "review band" in upheld.method


def test_labels_that_agree_with_the_model_leave_its_probabilities_as_they_are() -> None:
    assert calibration_shift(labels(right=30, wrong=10)) == pytest.approx(0.0, abs=1e-9)
    # All upheld: a finite shift upwards, not an infinite one.
    assert 0 < calibration_shift(labels(right=40, wrong=0)) < 30


def test_too_few_labels_give_no_estimate_and_say_why() -> None:
    result = estimate(RUN, labels(right=MIN_LABELS - 1, wrong=0), "authority")

    assert (result.precision, result.recall, result.labels_used) == (None, None, MIN_LABELS - 1)
    assert result.reason == f"fewer than {MIN_LABELS} labelled pairs"


def test_a_run_without_probabilistic_links_gives_no_estimate() -> None:
    only_nhs = LinkageResult(outcomes=RUN.outcomes[3:4])

    result = estimate(only_nhs, labels(right=30, wrong=10), "authority")

    assert result.precision is None
    assert result.reason == "no probabilistic links in this run"


def remember(db: Session, la_code: str, record_id: str, answers: list[Label]) -> None:
    db.add(
        ReviewDecision(
            la_code=la_code,
            lhb_code="7A4",
            record_id=record_id,
            education_record_id=None,
            child_fingerprint="0" * 64,
            decided_at=datetime.now(UTC),
            decided_by="officer",
            labels=[{"match_probability": a.match_probability, "match": a.match} for a in answers],
        )
    )


def test_an_authority_with_too_few_labels_of_its_own_uses_every_authoritys(db: Session) -> None:
    remember(db, NEWPORT, "n1", labels(right=20, wrong=20))
    remember(db, CARDIFF, "c1", labels(right=1, wrong=1))
    db.commit()

    own, own_scope = labels_for(session=db, la_code=NEWPORT)
    pooled, pooled_scope = labels_for(session=db, la_code=CARDIFF)

    assert (len(own), own_scope) == (40, "authority")
    assert (len(pooled), pooled_scope) == (42, "all_authorities")
    db.rollback()


def test_each_run_summary_carries_the_estimate_from_the_labels(
    app: FastAPI, http: TestClient, board: Credentials, cardiff: Credentials, db: Session
) -> None:
    remember(db, CARDIFF, "c1", labels(right=30, wrong=10))
    db.commit()
    arrange(http, board, cardiff)

    job_id = run_queued(app)

    job = http.get(
        f"/v1/local-authorities/{CARDIFF}/reconciliations/{job_id}", headers=bearer(http, cardiff)
    ).json()
    quality = job["summary"]["estimated_quality"]
    assert (quality["labels_used"], quality["label_scope"], quality["reason"]) == (
        40,
        "authority",
        None,
    )
    assert 0.0 < quality["precision"] <= 1.0
    assert 0.0 < quality["recall"] <= 1.0
    assert quality["method"].startswith("match probabilities recalibrated")
