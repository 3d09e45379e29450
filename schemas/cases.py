"""Wire models of CME cases (SPEC.md, CME cases); services/cases/wire.py builds the
outbound ones from stored cases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from schemas.codes import CaseReason, CaseStatus, Outcome, Sex
from schemas.identifiers import NhsNumber, OptionalPersonName, PersonName, Postcode
from schemas.submissions import AddressLine, FormerName, Inbound

Note = Annotated[
    str,
    StringConstraints(
        max_length=2000,
        pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$",
    ),
]


class AddressOut(BaseModel):
    lines: list[str]
    postcode: str
    last_known: bool = False


class ChildOut(BaseModel):
    given_name: str
    middle_names: str | None
    family_name: str
    former_names: list[dict[str, str | None]]
    date_of_birth: date
    sex: str | None
    address: AddressOut | None = Field(description="Always null for a sensitive child.")
    nhs_number: str | None


class SourceOut(BaseModel):
    lhb_code: str
    submission_id: str
    record_id: str


class CandidateOut(BaseModel):
    education_record_id: str
    provision: str
    match_probability: float
    agreement: dict[str, str]


class TransferOut(BaseModel):
    """Set on a case handed over by another Welsh authority."""

    from_local_authority: str
    started_at: datetime = Field(description="When the 28-day clock started.")
    due_by: datetime
    acknowledged_at: datetime | None


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

    at: datetime
    event: CaseEventKind
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
    case_id: str
    status: CaseStatus
    reason: CaseReason
    sensitive: bool
    do_not_contact: bool
    child: ChildOut
    source: SourceOut
    candidates: list[CandidateOut]
    identified_at: datetime
    updated_at: datetime
    outcome: Outcome | None
    note: str | None = None
    closed_at: datetime | None = None
    transfer: TransferOut | None = None
    history: list[CaseEventOut] = Field(default_factory=list, description="Oldest first.")


class CasePage(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None


class AddressIn(Inbound):
    lines: list[AddressLine] = Field(min_length=1, max_length=6)
    postcode: Postcode
    last_known: bool = False


class ChildCorrection(Inbound):
    """Rectification: the fields given replace the case's copy of the child's details."""

    given_name: PersonName | None = None
    middle_names: OptionalPersonName = None
    family_name: PersonName | None = None
    former_names: list[FormerName] | None = Field(default=None, max_length=10)
    date_of_birth: date | None = None
    sex: Sex | None = None
    address: AddressIn | None = None
    nhs_number: NhsNumber | None = None


class ReviewDecisionIn(Inbound):
    """For a `possible_match_needs_review` case: which candidate the child is, or none."""

    education_record_id: str | None = Field(
        description="One of the case's candidates, or null for none of them."
    )


class CasePatch(Inbound):
    status: Literal["closed"] | None = None
    outcome: Outcome | None = None
    note: Note | None = None
    receiving_local_authority: str | None = Field(
        default=None, description="With `moved_to_another_authority`: a Welsh LA code or `england`."
    )
    review_decision: ReviewDecisionIn | None = None
    child: ChildCorrection | None = None
