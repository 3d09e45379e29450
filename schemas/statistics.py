"""Wire models of the aggregate statistics for the Welsh Government (SPEC.md, Statistics)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AuthorityStatistics(BaseModel):
    la_code: str
    name: str
    health_records_received: int | None = Field(description="In the latest reconciliation.")
    matched_by_provision: dict[str, int | None]
    not_matched: int | None
    unmatched_rate: float | None = Field(
        description="Share of health records not matched to any education record (research "
        "found 3% to 15% by authority)."
    )
    cases_opened: int | None
    cases_open: int | None
    cases_closed_by_outcome: dict[str, int | None]


class Statistics(BaseModel):
    generated_at: str
    local_authorities: list[AuthorityStatistics]
    suppressed: list[str] = Field(
        description="JSON Pointers of the values shown as null because they were 1 to 4."
    )
