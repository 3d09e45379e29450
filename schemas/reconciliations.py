"""Wire models of an authority's reconciliations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.codes import ReconciliationStatus

_RECONCILIATION_ID = "5b2e7c44-0d1f-4a7e-9c3b-8e6f2a1d9b07"

_RECONCILIATION_EXAMPLE: dict[str, Any] = {
    "reconciliation_id": _RECONCILIATION_ID,
    "status": "succeeded",
    "trigger": "education_records",
    "created_at": "2026-01-20T03:00:00Z",
    "started_at": "2026-01-20T03:00:02Z",
    "finished_at": "2026-01-20T03:04:41Z",
    "progress": {"stage": "done"},
    "summary": {
        "health_records_considered": 54210,
        "health_records_no_longer_of_school_age": 12,
        "education_records_considered": 52980,
        "matched_by_provision": {
            "maintained_school": 49875,
            "independent_school": 1630,
            "eotas": 212,
            "school_in_england": 305,
            "ehe": 640,
        },
        "possible_matches_for_review": 96,
        "cases_opened": 41,
        "cases_reopened": 2,
        "cases_updated": 7,
        "cases_closed": 18,
        "cases_open": 1452,
        "health_records_deleted": 51562,
        "education_records_deleted": 0,
        "submission_bodies_deleted": 1,
        "estimated_quality": {
            "precision": 0.9962,
            "recall": 0.9871,
            "labels_used": 214,
            "label_scope": "authority",
            "method": "match probabilities recalibrated on officers' review decisions "
            "(one log-odds shift, maximum likelihood), then precision = expected right links "
            "/ probabilistic links, recall = expected right links / expected matches among "
            "links and review candidates; labels come from the review band only, "
            "NHS-number links are left out",
            "reason": None,
        },
    },
    "error_code": None,
}


class ReconciliationQueued(BaseModel):
    """A reconciliation run was queued, or one already queued or running was joined."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reconciliation_id": _RECONCILIATION_ID, "status": "queued"}]
        }
    )

    reconciliation_id: str = Field(description="The run's UUID.")
    status: ReconciliationStatus = Field(
        description="`queued` or `running` (a run already under way was joined)."
    )


class ReconciliationOut(BaseModel):
    """One reconciliation run: the authority's health records compared with its education
    records."""

    model_config = ConfigDict(json_schema_extra={"examples": [_RECONCILIATION_EXAMPLE]})

    reconciliation_id: str = Field(description="The run's UUID.")
    status: ReconciliationStatus = Field(
        description="`queued`, `running`, `succeeded` or `failed`."
    )
    trigger: str = Field(description="manual, submission or education_records.")
    created_at: datetime = Field(description="When the run was queued, with offset.")
    started_at: datetime | None = Field(description="When a worker started it; null while queued.")
    finished_at: datetime | None = Field(
        description="When it succeeded or failed; null until then."
    )
    progress: dict[str, Any] | None = Field(
        description='`{"stage": ...}`: the step a running run is at (`loading records`, '
        "`linking`, `writing cases`, `deleting what is no longer needed`), `done` once it "
        "succeeded; null when it failed."
    )
    summary: dict[str, Any] | None = Field(
        description="Counts only. Case counts cover only the cases the caller may see: "
        "sensitive children's only with `cme:sensitive`, restricted cases never. "
        "`estimated_quality`: the precision and recall of the run's probabilistic links "
        "(those not made by NHS number), estimated from officers' review decisions "
        "(`labels_used` labelled pairs, the authority's own or, with too few, every "
        "authority's: `label_scope`); `method` states how; both null, with the `reason`, "
        "when there are too few labels. The labels come from the review band only, so "
        "treat the figures as estimates, not measurements."
    )
    error_code: str | None = Field(
        description="Why a failed run failed (`education_records_required`, "
        "`reconciliation_error`); null otherwise."
    )


class ReconciliationPage(BaseModel):
    """One page of an authority's reconciliation runs."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"items": [_RECONCILIATION_EXAMPLE], "next_cursor": "eyJhZnRlciI6IjViMmU3YyJ9"}
            ]
        }
    )

    items: list[ReconciliationOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
