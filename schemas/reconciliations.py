"""Wire models of an authority's reconciliations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from schemas.codes import ReconciliationStatus


class ReconciliationQueued(BaseModel):
    reconciliation_id: str
    status: ReconciliationStatus


class ReconciliationOut(BaseModel):
    reconciliation_id: str
    status: ReconciliationStatus
    trigger: str = Field(description="manual, submission or education_records.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: dict[str, Any] | None
    summary: dict[str, Any] | None = Field(
        description="Counts only. Case counts cover only the cases the caller may see: "
        "sensitive children's only with `cme:sensitive`, restricted cases never."
    )
    error_code: str | None


class ReconciliationPage(BaseModel):
    items: list[ReconciliationOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
