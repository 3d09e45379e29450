"""A run's decisions written as cases: opened, updated, reopened or closed.

Children not missing education leave nothing behind but the closing of a case they had.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.cases import lifecycle
from services.reconciliation.decisions import Decision, EducationFacts
from services.reconciliation.load import ChildRecord, Key
from services.store.tables import CmeCase


def apply(
    *,
    session: Session,
    la_code: str,
    decided: Sequence[tuple[ChildRecord, Decision]],
    cases: Mapping[Key, CmeCase],
    facts: Mapping[str, EducationFacts],
    reconciliation_id: str,
    now: datetime,
) -> Counter[str]:
    """Returns how many cases were opened, reopened, updated and closed, and the same
    counts for sensitive children alone under `sensitive_...` (for callers without the
    clearance to see those cases: `wire.visible_summary`)."""
    changes: Counter[str] = Counter()
    for child, decision in decided:
        case = cases.get(child.key)
        if decision.reason is None:
            assert decision.matched_provision is not None
            closed = case is not None and lifecycle.close_as_found(
                case=case,
                provision=decision.matched_provision,
                reconciliation_id=reconciliation_id,
                now=now,
            )
            _count(changes, "closed", closed, sensitive=child.sensitive)
            continue
        finding = lifecycle.Finding(
            reason=decision.reason,
            child=child.child,
            sensitive=child.sensitive,
            candidates=candidates_of(decision, facts),
        )
        if case is None:
            session.add(
                lifecycle.open_case(
                    la_code=la_code,
                    source=child.source,
                    finding=finding,
                    reconciliation_id=reconciliation_id,
                    now=now,
                )
            )
            _count(changes, "opened", 1, sensitive=child.sensitive)
            continue
        change = lifecycle.record_finding(
            case=case,
            source=child.source,
            finding=finding,
            reconciliation_id=reconciliation_id,
            now=now,
        )
        _count(changes, change, 1, sensitive=child.sensitive)
    session.flush()
    return changes


def _count(changes: Counter[str], change: str, by: int, *, sensitive: bool) -> None:
    changes[change] += by
    if sensitive:
        changes[f"sensitive_{change}"] += by


def candidates_of(
    decision: Decision, education: Mapping[str, EducationFacts]
) -> list[dict[str, Any]]:
    """The education records the case names, with what an officer needs to judge them."""
    links = decision.candidates or ((decision.match,) if decision.match is not None else ())
    return [
        {
            "education_record_id": link.education_record_id,
            "provision": education[link.education_record_id].provision,
            "ehe_suitability": education[link.education_record_id].ehe_suitability,
            "match_probability": link.match_probability,
            "agreement": dict(link.agreement),
            "match_weights": dict(link.match_weights),
        }
        for link in links
    ]
