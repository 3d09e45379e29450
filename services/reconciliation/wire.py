"""Reconciliation jobs as the wire shows them."""

from __future__ import annotations

from typing import Any

from schemas.reconciliations import ReconciliationOut, ReconciliationQueued
from services.caller import Caller
from services.store.tables import Reconciliation


def reconciliation_queued(job: Reconciliation) -> ReconciliationQueued:
    return ReconciliationQueued(reconciliation_id=job.reconciliation_id, status=job.status)


def reconciliation_out(job: Reconciliation, *, caller: Caller) -> ReconciliationOut:
    return ReconciliationOut(
        reconciliation_id=job.reconciliation_id,
        status=job.status,
        trigger=job.trigger,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        progress=job.progress,
        summary=None if job.summary is None else visible_summary(job.summary, caller=caller),
        error_code=job.error_code,
    )


def visible_summary(summary: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
    """A run's counts as this caller may see them: without sensitive children's cases
    unless the caller is cleared for them."""
    shown = {name: value for name, value in summary.items() if name != "sensitive_cases"}
    if not caller.sees_sensitive:
        for name, hidden in summary.get("sensitive_cases", {}).items():
            shown[name] = shown[name] - hidden
    return shown
