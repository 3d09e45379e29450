"""The reconciliation queue, kept in the database so any number of workers share it.

On PostgreSQL workers claim jobs with `FOR UPDATE SKIP LOCKED`; on SQLite every write
transaction is serialised anyway (BEGIN IMMEDIATE), so the same query is safe there.
A job whose worker died (no heartbeat) is queued again; its transaction never committed,
so the previous state is intact.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, select, tuple_, update
from sqlalchemy.orm import Session

from services.cursors import decode_cursor, encode_cursor
from services.errors import Conflict, NotFound
from services.store.tables import EducationSet, HealthRecord, Reconciliation

STALE_AFTER = timedelta(minutes=5)
_UNFINISHED = ("queued", "running")
MAX_ATTEMPTS = 3


def request_run(*, session: Session, la_code: str, requested_by: str | None) -> Reconciliation:
    """An authority asks for a run: the one already queued or running, else a new one."""
    current = session.scalar(
        select(Reconciliation)
        .where(Reconciliation.la_code == la_code, Reconciliation.status.in_(_UNFINISHED))
        .order_by(Reconciliation.created_at.desc())
        .limit(1)
    )
    if current is not None:
        return current
    if not _education_records_available(session, la_code):
        raise Conflict(
            "This authority's education records have been reconciled already (see GET "
            ".../reconciliations); PUT new ones to reconcile again.",
            "education_records_required",
        )
    return enqueue(session=session, la_code=la_code, trigger="manual", requested_by=requested_by)


def enqueue(
    *, session: Session, la_code: str, trigger: str, requested_by: str | None = None
) -> Reconciliation:
    """Queue a run, or return the one already waiting for this authority."""
    waiting = session.scalar(
        select(Reconciliation).where(
            Reconciliation.la_code == la_code, Reconciliation.status == "queued"
        )
    )
    if waiting is not None:
        return waiting
    job = Reconciliation(
        reconciliation_id=str(uuid.uuid4()),
        la_code=la_code,
        status="queued",
        trigger=trigger,
        requested_by=requested_by,
        created_at=datetime.now(UTC),
        attempts=0,
    )
    session.add(job)
    session.flush()
    return job


def enqueue_if_ready(*, session: Session, la_code: str, trigger: str) -> Reconciliation | None:
    """The service's own trigger: run when both health and education records are waiting."""
    has_health = session.scalar(
        select(exists().where(HealthRecord.local_authority_code == la_code))
    )
    if not has_health or not _education_records_available(session, la_code):
        return None
    return enqueue(session=session, la_code=la_code, trigger=trigger)


def _education_records_available(session: Session, la_code: str) -> bool:
    education_set = session.get(EducationSet, la_code)
    return education_set is not None and education_set.consumed_at is None


def claim_next(*, session: Session, now: datetime | None = None) -> Reconciliation | None:
    now = now or datetime.now(UTC)
    _requeue_stale(session, now)
    busy = select(Reconciliation.la_code).where(Reconciliation.status == "running")
    job = session.scalars(
        select(Reconciliation)
        .where(Reconciliation.status == "queued", Reconciliation.la_code.not_in(busy))
        .order_by(Reconciliation.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if job is None:
        return None
    job.status = "running"
    job.started_at = job.heartbeat_at = now
    job.attempts += 1
    job.progress = {"stage": "claimed"}
    session.flush()
    return job


def _requeue_stale(session: Session, now: datetime) -> None:
    stale = (Reconciliation.status == "running") & (Reconciliation.heartbeat_at < now - STALE_AFTER)
    session.execute(
        update(Reconciliation)
        .where(stale, Reconciliation.attempts >= MAX_ATTEMPTS)
        .values(status="failed", finished_at=now, error_code="worker_lost")
    )
    session.execute(
        update(Reconciliation)
        .where(stale, Reconciliation.attempts < MAX_ATTEMPTS)
        .values(status="queued", progress={"stage": "requeued after a lost worker"})
    )


def list_runs(
    *, session: Session, la_code: str, limit: int, cursor: str | None
) -> tuple[Sequence[Reconciliation], str | None]:
    """The authority's runs, newest first."""
    statement = select(Reconciliation).where(Reconciliation.la_code == la_code)
    if cursor is not None:
        before_time, before_id = decode_cursor(cursor)
        statement = statement.where(
            tuple_(Reconciliation.created_at, Reconciliation.reconciliation_id)
            < tuple_(before_time, before_id)
        )
    order = (Reconciliation.created_at.desc(), Reconciliation.reconciliation_id.desc())
    rows = session.scalars(statement.order_by(*order).limit(limit + 1)).all()
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if more else None
    return page, None if last is None else encode_cursor(last.created_at, last.reconciliation_id)


def get(*, session: Session, la_code: str, reconciliation_id: str) -> Reconciliation:
    job = session.scalar(
        select(Reconciliation).where(
            Reconciliation.reconciliation_id == reconciliation_id,
            Reconciliation.la_code == la_code,
        )
    )
    if job is None:
        raise NotFound("No such reconciliation for this authority.")
    return job
