"""Opening, updating and closing CME cases from reconciliation decisions.

A case is keyed by the child's source (authority, health board, board's record_id), so the
same child keeps the same case across runs. A case holds its own copy of what it needs
(the child's details, the candidates' ids and agreement): the health and education records
it came from are deleted when the run finishes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.reconciliation.decisions import Decision, EducationFacts, Provision
from services.store.tables import CmeCase

# Not missing any more: the outcome a case closes with, by what the child was found in.
CLOSING_OUTCOME: Mapping[Provision, str] = {
    "maintained_school": "registered_at_school",
    "independent_school": "registered_at_school",
    "school_in_england": "registered_at_school",
    "eotas": "suitable_education_assured",
    "ehe": "suitable_education_assured",
}


@dataclass(frozen=True, slots=True)
class Source:
    lhb_code: str
    submission_id: str
    record_id: str


def child_details(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The child as a case shows it; a sensitive child never has an address here."""
    address = None
    if not row["sensitive"] and row["postcode"] is not None:
        address = {
            "lines": list(row["address_lines"] or []),
            "postcode": row["postcode"],
            "last_known": bool(row["address_last_known"]),
        }
    return {
        "given_name": row["given_name"],
        "middle_names": row["middle_names"],
        "family_name": row["family_name"],
        "former_names": list(row["former_names"] or []),
        "date_of_birth": row["date_of_birth"].isoformat(),
        "sex": row["sex"],
        "address": address,
        "nhs_number": row["nhs_number"],
    }


def fingerprint(child: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(child, sort_keys=True).encode()).hexdigest()


def candidates_of(
    decision: Decision, education: Mapping[str, EducationFacts]
) -> list[dict[str, Any]]:
    links = decision.candidates or ((decision.match,) if decision.match is not None else ())
    return [
        {
            "education_record_id": link.education_record_id,
            "provision": education[link.education_record_id].provision,
            "ehe_suitability": education[link.education_record_id].ehe_suitability,
            "match_probability": link.match_probability,
            "agreement": dict(link.agreement),
        }
        for link in links
    ]


def open_or_update(
    *,
    existing: CmeCase | None,
    la_code: str,
    source: Source,
    reason: str,
    child: dict[str, Any],
    sensitive: bool,
    candidates: list[dict[str, Any]],
    reconciliation_id: str,
    now: datetime,
) -> tuple[CmeCase, str]:
    """Returns the case and what happened to it: opened, reopened, updated or unchanged."""
    print_ = fingerprint(child)
    if existing is None:
        case = CmeCase(
            case_id=str(uuid.uuid4()),
            la_code=la_code,
            status="open",
            reason=reason,
            sensitive=sensitive,
            do_not_contact=False,
            child=child,
            child_fingerprint=print_,
            source_lhb_code=source.lhb_code,
            source_submission_id=source.submission_id,
            source_record_id=source.record_id,
            candidates=candidates,
            identified_at=now,
            updated_at=now,
            version=1,
            last_reconciliation_id=reconciliation_id,
            restricted=False,
        )
        return case, "opened"
    if existing.restricted:  # processing is restricted (UK GDPR art. 18): leave it be
        return existing, "unchanged"
    existing.last_reconciliation_id = reconciliation_id
    if existing.status == "closed":
        # A closed case stays closed unless the child's details changed; a death never reopens.
        if existing.outcome == "deceased" or existing.child_fingerprint == print_:
            return existing, "unchanged"
        existing.status, existing.outcome, existing.closed_at = "open", None, None
        _refresh(existing, reason, child, print_, sensitive, candidates, source, now)
        return existing, "reopened"
    changed = (
        existing.reason,
        existing.child_fingerprint,
        existing.candidates,
        existing.sensitive,
    ) != (
        reason,
        print_,
        candidates,
        sensitive,
    )
    if not changed:
        return existing, "unchanged"
    _refresh(existing, reason, child, print_, sensitive, candidates, source, now)
    return existing, "updated"


def _refresh(
    case: CmeCase,
    reason: str,
    child: dict[str, Any],
    print_: str,
    sensitive: bool,
    candidates: list[dict[str, Any]],
    source: Source,
    now: datetime,
) -> None:
    case.reason, case.child, case.child_fingerprint = reason, child, print_
    case.sensitive, case.candidates = sensitive, candidates
    case.source_submission_id = source.submission_id
    case.updated_at, case.version = now, case.version + 1


def close_found(
    *, case: CmeCase, provision: Provision, reconciliation_id: str, now: datetime
) -> bool:
    """The child was found in education: close an open case. True when it closed."""
    if case.restricted:
        return False
    case.last_reconciliation_id = reconciliation_id
    if case.status != "open":
        return False
    case.status, case.outcome, case.closed_at = "closed", CLOSING_OUTCOME[provision], now
    case.updated_at, case.version = now, case.version + 1
    return True


def close_cases_of_deceased(*, session: Session, lhb_code: str, record_ids: Sequence[str]) -> int:
    """A reported death closes the child's cases at once and stops all contact.

    Runs inside the submission's transaction, so the 201 is never sent before it holds.
    """
    if not record_ids:
        return 0
    now = datetime.now(UTC)
    closed = 0
    for start in range(0, len(record_ids), 500):
        batch = record_ids[start : start + 500]
        for case in session.scalars(
            select(CmeCase)
            .where(CmeCase.source_lhb_code == lhb_code, CmeCase.source_record_id.in_(batch))
            .with_for_update()
        ):
            if case.outcome == "deceased" and case.do_not_contact:
                continue
            case.status, case.outcome, case.do_not_contact = "closed", "deceased", True
            case.closed_at = case.closed_at or now
            case.updated_at, case.version = now, case.version + 1
            closed += 1
    session.flush()
    return closed
