"""One reconciliation run for one authority, in one transaction.

Read the authority's health and education records, link them, decide each child, write
cases, then delete everything no case needs: the health records and education records
consumed, and the raw bodies of submissions none of whose records remain. A run that fails
or is killed rolls back whole, leaving the previous state intact; a rerun on the same data
changes nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, RowMapping, delete, exists, func, select, update
from sqlalchemy.orm import Session

from schemas.school_age import compulsory_school_age_birth_dates
from services import audit
from services.caller import Caller
from services.linkage import LinkageSettings, PersonRecord, link
from services.reconciliation.cases import (
    Source,
    candidates_of,
    child_details,
    close_found,
    fingerprint,
    open_or_update,
)
from services.reconciliation.decisions import EducationFacts, apply_review_decision, decide
from services.store.tables import (
    CmeCase,
    EducationRecord,
    EducationSet,
    HealthRecord,
    Reconciliation,
    ReviewDecision,
    Submission,
)

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


class NothingToReconcile(Exception):
    """The education records were consumed by another run in the meantime."""


def reconcile(
    *,
    session: Session,
    job: Reconciliation,
    settings: LinkageSettings,
    progress: Progress | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    report = progress or (lambda _stage: None)
    now = datetime.now(UTC)
    la_code = job.la_code
    education_set = session.get(EducationSet, la_code, with_for_update=True)
    if education_set is None or education_set.consumed_at is not None:
        raise NothingToReconcile(la_code)

    report("loading records")
    earliest, latest = compulsory_school_age_birth_dates(today or now.date())
    health_rows = _health_rows(session, la_code)
    in_age = [r for r in health_rows if earliest <= r["date_of_birth"] <= latest]
    education_rows = _education_rows(session, la_code)
    facts = {
        row["record_id"]: EducationFacts(row["provision"], row["ehe_suitability"])
        for row in education_rows
    }

    report("linking")
    result = link(
        health=[_person(str(r["id"]), r) for r in in_age],
        education=[_person(r["record_id"], r) for r in education_rows],
        settings=settings,
    )

    report("writing cases")
    counts: Counter[str] = Counter()
    matched: Counter[str] = Counter()
    existing = _existing_cases(session, la_code)
    reviewed = _review_decisions(session, la_code)
    for row in in_age:
        decision = decide(result.outcome_for(str(row["id"])), facts)
        key = (row["lhb_code"], row["record_id"])
        answer = reviewed.get(key)
        if answer is not None and answer.child_fingerprint == fingerprint(child_details(row)):
            decision = apply_review_decision(decision, answer.education_record_id, facts)
        case = existing.get(key)
        if decision.matched_provision is not None:
            matched[decision.matched_provision] += 1
        if decision.reason is None:
            assert decision.matched_provision is not None
            if case is not None and close_found(
                case=case,
                provision=decision.matched_provision,
                reconciliation_id=job.reconciliation_id,
                now=now,
            ):
                counts["cases_closed"] += 1
            continue
        counts["possible_matches_for_review"] += decision.reason == "possible_match_needs_review"
        case, change = open_or_update(
            existing=case,
            la_code=la_code,
            source=Source(row["lhb_code"], row["submission_id"], row["record_id"]),
            reason=decision.reason,
            child=child_details(row),
            sensitive=row["sensitive"],
            candidates=candidates_of(decision, facts),
            reconciliation_id=job.reconciliation_id,
            now=now,
        )
        if change == "opened":
            session.add(case)
        counts[f"cases_{change}"] += 1
    session.flush()

    report("deleting what is no longer needed")
    deleted = _minimise(session, la_code, education_set, health_rows, now)
    open_cases = session.scalar(
        select(func.count())
        .select_from(CmeCase)
        .where(CmeCase.la_code == la_code, CmeCase.status == "open")
    )
    summary: dict[str, Any] = {
        "health_records_considered": len(health_rows),
        "health_records_no_longer_of_school_age": len(health_rows) - len(in_age),
        "education_records_considered": len(education_rows),
        "matched_by_provision": dict(sorted(matched.items())),
        "possible_matches_for_review": counts["possible_matches_for_review"],
        "cases_opened": counts["cases_opened"],
        "cases_reopened": counts["cases_reopened"],
        "cases_updated": counts["cases_updated"],
        "cases_closed": counts["cases_closed"],
        "cases_open": int(open_cases or 0),
        **deleted,
    }
    audit.record(
        session=session,
        caller=Caller.service_for(la_code),
        action="reconciliation.succeeded",
        object_type="reconciliation",
        object_ids=[job.reconciliation_id],
        record_count=len(health_rows),
    )
    log.info(
        "reconciliation finished",
        extra={
            "reconciliation_id": job.reconciliation_id,
            **{k: v for k, v in summary.items() if isinstance(v, int)},
        },
    )
    return summary


_HEALTH_COLUMNS = (
    HealthRecord.id,
    HealthRecord.lhb_code,
    HealthRecord.record_id,
    HealthRecord.submission_id,
    HealthRecord.nhs_number,
    HealthRecord.given_name,
    HealthRecord.middle_names,
    HealthRecord.family_name,
    HealthRecord.former_names,
    HealthRecord.date_of_birth,
    HealthRecord.sex,
    HealthRecord.address_lines,
    HealthRecord.postcode,
    HealthRecord.address_last_known,
    HealthRecord.sensitive,
)
_EDUCATION_COLUMNS = (
    EducationRecord.record_id,
    EducationRecord.nhs_number,
    EducationRecord.given_name,
    EducationRecord.middle_names,
    EducationRecord.family_name,
    EducationRecord.former_names,
    EducationRecord.date_of_birth,
    EducationRecord.sex,
    EducationRecord.address_lines,
    EducationRecord.postcode,
    EducationRecord.provision,
    EducationRecord.ehe_suitability,
)


def _health_rows(session: Session, la_code: str) -> Sequence[RowMapping]:
    statement = select(*_HEALTH_COLUMNS).where(HealthRecord.local_authority_code == la_code)
    return session.execute(statement.order_by(HealthRecord.id)).mappings().all()


def _education_rows(session: Session, la_code: str) -> Sequence[RowMapping]:
    statement = select(*_EDUCATION_COLUMNS).where(EducationRecord.la_code == la_code)
    return session.execute(statement.order_by(EducationRecord.record_id)).mappings().all()


def _person(record_id: str, row: RowMapping) -> PersonRecord:
    return PersonRecord(
        record_id=record_id,
        nhs_number=row["nhs_number"],
        given_name=row["given_name"],
        middle_names=row["middle_names"],
        family_name=row["family_name"],
        former_names=tuple(
            (n.get("given_name") or "", n["family_name"]) for n in row["former_names"] or []
        ),
        date_of_birth=row["date_of_birth"],
        sex=row["sex"],
        postcode=row["postcode"],
        address_lines=tuple(row["address_lines"] or ()),
    )


def _review_decisions(session: Session, la_code: str) -> dict[tuple[str, str], ReviewDecision]:
    answers = session.scalars(select(ReviewDecision).where(ReviewDecision.la_code == la_code))
    return {(a.lhb_code, a.record_id): a for a in answers}


def _existing_cases(session: Session, la_code: str) -> dict[tuple[str, str], CmeCase]:
    cases = session.scalars(select(CmeCase).where(CmeCase.la_code == la_code).with_for_update())
    return {(c.source_lhb_code, c.source_record_id): c for c in cases}


def _minimise(
    session: Session,
    la_code: str,
    education_set: EducationSet,
    health_rows: Sequence[RowMapping],
    now: datetime,
) -> dict[str, int]:
    """Delete every consumed record: a case keeps its own copy of what it needs."""
    health_deleted = _affected(
        session, delete(HealthRecord).where(HealthRecord.local_authority_code == la_code)
    )
    education_deleted = _affected(
        session, delete(EducationRecord).where(EducationRecord.la_code == la_code)
    )
    education_set.consumed_at = now
    submission_ids = sorted({row["submission_id"] for row in health_rows})
    still_needed = exists().where(HealthRecord.submission_id == Submission.submission_id)
    bodies_deleted = 0
    for start in range(0, len(submission_ids), 500):
        bodies_deleted += _affected(
            session,
            update(Submission)
            .where(
                Submission.submission_id.in_(submission_ids[start : start + 500]),
                Submission.body_gzip.is_not(None),
                ~still_needed,
            )
            .values(body_gzip=None, body_deleted_at=now),
        )
    return {
        "health_records_deleted": health_deleted,
        "education_records_deleted": education_deleted,
        "submission_bodies_deleted": bodies_deleted,
    }


def _affected(session: Session, statement: Executable) -> int:
    result = cast(CursorResult[Any], session.execute(statement))
    return int(result.rowcount or 0)
