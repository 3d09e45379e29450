"""A reported death closes the child's cases at once, in every authority, and stops all
contact: no letter or visit may reach a bereaved family."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cases import lifecycle
from services.store.tables import CmeCase

_BATCH = 500


def close_cases_of_deceased(*, session: Session, lhb_code: str, record_ids: Sequence[str]) -> int:
    """Runs inside the submission's transaction, so the 201 is never sent before it holds."""
    now = datetime.now(UTC)
    closed = 0
    for start in range(0, len(record_ids), _BATCH):
        batch = record_ids[start : start + _BATCH]
        for case in session.scalars(
            select(CmeCase)
            .where(CmeCase.source_lhb_code == lhb_code, CmeCase.source_record_id.in_(batch))
            .with_for_update()
        ):
            closed += lifecycle.close_for_death(case, now=now)
    session.flush()
    return closed
