"""Wire models of the aggregate statistics for the Welsh Government (SPEC.md, Statistics)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AuthorityStatistics(BaseModel):
    """One local authority's counts; null where withheld (see `suppressed`)."""

    la_code: str = Field(description="ONS GSS code of the authority, e.g. `W06000015`.")
    name: str = Field(description="The authority's name, e.g. `Cardiff`.")
    health_records_received: int | None = Field(
        description="In the latest reconciliation. Equals the sum of `matched_by_provision` "
        "and `not_matched`."
    )
    matched_by_provision: dict[str, int | None] = Field(
        description="Health records matched to an education record, per `provision` code; "
        "null where withheld."
    )
    not_matched: int | None = Field(
        description="Health records matched to no education record; null where withheld."
    )
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
    cases_open: int | None = Field(description="Cases open now; null where withheld.")
    cases_closed_by_outcome: dict[str, int | None] = Field(
        description="Closed cases per outcome code; null where withheld."
    )


class Statistics(BaseModel):
    """Per-authority counts; small numbers suppressed so that no other count gives them away."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "generated_at": "2026-02-01T06:00:00+00:00",
                    "local_authorities": [
                        {
                            "la_code": "W06000015",
                            "name": "Cardiff",
                            "health_records_received": 54210,
                            "matched_by_provision": {
                                "maintained_school": 49875,
                                "independent_school": 1630,
                                "eotas": 212,
                                "school_in_england": 305,
                                "ehe": 640,
                            },
                            "not_matched": 1548,
                            "unmatched_rate": 0.0286,
                            "cases_opened": 2033,
                            "cases_open": 1452,
                            "cases_closed_by_outcome": {
                                "registered_at_school": 310,
                                "suitable_education_assured": 122,
                                "moved_to_another_authority": 85,
                                "ceased_compulsory_school_age": 40,
                                "deceased": None,
                                "not_traced": 12,
                                "other": None,
                            },
                        }
                    ],
                    "suppressed": [
                        "/local_authorities/0/cases_closed_by_outcome/deceased",
                        "/local_authorities/0/cases_closed_by_outcome/other",
                    ],
                }
            ]
        }
    )

    generated_at: str = Field(
        description="When the figures were computed: ISO 8601 timestamp with offset."
    )
    local_authorities: list[AuthorityStatistics] = Field(
        description="One entry per local authority."
    )
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
