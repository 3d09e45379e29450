"""Wire models of CME cases (SPEC.md, CME cases); services/cases/wire.py builds the
outbound ones from stored cases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.codes import CaseReason, CaseStatus, Outcome, Sex
from schemas.identifiers import NhsNumber, OptionalPersonName, PersonName, Postcode
from schemas.submissions import EXAMPLE_CHILD, AddressLine, FormerName, Inbound

Note = Annotated[
    str,
    StringConstraints(
        max_length=2000,
        pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$",
    ),
]


_CASE_EXAMPLE: dict[str, Any] = {
    "case_id": "0b7d3e2a-5c41-4f8e-a9d6-1e2f3a4b5c6d",
    "status": "open",
    "reason": "possible_match_needs_review",
    "sensitive": False,
    "do_not_contact": False,
    "child": EXAMPLE_CHILD,
    "source": {
        "lhb_code": "7A4",
        "submission_id": "3f0e9c1e-6b1a-4c1e-9f4e-2d7b8a1c0e55",
        "record_id": "cav-000184",
    },
    "candidates": [
        {
            "education_record_id": "ehe-000042",
            "provision": "ehe",
            "match_probability": 0.42,
            "agreement": {
                "family_name": "exact",
                "given_name": "fuzzy",
                "date_of_birth": "exact",
                "postcode": "different",
            },
            "match_weights": {
                "prior": -15.8,
                "given_name": 3.1,
                "family_name": 9.4,
                "date_of_birth": 5.2,
                "postcode": -2.37,
            },
        }
    ],
    "identified_at": "2026-01-20T03:10:00Z",
    "updated_at": "2026-01-20T03:10:00Z",
    "outcome": None,
    "note": None,
    "closed_at": None,
    "transfer": None,
    "history": [
        {
            "at": "2026-01-20T03:10:00Z",
            "event": "opened",
            "reason": "possible_match_needs_review",
            "outcome": None,
            "local_authority": None,
            "details_differ": None,
        }
    ],
}


class AddressOut(BaseModel):
    """The child's address as the health board sent it (or as an officer corrected it)."""

    lines: list[str] = Field(description="Address lines without the postcode.")
    postcode: str = Field(description="UK postcode, normalised, e.g. `CF11 9AB`.")
    last_known: bool = Field(
        default=False, description="True when this is the last known, not a confirmed, address."
    )


class ChildOut(BaseModel):
    """The child's details as disclosed by the health board (Schedule 2)."""

    given_name: str = Field(description="Given name, in Unicode NFC.")
    middle_names: str | None = Field(description="Middle names; null for none.")
    family_name: str = Field(description="Family name, in Unicode NFC.")
    former_names: list[dict[str, str | None]] = Field(
        description='Former names, each `{"given_name", "family_name"}`; '
        "`given_name` may be null. Empty for none."
    )
    date_of_birth: date = Field(description="ISO 8601 date.")
    sex: str | None = Field(
        description="`F`, `M`, `U` (indeterminate) or `Z` (not known); null if not sent."
    )
    address: AddressOut | None = Field(description="Always null for a sensitive child.")
    nhs_number: str | None = Field(description="10 digits; null if the board sent none.")


class SourceOut(BaseModel):
    """Where the child's record came from."""

    lhb_code: str = Field(description="NHS Wales ODS code of the health board, e.g. `7A4`.")
    submission_id: str = Field(description="UUID of the submission that carried the record.")
    record_id: str = Field(description="The board's id for the child in that submission.")


class CandidateOut(BaseModel):
    """An education record that may be the same child, for an officer to review."""

    education_record_id: str = Field(description="The authority's `record_id` of the record.")
    provision: str = Field(description="The record's `provision` code.")
    match_probability: float = Field(
        description="Estimated probability (0 to 1) that both records are the same child."
    )
    agreement: dict[str, str] = Field(
        description="Per compared field, how the two records agree: `exact`, `fuzzy` (a likely "
        "typo), `equivalent` (a name variant), `swapped`, `partial`, `different` or "
        "`missing`."
    )
    match_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Why the model scored the pair as it did (a waterfall): per comparison, "
        "the log2 Bayes factor it contributed (positive for evidence of the same child, "
        "negative against), plus `prior` (the odds that two random records match) and "
        "`sole_candidate` when the pair being the only candidate of both records added "
        "evidence. The values sum to the pair's match weight, whose probability is "
        "`match_probability`. Empty for candidates scored before weights were kept.",
        examples=[{"prior": -15.8, "given_name": 3.1, "family_name": 9.4, "date_of_birth": 5.2}],
    )


class TransferOut(BaseModel):
    """Set on a case handed over by another Welsh authority."""

    from_local_authority: str = Field(description="ONS GSS code of the sending authority.")
    started_at: datetime = Field(description="When the 28-day clock started.")
    due_by: datetime = Field(description="28 days after `started_at`.")
    acknowledged_at: datetime | None = Field(
        description="When this authority acknowledged the transfer; null until it does."
    )


CaseEventKind = Literal[
    "opened",
    "updated",
    "reopened",
    "closed",
    "death_reported",
    "review_settled",
    "details_corrected",
    "note_recorded",
    "received",
    "transfer_acknowledged",
    "marked_sensitive",
    "restricted",
    "restriction_lifted",
]


class CaseEventOut(BaseModel):
    """One thing that happened to a case. Codes only: never the child's details."""

    at: datetime = Field(description="When it happened, with offset.")
    event: CaseEventKind = Field(description="What happened.")
    reason: CaseReason | None = Field(
        default=None, description="With opened, updated, reopened and review_settled."
    )
    outcome: Outcome | None = Field(default=None, description="With closed.")
    local_authority: str | None = Field(
        default=None,
        description="With received: the sending authority. With a move: the receiving "
        "authority's GSS code, or `england`.",
    )
    details_differ: list[str] | None = Field(
        default=None,
        description="With received: the child's fields on which the two authorities' copies "
        "disagreed. The receiving authority's values were kept; check them.",
    )


class CaseOut(BaseModel):
    """A child who appears to be missing education, in the authority's CME database."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CASE_EXAMPLE]})

    case_id: str = Field(description="The case's UUID.")
    status: CaseStatus = Field(description="`open` or `closed`.")
    reason: CaseReason = Field(
        description="Why the child is a case: `not_found_in_education_records`, "
        "`ehe_suitability_not_assured` or `possible_match_needs_review`."
    )
    sensitive: bool = Field(
        description="The health board S-flagged the child: no address is held; shown only "
        "with `cme:sensitive`."
    )
    do_not_contact: bool = Field(
        description="True once the child's death is reported: no letter or visit may reach "
        "the family."
    )
    child: ChildOut = Field(description="The child's details.")
    source: SourceOut = Field(description="The health record the case came from.")
    candidates: list[CandidateOut] = Field(
        description="Possible matches for review; empty unless the reason is "
        "`possible_match_needs_review`."
    )
    identified_at: datetime = Field(description="When the case was opened, with offset.")
    updated_at: datetime = Field(description="When the case last changed, with offset.")
    outcome: Outcome | None = Field(description="The outcome code once closed; null while open.")
    note: str | None = Field(default=None, description="The officer's note; null for none.")
    closed_at: datetime | None = Field(
        default=None, description="When the case was closed; null while open."
    )
    transfer: TransferOut | None = Field(
        default=None, description="Set when another Welsh authority handed the case over."
    )
    history: list[CaseEventOut] = Field(default_factory=list, description="Oldest first.")


class CasePage(BaseModel):
    """One page of an authority's CME cases."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [_CASE_EXAMPLE], "next_cursor": "eyJhZnRlciI6IjBiN2QzZSJ9"}]
        }
    )

    items: list[CaseOut] = Field(description="The cases on this page.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class AddressIn(Inbound):
    """A corrected address."""

    lines: list[AddressLine] = Field(
        min_length=1,
        max_length=6,
        description="1 to 6 address lines without the postcode, each 1-100 characters.",
    )
    postcode: Postcode = Field(description="UK postcode, normalised to e.g. `CF11 9AB`.")
    last_known: bool = Field(
        default=False, description="True when this is the last known, not a confirmed, address."
    )


class ChildCorrection(Inbound):
    """Rectification: the fields given replace the case's copy of the child's details."""

    given_name: PersonName | None = Field(
        default=None, description="Corrected given name; null or absent keeps it."
    )
    middle_names: OptionalPersonName = Field(
        default=None, description="Corrected middle names; null or absent keeps them."
    )
    family_name: PersonName | None = Field(
        default=None, description="Corrected family name; null or absent keeps it."
    )
    former_names: list[FormerName] | None = Field(
        default=None,
        max_length=10,
        description="The complete corrected list of former names (up to 10); null or absent "
        "keeps it.",
    )
    date_of_birth: date | None = Field(
        default=None, description="Corrected date of birth; null or absent keeps it."
    )
    sex: Sex | None = Field(
        default=None,
        description="Corrected sex code (`F`, `M`, `U`, `Z`); null or absent keeps it.",
    )
    address: AddressIn | None = Field(
        default=None,
        description="Corrected address; null or absent keeps it. Refused for a sensitive child.",
    )
    nhs_number: NhsNumber | None = Field(
        default=None, description="Corrected NHS number (modulus-11); null or absent keeps it."
    )


class ReviewDecisionIn(Inbound):
    """For a `possible_match_needs_review` case: which candidate the child is, or none."""

    education_record_id: str | None = Field(
        description="One of the case's candidates, or null for none of them."
    )


class CasePatch(Inbound):
    """A change to a case: an outcome, a note, a review decision or corrected details.
    Fields left out are left as they are."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "closed",
                    "outcome": "moved_to_another_authority",
                    "note": "Family moved to Swansea; school place confirmed.",
                    "receiving_local_authority": "W06000011",
                },
                {"review_decision": {"education_record_id": "ehe-000042"}},
                {"note": "Letter sent in Welsh and English."},
            ]
        }
    )

    status: Literal["closed"] | None = Field(
        default=None, description="`closed` to close the case; needs `outcome`."
    )
    outcome: Outcome | None = Field(
        default=None,
        description="`registered_at_school`, `suitable_education_assured`, "
        "`moved_to_another_authority`, `ceased_compulsory_school_age`, `deceased`, "
        "`not_traced` or `other`.",
    )
    note: Note | None = Field(
        default=None,
        description="The officer's note, up to 2,000 characters, without control characters.",
    )
    receiving_local_authority: str | None = Field(
        default=None, description="With `moved_to_another_authority`: a Welsh LA code or `england`."
    )
    review_decision: ReviewDecisionIn | None = Field(
        default=None,
        description="For a `possible_match_needs_review` case: which candidate the child is.",
    )
    child: ChildCorrection | None = Field(
        default=None, description="Rectification of the child's details."
    )
