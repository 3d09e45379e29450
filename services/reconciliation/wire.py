"""Reconciliation jobs as the wire shows them."""

from __future__ import annotations

from schemas.reconciliations import ReconciliationOut, ReconciliationQueued
from services.store.tables import Reconciliation


def reconciliation_queued(job: Reconciliation) -> ReconciliationQueued:
    return ReconciliationQueued(reconciliation_id=job.reconciliation_id, status=job.status)


def reconciliation_out(job: Reconciliation) -> ReconciliationOut:
    return ReconciliationOut(
        reconciliation_id=job.reconciliation_id,
        status=job.status,
        trigger=job.trigger,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        progress=job.progress,
        summary=job.summary,
        error_code=job.error_code,
    )
