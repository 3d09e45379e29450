"""An officer's worklist: the authority's cases with their clocks.

Two clocks run on a case. A case handed over by another Welsh authority must be taken up
within 28 days of the hand-over (`transfers.TRANSFER_DAYS`); it is overdue while the
receiving authority has not acted on it by then. A possible match waits for an officer's
review decision; it is overdue once it has waited `REVIEW_DAYS`. Clocks are computed here
from the cases as stored, so every edge shows the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import audit
from services.caller import Caller
from services.cases.queries import visible
from services.cases.transfers import due_by
from services.store.tables import CmeCase

# How long a possible match may wait for an officer's decision before it is overdue: two
# working weeks, so that a decision is made within the month a reconciliation runs.
REVIEW_DAYS = 14
# The most cases one worklist shows, oldest first; filters narrow it.
MAX_WORKLIST = 500
REVIEW = "possible_match_needs_review"
Clock = Literal["overdue", "transfer", "review"]


@dataclass(frozen=True)
class WorklistEntry:
    case: CmeCase
    # Whole days since the case was opened (or last reopened).
    age_days: int
    # The 28-day deadline of a case handed over by another authority, until taken up.
    transfer_due_by: datetime | None
    # Whole days a possible match has waited for a review decision.
    review_waiting_days: int | None
    overdue: bool


def clocks(case: CmeCase, *, now: datetime) -> WorklistEntry:
    opened = _last(case, ("opened", "reopened", "received")) or case.identified_at
    transfer_due = None
    if case.transfer_started_at is not None and case.transfer_acknowledged_at is None:
        transfer_due = due_by(case.transfer_started_at)
    review_days = None
    if case.reason == REVIEW and case.status == "open":
        asked = _last(case, ("opened", "updated", "reopened"), reason=REVIEW) or opened
        review_days = (now - asked).days
    overdue = case.status == "open" and (
        (transfer_due is not None and transfer_due < now)
        or (review_days is not None and review_days >= REVIEW_DAYS)
    )
    return WorklistEntry(
        case=case,
        age_days=(now - opened).days,
        transfer_due_by=transfer_due,
        review_waiting_days=review_days,
        overdue=overdue,
    )


def _last(case: CmeCase, events: tuple[str, ...], reason: str | None = None) -> datetime | None:
    for entry in reversed(case.history or []):
        if entry.get("event") in events and (reason is None or entry.get("reason") == reason):
            return datetime.fromisoformat(entry["at"])
    return None


def worklist(
    *,
    session: Session,
    caller: Caller,
    status: str | None = "open",
    reason: str | None = None,
    clock: Clock | None = None,
    now: datetime | None = None,
) -> Sequence[WorklistEntry]:
    """The caller's cases, overdue first, then oldest first; audited as a case list."""
    now = now or datetime.now(UTC)
    statement = select(CmeCase).where(visible(caller))
    if status is not None:
        statement = statement.where(CmeCase.status == status)
    if reason is not None:
        statement = statement.where(CmeCase.reason == reason)
    if clock == "transfer":
        statement = statement.where(
            CmeCase.transfer_started_at.is_not(None), CmeCase.transfer_acknowledged_at.is_(None)
        )
    elif clock == "review":
        statement = statement.where(CmeCase.reason == REVIEW)
    rows = session.scalars(
        statement.order_by(CmeCase.identified_at, CmeCase.case_id).limit(MAX_WORKLIST)
    ).all()
    entries = [clocks(case, now=now) for case in rows]
    if clock == "overdue":
        entries = [entry for entry in entries if entry.overdue]
    entries.sort(key=lambda entry: (not entry.overdue, -entry.age_days))
    audit.record(
        session=session,
        caller=caller,
        action="case.listed",
        object_type="cme_case",
        object_ids=[entry.case.case_id for entry in entries],
        record_count=len(entries),
    )
    return entries
