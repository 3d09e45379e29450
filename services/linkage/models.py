"""The linkage engine's own inputs and outputs: plain, immutable, free of any framework.

Health extracts and education records both map to `PersonRecord`; the engine answers, per
health record, with one accepted education record, a short list for an officer to review,
or nothing (the child may be missing education).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from services.linkage.sharing import SharedParameters

AgreementLabel = Literal[
    "exact",  # identical after normalisation
    "fuzzy",  # a likely typo (Jaro-Winkler, one digit off, one character off)
    "equivalent",  # a name variant: nickname, Welsh/English form, former name, first/middle
    "swapped",  # day and month transposed, or given and family name transposed
    "partial",  # postcode sector/district, a shared surname or address token
    "different",
    "missing",  # absent on either side, so no evidence either way
]
LinkMethod = Literal["nhs_number", "probabilistic"]
OutcomeStatus = Literal["matched", "review", "no_match"]

#: The fields an officer sees agreement for, in display order.
AGREEMENT_FIELDS: tuple[str, ...] = (
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "postcode",
    "address",
)


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """A child as either side knows them. Empty names and `None` mean "not known".

    `date_of_birth` may be `None`: extracts occasionally carry an unparseable date, and
    such a record must still be matchable on its other fields rather than rejected here.
    """

    record_id: str
    nhs_number: str | None
    given_name: str
    middle_names: str | None
    family_name: str
    former_names: tuple[tuple[str, str], ...]  # (given, family) pairs
    date_of_birth: date | None
    sex: str | None  # NHS Wales codes F, M, U (indeterminate), Z (not known)
    postcode: str | None  # normalised, e.g. "CF11 9AB"
    address_lines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LinkageSettings:
    """Thresholds and training choices for one run.

    `accept_threshold`: a match probability at or above it is a match.
    `review_lower`: from here up to the accept threshold, candidates go to an officer.
    `train_by_em`: estimate u and m from the run's own data (when it is large enough for
    stable estimates, see `min_records_for_training`); otherwise use the shipped prior.
    `accept_sole_candidates`: weigh in that a pair is the only candidate of both its records,
    accepting it when that lifts it over the threshold and names, date of birth and sex
    agree closely (see `assignment`).
    `shared`: where trained parameters are kept for later runs to reuse instead of
    training again (see `sharing`); None trains every run afresh.
    """

    accept_threshold: float = 0.95
    review_lower: float = 0.50
    seed: int = 20250440
    train_by_em: bool = True
    min_records_for_training: int = 2_000
    max_review_candidates: int = 5
    accept_sole_candidates: bool = True
    shared: SharedParameters | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 < self.review_lower <= self.accept_threshold <= 1.0:
            raise ValueError("need 0 < review_lower <= accept_threshold <= 1")
        if self.max_review_candidates < 1:
            raise ValueError("max_review_candidates must be at least 1")


@dataclass(frozen=True, slots=True)
class CandidateLink:
    """One scored pairing of a health record with an education record.

    `match_weights` is the waterfall behind `match_probability`: the log2 Bayes factor of
    each comparison by name ("given_name", "family_name", "date_of_birth", "sex",
    "middle_names", "residence"), the log2 prior odds under "prior", and, when the pair was the only
    candidate of both its records, that evidence under "sole_candidate". The values sum
    to the pair's match weight w, and match_probability = 2^w / (1 + 2^w) (rounded). A
    link by NHS number is deterministic, not weighed: its mapping is empty.
    """

    health_record_id: str
    education_record_id: str
    match_probability: float
    agreement: Mapping[str, AgreementLabel]
    method: LinkMethod
    match_weights: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HealthRecordOutcome:
    """What linkage concluded for one health record."""

    health_record_id: str
    match: CandidateLink | None = None
    review_candidates: tuple[CandidateLink, ...] = ()

    @property
    def status(self) -> OutcomeStatus:
        if self.match is not None:
            return "matched"
        if self.review_candidates:
            return "review"
        return "no_match"


@dataclass(frozen=True, slots=True)
class LinkageResult:
    """One outcome per health record, ordered by `health_record_id`."""

    outcomes: tuple[HealthRecordOutcome, ...]
    _by_id: Mapping[str, HealthRecordOutcome] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {o.health_record_id: o for o in self.outcomes})

    def outcome_for(self, health_record_id: str) -> HealthRecordOutcome:
        return self._by_id[health_record_id]

    @property
    def matches(self) -> tuple[CandidateLink, ...]:
        return tuple(o.match for o in self.outcomes if o.match is not None)

    def count(self, status: OutcomeStatus) -> int:
        return sum(1 for o in self.outcomes if o.status == status)
