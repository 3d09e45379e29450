"""The contract's code lists (SPEC.md), each defined once and used by every layer.

A `Literal` gives both the wire validation and the type checker; the tuple beside it is
the same list in the contract's order, for code that iterates (statistics, forms).
"""

from __future__ import annotations

from typing import Literal, get_args

Sex = Literal["F", "M", "U", "Z"]

Provision = Literal["maintained_school", "independent_school", "eotas", "school_in_england", "ehe"]
PROVISIONS: tuple[Provision, ...] = get_args(Provision)

EheSuitability = Literal["assured", "not_assured"]

CaseStatus = Literal["open", "closed"]

CaseReason = Literal[
    "not_found_in_education_records",
    "ehe_suitability_not_assured",
    "possible_match_needs_review",
]
CASE_REASONS: tuple[CaseReason, ...] = get_args(CaseReason)

Outcome = Literal[
    "registered_at_school",
    "suitable_education_assured",
    "moved_to_another_authority",
    "ceased_compulsory_school_age",
    "deceased",
    "not_traced",
    "other",
]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)

ReconciliationStatus = Literal["queued", "running", "succeeded", "failed"]
