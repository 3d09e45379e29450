"""One reconciliation run for one authority, in one transaction.

Load the authority's health and education records, link them, put any child the
assured home-education safety net catches to an officer (`safety_net`), decide each child
(pure), apply the decisions to cases, then minimise: delete everything no case needs. A run that
fails or is killed rolls back whole, leaving the previous state intact; a rerun on the
same data changes nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas.codes import Provision
from services import audit
from services.caller import Caller
from services.linkage import HealthRecordOutcome, LinkageSettings, link
from services.reconciliation.apply import apply
from services.reconciliation.decisions import Decision, decide, decide_child
from services.reconciliation.load import ChildRecord, NothingToReconcile, Workload, load
from services.reconciliation.minimise import Deleted, minimise
from services.reconciliation.quality import QualityEstimate, estimate, labels_for
from services.reconciliation.safety_net import with_safety_net
from services.store.tables import CmeCase, Reconciliation

__all__ = ["NothingToReconcile", "ReconciliationSummary", "reconcile"]

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ReconciliationSummary:
    """What a run did, in counts only: kept on the run and shown to the authority."""

    health_records_considered: int
    health_records_no_longer_of_school_age: int
    education_records_considered: int
    matched_by_provision: dict[str, int]
    possible_matches_for_review: int
    cases_opened: int
    cases_reopened: int
    cases_updated: int
    cases_closed: int
    cases_open: int
    health_records_deleted: int
    education_records_deleted: int
    submission_bodies_deleted: int
    # The part of each case count that concerns sensitive children: a caller without
    # clearance is shown the counts without it (see wire.py), so no hidden case shows.
    sensitive_cases: dict[str, int]
    # The probabilistic links' precision and recall, estimated from officers' review
    # decisions, with the method and the number of labels (`quality`).
    estimated_quality: QualityEstimate

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def reconcile(
    *,
    session: Session,
    job: Reconciliation,
    settings: LinkageSettings,
    progress: Progress | None = None,
    today: date | None = None,
) -> ReconciliationSummary:
    report = progress or (lambda _stage: None)
    now = datetime.now(UTC)
    la_code = job.la_code

    report("loading records")
    work = load(session=session, la_code=la_code, today=today or now.date())

    report("linking")
    health = [child.person for child in work.children]
    result = link(health=health, education=work.education, settings=settings)
    # Before any child is listed "not found": the assured-EHE safety net. The engine's own
    # result stays for the quality estimate, since the net's candidates are not the model's.
    offered = with_safety_net(result, health=health, education=work.education, facts=work.facts)
    decided = [
        (child, _decide(child, offered.outcome_for(child.person.record_id), work))
        for child in work.children
    ]

    report("writing cases")
    changes = apply(
        session=session,
        la_code=la_code,
        decided=decided,
        cases=work.cases,
        facts=work.facts,
        reconciliation_id=job.reconciliation_id,
        now=now,
    )

    report("deleting what is no longer needed")
    deleted = minimise(
        session=session,
        la_code=la_code,
        education_set=work.education_set,
        submission_ids=work.submission_ids,
        now=now,
    )
    labels, scope = labels_for(session=session, la_code=la_code)
    matched = Counter(d.matched_provision for _, d in decided if d.matched_provision is not None)
    summary = _summary(
        considered=work.health_records_considered,
        children=len(work.children),
        education=len(work.education),
        matched=matched,
        review=Counter(
            "sensitive" if child.sensitive else "other"
            for child, d in decided
            if d.reason == "possible_match_needs_review"
        ),
        changes=changes,
        open_cases=_open_cases(session, la_code),
        deleted=deleted,
        quality=estimate(result, labels, scope),
    )
    audit.record(
        session=session,
        caller=Caller.service_for(la_code),
        action="reconciliation.succeeded",
        object_type="reconciliation",
        object_ids=[job.reconciliation_id],
        record_count=work.health_records_considered,
    )
    counts = {k: v for k, v in summary.as_json().items() if isinstance(v, int)}
    log.info(
        "reconciliation finished",
        extra={"reconciliation_id": job.reconciliation_id, **counts},
    )
    return summary


def _decide(child: ChildRecord, outcome: HealthRecordOutcome, work: Workload) -> Decision:
    answer = work.answers.get(child.key)
    if answer is None:  # as for most children: no fingerprint to compare, so none made
        return decide(outcome, work.facts)
    return decide_child(
        outcome, work.facts, answer=answer, child_fingerprint=child.child_fingerprint
    )


def _summary(
    *,
    considered: int,
    children: int,
    education: int,
    matched: Counter[Provision],
    review: Counter[str],
    changes: Counter[str],
    open_cases: Counter[bool],
    deleted: Deleted,
    quality: QualityEstimate,
) -> ReconciliationSummary:
    return ReconciliationSummary(
        health_records_considered=considered,
        health_records_no_longer_of_school_age=considered - children,
        education_records_considered=education,
        matched_by_provision=dict(sorted(matched.items())),
        possible_matches_for_review=review.total(),
        cases_opened=changes["opened"],
        cases_reopened=changes["reopened"],
        cases_updated=changes["updated"],
        cases_closed=changes["closed"],
        cases_open=open_cases.total(),
        **asdict(deleted),
        sensitive_cases={
            "possible_matches_for_review": review["sensitive"],
            "cases_opened": changes["sensitive_opened"],
            "cases_reopened": changes["sensitive_reopened"],
            "cases_updated": changes["sensitive_updated"],
            "cases_closed": changes["sensitive_closed"],
            "cases_open": open_cases[True],
        },
        estimated_quality=quality,
    )


def _open_cases(session: Session, la_code: str) -> Counter[bool]:
    """Open cases any officer of the authority may see (restricted ones are shown to no
    one), by whether they are sensitive."""
    rows = session.execute(
        select(CmeCase.sensitive, func.count())
        .where(
            CmeCase.la_code == la_code,
            CmeCase.status == "open",
            CmeCase.restricted.is_(False),
        )
        .group_by(CmeCase.sensitive)
    )
    return Counter({bool(sensitive): int(count) for sensitive, count in rows})
