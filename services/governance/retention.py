"""Retention and data-subject rights for the operator: purge, erasure, restriction, and
subject access. Every action is audited (ids and counts only).

Closed cases are kept for `CME_CASE_RETENTION_DAYS` (default 365) after closing: long
enough that the next annual exchange recognises the child instead of opening a new case
(a closed case reopens only if the child's details change), and no longer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from services import audit
from services.caller import Caller
from services.cases import lifecycle
from services.errors import NotFound
from services.store.db import affected_rows
from services.store.tables import (
    AuditEvent,
    CmeCase,
    EnglandTransfer,
    HealthRecord,
    ReviewDecision,
    Submission,
    UsedAssertion,
)


def purge(*, session: Session, retention_days: int, now: datetime | None = None) -> dict[str, int]:
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=retention_days)
    still_needed = exists().where(
        HealthRecord.submission_id == Submission.submission_id,
        HealthRecord.lhb_code == Submission.lhb_code,
    )
    bodies = affected_rows(
        session,
        update(Submission)
        .where(Submission.body_gzip.is_not(None), ~still_needed)
        .values(body_gzip=None, body_deleted_at=now),
    )
    expired = session.scalars(
        select(CmeCase.case_id).where(CmeCase.status == "closed", CmeCase.closed_at < cutoff)
    ).all()
    for start in range(0, len(expired), 500):
        _erase_cases(session, list(expired[start : start + 500]))
    assertions = affected_rows(session, delete(UsedAssertion).where(UsedAssertion.expires_at < now))
    counts = {
        "submission_bodies_deleted": bodies,
        "closed_cases_deleted": len(expired),
        "used_assertions_deleted": assertions,
    }
    audit.record(
        session=session,
        caller=Caller.operator(),
        action="retention.purged",
        object_type="service",
        object_ids=[],
        record_count=sum(counts.values()),
    )
    return counts


def erase(*, session: Session, case_id: str) -> None:
    if session.get(CmeCase, case_id) is None:
        raise NotFound(f"No case {case_id}.")
    _erase_cases(session, [case_id])
    audit.record(
        session=session,
        caller=Caller.operator(),
        action="case.erased",
        object_type="cme_case",
        object_ids=[case_id],
    )


def restrict(*, session: Session, case_id: str, restricted: bool) -> None:
    case = session.get(CmeCase, case_id, with_for_update=True)
    if case is None:
        raise NotFound(f"No case {case_id}.")
    lifecycle.restrict(case, restricted=restricted, now=datetime.now(UTC))
    audit.record(
        session=session,
        caller=Caller.operator(),
        action="case.restricted" if restricted else "case.restriction_lifted",
        object_type="cme_case",
        object_ids=[case_id],
    )


def _erase_cases(session: Session, case_ids: list[str]) -> None:
    cases = session.scalars(select(CmeCase).where(CmeCase.case_id.in_(case_ids))).all()
    for case in cases:
        session.execute(
            delete(ReviewDecision).where(
                ReviewDecision.la_code == case.la_code,
                ReviewDecision.lhb_code == case.source_lhb_code,
                ReviewDecision.record_id == case.source_record_id,
            )
        )
    session.execute(delete(EnglandTransfer).where(EnglandTransfer.case_id.in_(case_ids)))
    session.execute(delete(CmeCase).where(CmeCase.case_id.in_(case_ids)))


def subject_access(
    *, session: Session, la_code: str, nhs_number: str | None, record_id: str | None
) -> dict[str, Any]:
    """Everything held about one child in one authority, and who accessed it."""
    cases = [
        c
        for c in session.scalars(select(CmeCase).where(CmeCase.la_code == la_code))
        if (nhs_number is not None and c.child.get("nhs_number") == nhs_number)
        or (record_id is not None and c.source_record_id == record_id)
    ]
    health = session.scalars(
        select(HealthRecord).where(
            HealthRecord.local_authority_code == la_code,
            (HealthRecord.nhs_number == nhs_number) | (HealthRecord.record_id == record_id),
        )
    ).all()
    case_ids = {c.case_id for c in cases}
    accesses = [
        {
            "time": e.occurred_at.isoformat(),
            "client_id": e.client_id,
            "organisation": e.org_code,
            "action": e.action,
            "request_id": e.request_id,
        }
        for e in session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "cme_case").order_by(AuditEvent.seq)
        )
        if case_ids.intersection(e.object_ids)
    ]
    audit.record(
        session=session,
        caller=Caller.operator(),
        action="subject_access.reported",
        object_type="cme_case",
        object_ids=sorted(case_ids),
    )
    return {
        "local_authority": la_code,
        "cases": [
            {
                "case_id": c.case_id,
                "status": c.status,
                "reason": c.reason,
                "outcome": c.outcome,
                "child": c.child,
                "source": {"lhb_code": c.source_lhb_code, "record_id": c.source_record_id},
                "identified_at": c.identified_at.isoformat(),
                "updated_at": c.updated_at.isoformat(),
                "restricted": c.restricted,
            }
            for c in cases
        ],
        "health_records_awaiting_reconciliation": [
            {
                "lhb_code": h.lhb_code,
                "record_id": h.record_id,
                "given_name": h.given_name,
                "family_name": h.family_name,
                "date_of_birth": h.date_of_birth.isoformat(),
                "postcode": h.postcode,
            }
            for h in health
        ],
        "accesses": accesses,
    }
