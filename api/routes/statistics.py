"""Aggregate statistics for the Welsh Government (SPEC.md, Statistics)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import (
    Session,
    StatisticsReader,
)
from api.responses import problems
from services.governance.statistics import statistics

router = APIRouter(tags=["statistics"])


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


@router.get(
    "/v1/statistics",
    response_model=Statistics,
    summary="Per-authority counts, small numbers suppressed",
    responses=problems(401, 403, 429),
)
def read_statistics(session: Session, caller: StatisticsReader) -> dict[str, Any]:
    return statistics(session=session, caller=caller)
