"""After a run, delete everything no case needs: a case keeps its own copy of the child."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, update
from sqlalchemy.orm import Session

from services.store.db import affected_rows
from services.store.tables import EducationRecord, EducationSet, HealthRecord, Submission

_BATCH = 500


@dataclass(frozen=True, slots=True)
class Deleted:
    health_records_deleted: int
    education_records_deleted: int
    submission_bodies_deleted: int


def minimise(
    *,
    session: Session,
    la_code: str,
    education_set: EducationSet,
    submission_ids: Collection[str],
    now: datetime,
) -> Deleted:
    """The authority's consumed health and education records, and the raw body of every
    submission none of whose records remain (its digest and signature stay as proof)."""
    health = affected_rows(
        session, delete(HealthRecord).where(HealthRecord.local_authority_code == la_code)
    )
    education = affected_rows(
        session, delete(EducationRecord).where(EducationRecord.la_code == la_code)
    )
    education_set.consumed_at = now
    ids = sorted(submission_ids)
    still_needed = exists().where(
        HealthRecord.submission_id == Submission.submission_id,
        HealthRecord.lhb_code == Submission.lhb_code,
    )
    bodies = 0
    for start in range(0, len(ids), _BATCH):
        bodies += affected_rows(
            session,
            update(Submission)
            .where(
                Submission.submission_id.in_(ids[start : start + _BATCH]),
                Submission.body_gzip.is_not(None),
                ~still_needed,
            )
            .values(body_gzip=None, body_deleted_at=now),
        )
    return Deleted(health, education, bodies)
