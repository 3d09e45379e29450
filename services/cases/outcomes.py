"""PATCH of a case: outcomes, moves between authorities, review decisions, rectification.

A move to another Welsh authority opens (or reopens) the receiving authority's case in the
same transaction, starting its 28-day clock; a move to England closes the case and leaves
a transfer record for the English authority.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.cases import CasePatch, ChildCorrection
from schemas.organisations import is_local_authority
from services import audit
from services.caller import Caller
from services.cases.queries import find_for_update
from services.errors import Conflict, FieldError, ServiceError, ValidationFailed
from services.reconciliation.cases import CLOSING_OUTCOME, fingerprint
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
        _rectify(case, patch.child)
    if patch.note is not None:
        case.note = patch.note
    if patch.review_decision is not None:
        _apply_review(session, case, patch.review_decision.education_record_id, caller, now)
    if patch.status == "closed" and patch.outcome is not None:
        _close(session, case, patch, now)
    if case.transfer_started_at is not None and case.transfer_acknowledged_at is None:
        case.transfer_acknowledged_at = now
    case.updated_at, case.version = now, case.version + 1
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


def _rectify(case: CmeCase, correction: ChildCorrection) -> None:
    child: dict[str, Any] = dict(case.child)
    for name in correction.model_fields_set:
        value = getattr(correction, name)
        if name == "former_names":
            value = [
                {"given_name": n.given_name, "family_name": n.family_name} for n in value or []
            ]
        elif name == "address" and value is not None:
            value = value.model_dump()
        elif name == "date_of_birth" and value is not None:
            value = value.isoformat()
        child[name] = value
    case.child, case.child_fingerprint = child, fingerprint(child)


def _apply_review(
    session: Session, case: CmeCase, chosen: str | None, caller: Caller, now: datetime
) -> None:
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
    remembered.decided_at, remembered.decided_by = now, caller.client_id or "operator"
    if chosen is None:
        case.reason, case.candidates = "not_found_in_education_records", []
        return
    candidate = next(c for c in case.candidates if c["education_record_id"] == chosen)
    if candidate["provision"] == "ehe" and candidate.get("ehe_suitability") != "assured":
        case.reason, case.candidates = "ehe_suitability_not_assured", [candidate]
        return
    case.status, case.closed_at = "closed", now
    case.outcome = CLOSING_OUTCOME[candidate["provision"]]
    case.candidates = [candidate]


def _close(session: Session, case: CmeCase, patch: CasePatch, now: datetime) -> None:
    assert patch.outcome is not None
    case.status, case.outcome, case.closed_at = "closed", patch.outcome, now
    if patch.outcome == "deceased":
        case.do_not_contact = True
    if patch.outcome != "moved_to_another_authority":
        return
    if patch.receiving_local_authority == ENGLAND:
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
    assert patch.receiving_local_authority is not None
    _hand_over(session, case, patch.receiving_local_authority, now)


def _hand_over(session: Session, case: CmeCase, receiving: str, now: datetime) -> None:
    """Open the child's case for the receiving authority, with the 28-day clock started."""
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
    target = existing or CmeCase(
        case_id=str(uuid.uuid4()),
        la_code=receiving,
        source_lhb_code=case.source_lhb_code,
        source_record_id=case.source_record_id,
        identified_at=now,
        version=0,
        restricted=False,
    )
    target.status, target.outcome, target.closed_at = "open", None, None
    target.reason = "not_found_in_education_records"
    target.sensitive, target.do_not_contact = case.sensitive, case.do_not_contact
    target.child, target.child_fingerprint = dict(case.child), case.child_fingerprint
    target.source_submission_id = case.source_submission_id
    target.candidates, target.note = [], None
    target.transferred_from_la_code, target.transfer_started_at = case.la_code, now
    target.transfer_acknowledged_at = None
    target.updated_at, target.version = now, (target.version or 0) + 1
    if existing is None:
        session.add(target)
