"""Wire models of the aggregate statistics for the Welsh Government (SPEC.md, Statistics)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AuthorityStatistics(BaseModel):
    la_code: str
    name: str
    health_records_received: int | None = Field(
        description="In the latest reconciliation. Equals the sum of `matched_by_provision` "
        "and `not_matched`."
    )
    matched_by_provision: dict[str, int | None]
    not_matched: int | None
    unmatched_rate: float | None = Field(
        description="Share of health records not matched to any education record (research "
        "found 3% to 15% by authority), to 4 decimal places. Null when no health records "
        "were received, and withheld (listed in `suppressed`) when either count it is made "
        "from is."
    )
    cases_opened: int | None = Field(
        description="The authority's cases held: equals `cases_open` plus the sum of "
        "`cases_closed_by_outcome`."
    )
    cases_open: int | None
    cases_closed_by_outcome: dict[str, int | None]


class Statistics(BaseModel):
    """Per-authority counts; small numbers suppressed so that no other count gives them away."""

    generated_at: str
    local_authorities: list[AuthorityStatistics]
    suppressed: list[str] = Field(
        description="JSON Pointers of the values shown as null. Every count from 1 to 4 is "
        "null, and so are as many other counts as it takes for none of them to be derived "
        "by subtraction from the sums the response holds (`health_records_received` = "
        "`matched_by_provision` + `not_matched`; `cases_opened` = `cases_open` + "
        "`cases_closed_by_outcome`), nor pinned by knowing this rule: the smallest other "
        "counts of the sum go first, with any tied with them, until a sum with a null has "
        "at least two, adding up to 5 or more and not to exactly 1 or 4 apiece; a null "
        "total makes all its parts null. The list does not say which nulls were "
        "small. `unmatched_rate` is null and listed with either of its counts."
    )
