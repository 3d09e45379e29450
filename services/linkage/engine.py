"""`link()`: health records and education records in, one outcome per health record out.

Stages: (1) NHS number, deterministic, where both sides carry the same number and the date
of birth does not contradict it; (2) Fellegi-Sunter with Splink for everything else;
(3) one-to-one assignment and the review band, where a pair that is the only candidate
of both its records gains the evidence of that uniqueness (`assignment`); (4) per-field
agreement for every link shown. Logs carry counts only, never a name, date, postcode or
NHS number.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from services.linkage.assignment import (
    Assignment,
    accept_sole,
    assign,
    clear_identity,
    review_sole,
    sole_candidate_bayes_factor,
)
from services.linkage.collection import collection_paused
from services.linkage.deterministic import is_consistent, nhs_number_pairs
from services.linkage.features import clear_caches
from services.linkage.models import (
    AgreementLabel,
    CandidateLink,
    HealthRecordOutcome,
    LinkageResult,
    LinkageSettings,
    LinkMethod,
    PersonRecord,
)
from services.linkage.predict import ScoredPair
from services.linkage.scoring import score
from services.linkage.workspace import (
    agreements,
    create_candidate_tables,
    load_records,
    open_workspace,
)

logger = logging.getLogger(__name__)

_PROBABILITY_DIGITS = 6


def _require_unique_ids(records: Sequence[PersonRecord], side: str) -> None:
    if len({r.record_id for r in records}) != len(records):
        raise ValueError(f"{side} record ids must be unique")


def _candidate(
    pair: ScoredPair, agreement: Mapping[str, AgreementLabel], method: LinkMethod
) -> CandidateLink:
    return CandidateLink(
        health_record_id=pair.health_record_id,
        education_record_id=pair.education_record_id,
        match_probability=round(pair.match_probability, _PROBABILITY_DIGITS),
        agreement=agreement,
        method=method,
        # Empty for NHS-number links: deterministic, no weights (see `CandidateLink`).
        match_weights=dict(pair.match_weights) if method == "probabilistic" else {},
    )


def link(
    *,
    health: Sequence[PersonRecord],
    education: Sequence[PersonRecord],
    settings: LinkageSettings,
) -> LinkageResult:
    """Link each health record to at most one education record, or list review candidates."""
    with collection_paused():
        return _link(health=health, education=education, settings=settings)


def _link(
    *,
    health: Sequence[PersonRecord],
    education: Sequence[PersonRecord],
    settings: LinkageSettings,
) -> LinkageResult:
    _require_unique_ids(health, "health")
    _require_unique_ids(education, "education")
    con = open_workspace()
    try:
        load_records(con, "health", health)
        load_records(con, "education", education)

        nhs_pairs = nhs_number_pairs(con)
        nhs_agreement = agreements(con, nhs_pairs)
        deterministic = [
            ScoredPair(h, e, 1.0) for h, e in nhs_pairs if is_consistent(nhs_agreement[(h, e)])
        ]
        linked_health = {p.health_record_id for p in deterministic}
        linked_education = {p.education_record_id for p in deterministic}

        create_candidate_tables(con, linked_health, linked_education)
        scored = score(con, settings=settings)
        assignment = assign(
            scored,
            accept_threshold=settings.accept_threshold,
            review_lower=settings.review_lower,
            max_review_candidates=settings.max_review_candidates,
            taken_health=linked_health,
            taken_education=linked_education,
        )
        shown = [
            *assignment.accepted,
            *(p for ps in assignment.review.values() for p in ps),
            *(assignment.sole if settings.accept_sole_candidates else ()),
        ]
        agreement = nhs_agreement | agreements(
            con, [(p.health_record_id, p.education_record_id) for p in shown]
        )

        def sole_factor(current: Assignment) -> float:
            return sole_candidate_bayes_factor(
                linked=len(deterministic) + len(current.accepted),
                n_health=len(health),
                n_education=len(education),
            )

        # Links made here raise the linked shares, a lower bound on the partner shares the
        # Bayes factor rests on, so the factor is re-weighed until no more pairs qualify.
        accepted_before = -1
        while settings.accept_sole_candidates and len(assignment.accepted) != accepted_before:
            accepted_before = len(assignment.accepted)
            assignment = accept_sole(
                assignment,
                accept_threshold=settings.accept_threshold,
                bayes_factor=sole_factor(assignment),
                accept=lambda p: clear_identity(
                    agreement[(p.health_record_id, p.education_record_id)]
                ),
            )
        if settings.accept_sole_candidates:
            assignment = review_sole(
                assignment,
                review_lower=settings.review_lower,
                bayes_factor=sole_factor(assignment),
            )
    finally:
        con.close()
        clear_caches()

    def candidate(pair: ScoredPair, method: LinkMethod) -> CandidateLink:
        return _candidate(
            pair, agreement[(pair.health_record_id, pair.education_record_id)], method
        )

    matches = {p.health_record_id: candidate(p, "nhs_number") for p in deterministic}
    matches |= {p.health_record_id: candidate(p, "probabilistic") for p in assignment.accepted}
    outcomes = tuple(
        HealthRecordOutcome(
            health_record_id=health_id,
            match=matches.get(health_id),
            review_candidates=tuple(
                candidate(p, "probabilistic") for p in assignment.review.get(health_id, ())
            ),
        )
        for health_id in sorted(r.record_id for r in health)
    )
    result = LinkageResult(outcomes=outcomes)
    logger.info(
        "linkage: %d health x %d education records; %d by NHS number, %d probabilistic, "
        "%d for review, %d unmatched",
        len(health),
        len(education),
        len(deterministic),
        len(assignment.accepted),
        result.count("review"),
        result.count("no_match"),
    )
    return result
