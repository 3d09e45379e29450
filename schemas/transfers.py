"""Wire models of the transfer records of children who moved to England."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_TRANSFER_EXAMPLE: dict[str, Any] = {
    "transfer_id": "c4a1f6e0-2b7d-4e39-8f15-6d0a9b3e7c21",
    "case_id": "0b7d3e2a-5c41-4f8e-a9d6-1e2f3a4b5c6d",
    "child": {
        "given_name": "Oliver",
        "middle_names": None,
        "family_name": "Smith",
        "former_names": [],
        "date_of_birth": "2013-11-20",
        "sex": "M",
        "address": {"lines": ["4 Church Street"], "postcode": "HR1 2LB", "last_known": True},
        "nhs_number": "9990000026",
    },
    "note": "Family moved to Hereford.",
    "started_at": "2026-02-03T10:15:00Z",
    "due_by": "2026-03-03T10:15:00Z",
    "overdue": False,
    "exported_at": None,
}


class EnglandTransferOut(BaseModel):
    """A child who moved to England: the details the authority must pass to the receiving
    English authority within 28 days."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TRANSFER_EXAMPLE]})

    transfer_id: str = Field(description="The transfer's UUID.")
    case_id: str = Field(description="UUID of the case closed with the move.")
    child: dict[str, Any] = Field(
        description="The child's details as the case held them, with the same fields as a "
        "case's `child`; empty once exported, when the service stops holding them."
    )
    note: str | None = Field(
        description="The officer's note on the move; null for none and once exported."
    )
    started_at: datetime = Field(
        description="When the case was closed with the move: the 28-day clock's start."
    )
    due_by: datetime = Field(description="28 days after `started_at`.")
    overdue: bool = Field(description="True when `due_by` has passed and it is not exported.")
    exported_at: datetime | None = Field(
        description="When the authority marked it sent to England; null until then."
    )


class EnglandTransferList(BaseModel):
    """The authority's transfers to England."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_TRANSFER_EXAMPLE]}]})

    items: list[EnglandTransferOut] = Field(description="The transfers.")
