"""What a linkage outcome means for a child (SPEC.md, Reconciliation). Pure: no database.

Matched to a school, independent school, EOTAS or school-in-England record: not missing.
Matched to an EHE record whose education the authority is assured of: not missing.
Matched to an EHE record not (yet) assured: a case. No match: a case. Uncertain: a case
for an officer to review, with the candidates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from services.linkage.models import CandidateLink, HealthRecordOutcome

Provision = Literal["maintained_school", "independent_school", "eotas", "school_in_england", "ehe"]
EheSuitability = Literal["assured", "not_assured"]
CaseReason = Literal[
    "not_found_in_education_records",
    "ehe_suitability_not_assured",
    "possible_match_needs_review",
]
PROVISIONS: tuple[Provision, ...] = (
    "maintained_school",
    "independent_school",
    "eotas",
    "school_in_england",
    "ehe",
)


@dataclass(frozen=True, slots=True)
class EducationFacts:
    """What a decision needs to know about an education record."""

    provision: Provision
    ehe_suitability: EheSuitability | None = None


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


def decide(outcome: HealthRecordOutcome, education: Mapping[str, EducationFacts]) -> Decision:
    if outcome.match is not None:
        facts = education[outcome.match.education_record_id]
        if facts.provision == "ehe" and facts.ehe_suitability != "assured":
            return Decision("ehe_suitability_not_assured", "ehe", outcome.match)
        return Decision(None, facts.provision, outcome.match)
    if outcome.review_candidates:
        return Decision("possible_match_needs_review", candidates=outcome.review_candidates)
    return Decision("not_found_in_education_records")


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
    facts = education[chosen]
    if facts.provision == "ehe" and facts.ehe_suitability != "assured":
        return Decision("ehe_suitability_not_assured", "ehe", confirmed)
    return Decision(None, facts.provision, confirmed)
