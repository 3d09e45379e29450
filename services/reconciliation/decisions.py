"""What a linkage outcome means for a child (SPEC.md, Reconciliation). Pure: no database.

Matched to a school, independent school, EOTAS or school-in-England record: not missing.
Matched to an EHE record whose education the authority is assured of: not missing.
Matched to an EHE record not (yet) assured: a case. No match: a case. Uncertain: a case
for an officer to review, with the candidates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from schemas.codes import CaseReason, EheSuitability, Outcome, Provision
from services.linkage.models import CandidateLink, HealthRecordOutcome

# Not missing any more: the outcome a case closes with, by what the child was found in.
CLOSING_OUTCOME: Mapping[Provision, Outcome] = {
    "maintained_school": "registered_at_school",
    "independent_school": "registered_at_school",
    "school_in_england": "registered_at_school",
    "eotas": "suitable_education_assured",
    "ehe": "suitable_education_assured",
}


@dataclass(frozen=True, slots=True)
class EducationFacts:
    """What a decision needs to know about an education record."""

    provision: Provision
    ehe_suitability: EheSuitability | None = None


def missing_reason(facts: EducationFacts) -> CaseReason | None:
    """The one rule for a child found in an education record: missing education only when
    home educated without the authority being assured the education is suitable."""
    if facts.provision == "ehe" and facts.ehe_suitability != "assured":
        return "ehe_suitability_not_assured"
    return None


@dataclass(frozen=True, slots=True)
class Decision:
    """`reason` None means the child is not missing education (and is not kept)."""

    reason: CaseReason | None
    matched_provision: Provision | None = None
    match: CandidateLink | None = None
    candidates: tuple[CandidateLink, ...] = ()

    @property
    def missing(self) -> bool:
        return self.reason is not None


def found_in(facts: EducationFacts, link: CandidateLink) -> Decision:
    """The child is the child of this education record."""
    return Decision(missing_reason(facts), facts.provision, link)


def decide(outcome: HealthRecordOutcome, education: Mapping[str, EducationFacts]) -> Decision:
    if outcome.match is not None:
        return found_in(education[outcome.match.education_record_id], outcome.match)
    if outcome.review_candidates:
        return Decision("possible_match_needs_review", candidates=outcome.review_candidates)
    return Decision("not_found_in_education_records")


@dataclass(frozen=True, slots=True)
class ReviewAnswer:
    """An officer's remembered answer for a child, valid while the child's details match."""

    education_record_id: str | None
    child_fingerprint: str


def decide_child(
    outcome: HealthRecordOutcome,
    education: Mapping[str, EducationFacts],
    *,
    answer: ReviewAnswer | None,
    child_fingerprint: str,
) -> Decision:
    """The decision for one child of a run, with an officer's earlier answer applied."""
    decision = decide(outcome, education)
    if answer is not None and answer.child_fingerprint == child_fingerprint:
        decision = apply_review_decision(decision, answer.education_record_id, education)
    return decision


def apply_review_decision(
    decision: Decision, chosen: str | None, education: Mapping[str, EducationFacts]
) -> Decision:
    """An officer already answered for this child: use the answer instead of asking again.

    `chosen` is the education record the officer confirmed, or None for "none of them".
    A confirmed record that is no longer among the candidates leaves the question open.
    """
    if decision.reason != "possible_match_needs_review":
        return decision
    if chosen is None:
        return Decision("not_found_in_education_records")
    confirmed = next((c for c in decision.candidates if c.education_record_id == chosen), None)
    if confirmed is None:
        return decision
    return found_in(education[chosen], confirmed)
