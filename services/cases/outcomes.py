"""PATCH of a case: outcomes, moves between authorities, review decisions, rectification.

A move to another Welsh authority opens (or reopens) the receiving authority's case in the
same transaction, starting its 28-day clock; a move to England closes the case and leaves
a transfer record for the English authority.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.cases import CasePatch
from schemas.organisations import is_local_authority
from services import audit
from services.caller import Caller
from services.cases import lifecycle
from services.cases.child import corrected
from services.cases.queries import find_for_update
from services.errors import Conflict, FieldError, ServiceError, ValidationFailed
from services.store.tables import CmeCase, EnglandTransfer, ReviewDecision

ENGLAND = "england"


def update_case(
    *,
    session: Session,
    caller: Caller,
    case_id: str,
    if_match: str | None,
    patch: CasePatch,
) -> CmeCase:
    case = find_for_update(session=session, caller=caller, case_id=case_id, if_match=if_match)
    _check(case, patch, caller)
    now = datetime.now(UTC)
    if patch.child is not None:
        lifecycle.rectify(case, child=corrected(case.child, patch.child), now=now)
    if patch.note is not None:
        lifecycle.annotate(case, note=patch.note, now=now)
    if patch.review_decision is not None:
        _settle_review(session, case, patch.review_decision.education_record_id, caller, now)
    if patch.status == "closed" and patch.outcome is not None:
        lifecycle.close(
            case,
            outcome=patch.outcome,
            now=now,
            local_authority=patch.receiving_local_authority,
        )
        _move(session, case, patch, now)
    lifecycle.acknowledge_transfer(case, now=now)
    audit.record(
        session=session,
        caller=caller,
        action="case.updated",
        object_type="cme_case",
        object_ids=[case.case_id],
    )
    session.flush()
    return case


def _check(case: CmeCase, patch: CasePatch, caller: Caller) -> None:
    problems: list[FieldError] = []
    if all(getattr(patch, name) is None for name in type(patch).model_fields):
        problems.append(FieldError("", "empty_patch", "Nothing to change."))
    if patch.status == "closed" and patch.outcome is None:
        problems.append(FieldError("/outcome", "required", "Closing a case needs an outcome."))
    if patch.outcome is not None and patch.status != "closed":
        problems.append(
            FieldError("/status", "required", "An outcome closes the case: status closed.")
        )
    moving = patch.outcome == "moved_to_another_authority"
    receiving = patch.receiving_local_authority
    if moving and receiving is None:
        problems.append(
            FieldError(
                "/receiving_local_authority", "required", "A move needs the receiving authority."
            )
        )
    if receiving is not None and not moving:
        problems.append(
            FieldError(
                "/receiving_local_authority", "not_allowed", "Only with moved_to_another_authority."
            )
        )
    if (
        receiving is not None
        and receiving != ENGLAND
        and (not is_local_authority(receiving) or receiving == caller.org_code)
    ):
        problems.append(
            FieldError(
                "/receiving_local_authority",
                "unknown_local_authority",
                "Another Welsh authority's GSS code, or england.",
            )
        )
    if patch.child is not None and case.sensitive and patch.child.address is not None:
        problems.append(
            FieldError(
                "/child/address",
                "address_not_allowed_for_sensitive",
                "A sensitive child's address is never held.",
            )
        )
    if patch.review_decision is not None:
        known = {c["education_record_id"] for c in case.candidates}
        chosen = patch.review_decision.education_record_id
        if chosen is not None and chosen not in known:
            problems.append(
                FieldError(
                    "/review_decision/education_record_id",
                    "unknown_candidate",
                    "Not one of this case's candidates.",
                )
            )
    if problems:
        raise ValidationFailed(problems)
    if case.status == "closed" and (patch.status is not None or patch.review_decision is not None):
        raise Conflict("The case is closed.", "case_closed")
    if patch.review_decision is not None and case.reason != "possible_match_needs_review":
        raise Conflict("The case is not waiting for a review decision.", "not_under_review")


def _settle_review(
    session: Session, case: CmeCase, chosen: str | None, caller: Caller, now: datetime
) -> None:
    """Settle the case and remember the answer, so later runs do not ask again while the
    child's details stay the same."""
    remembered = session.get(
        ReviewDecision, (case.la_code, case.source_lhb_code, case.source_record_id)
    )
    if remembered is None:
        remembered = ReviewDecision(
            la_code=case.la_code, lhb_code=case.source_lhb_code, record_id=case.source_record_id
        )
        session.add(remembered)
    remembered.education_record_id = chosen
    remembered.child_fingerprint = case.child_fingerprint
    who = caller.officer or caller.client_id or "operator"
    remembered.decided_at, remembered.decided_by = now, who
    # Labels calibrate the model, so only candidates it scored: the assured home-education
    # safety net's (services/reconciliation/safety_net.py) come at probability 0.0, put
    # forward by the net below anything the model reports.
    remembered.labels = [
        {"match_probability": c["match_probability"], "match": c["education_record_id"] == chosen}
        for c in case.candidates
        if c["match_probability"] > 0.0
    ]
    candidate = next((c for c in case.candidates if c["education_record_id"] == chosen), None)
    lifecycle.settle_review(case, chosen=candidate, now=now)


def _move(session: Session, case: CmeCase, patch: CasePatch, now: datetime) -> None:
    """A move to England leaves a transfer record for the English authority; a move to
    another Welsh authority opens the child's case there in the same transaction."""
    receiving = patch.receiving_local_authority
    if patch.outcome != "moved_to_another_authority" or receiving is None:
        return
    if receiving == ENGLAND:
        session.add(
            EnglandTransfer(
                transfer_id=str(uuid.uuid4()),
                case_id=case.case_id,
                la_code=case.la_code,
                child=dict(case.child),
                note=patch.note,
                started_at=now,
            )
        )
        return
    existing = session.scalar(
        select(CmeCase)
        .where(
            CmeCase.la_code == receiving,
            CmeCase.source_lhb_code == case.source_lhb_code,
            CmeCase.source_record_id == case.source_record_id,
        )
        .with_for_update()
    )
    if existing is not None and existing.outcome == "deceased":
        raise ServiceError(
            "The receiving authority holds this child as deceased.", code="child_deceased"
        )
    target = lifecycle.hand_over(case=case, receiving_la=receiving, existing=existing, now=now)
    if existing is None:
        session.add(target)
