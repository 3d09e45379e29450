"""The case lifecycle: every change of a case's state, and reads that change nothing."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from services.cases import lifecycle
from services.cases.child import fingerprint
from services.store.tables import CmeCase
from tests.factories import bearer, make_case, make_client

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SOURCE = lifecycle.Source("7A4", "sub-1", "cav-000184")
CHILD: dict[str, Any] = {"given_name": "Seren", "family_name": "Pritchard", "address": None}


def finding(**changes: Any) -> lifecycle.Finding:
    fields: dict[str, Any] = {
        "reason": "not_found_in_education_records",
        "child": CHILD,
        "sensitive": False,
        "candidates": [],
    }
    return lifecycle.Finding(**(fields | changes))


def opened() -> CmeCase:
    return lifecycle.open_case(
        la_code="W06000015", source=SOURCE, finding=finding(), reconciliation_id="r1", now=T0
    )


def test_a_new_case_is_open_at_version_one() -> None:
    case = opened()

    assert (case.status, case.version, case.updated_at) == ("open", 1, T0)
    assert case.child_fingerprint == fingerprint(CHILD)


def test_the_same_finding_again_changes_nothing() -> None:
    case = opened()

    change = lifecycle.record_finding(
        case=case, source=SOURCE, finding=finding(), reconciliation_id="r2", now=T0 + timedelta(1)
    )

    assert (change, case.version, case.updated_at) == ("unchanged", 1, T0)


def test_a_closed_case_reopens_only_when_the_child_changed() -> None:
    case = opened()
    lifecycle.close(case, outcome="not_traced", now=T0 + timedelta(1))
    later = T0 + timedelta(2)

    same = lifecycle.record_finding(
        case=case, source=SOURCE, finding=finding(), reconciliation_id="r2", now=later
    )
    moved = finding(child=CHILD | {"family_name": "Pritchard-Jones"})
    changed = lifecycle.record_finding(
        case=case, source=SOURCE, finding=moved, reconciliation_id="r3", now=later
    )

    assert (same, changed) == ("unchanged", "reopened")
    assert (case.status, case.outcome, case.version) == ("open", None, 3)


def test_a_death_closes_for_good_and_stops_contact() -> None:
    case = opened()
    assert lifecycle.close_for_death(case, now=T0 + timedelta(1))
    assert not lifecycle.close_for_death(case, now=T0 + timedelta(2))  # already recorded

    moved = finding(child=CHILD | {"family_name": "Pritchard-Jones"})
    change = lifecycle.record_finding(
        case=case, source=SOURCE, finding=moved, reconciliation_id="r2", now=T0 + timedelta(3)
    )

    assert change == "unchanged"
    assert (case.status, case.outcome, case.do_not_contact) == ("closed", "deceased", True)


def test_a_restricted_case_is_left_alone_by_reconciliation() -> None:
    case = opened()
    lifecycle.restrict(case, restricted=True, now=T0 + timedelta(1))

    change = lifecycle.record_finding(
        case=case,
        source=SOURCE,
        finding=finding(reason="possible_match_needs_review"),
        reconciliation_id="r2",
        now=T0 + timedelta(2),
    )
    closed = lifecycle.close_as_found(
        case=case, provision="maintained_school", reconciliation_id="r3", now=T0 + timedelta(3)
    )

    assert (change, closed, case.reason) == ("unchanged", False, "not_found_in_education_records")


NOT_ASSURED = {"provision": "ehe", "ehe_suitability": "not_assured"}
ASSURED = {"provision": "ehe", "ehe_suitability": "assured"}
SCHOOL = {"provision": "maintained_school"}
REVIEW = "possible_match_needs_review"


@pytest.mark.parametrize(
    ("candidate", "status", "reason", "outcome"),
    [
        (NOT_ASSURED, "open", "ehe_suitability_not_assured", None),
        (ASSURED, "closed", REVIEW, "suitable_education_assured"),
        (SCHOOL, "closed", REVIEW, "registered_at_school"),
    ],
)
def test_a_review_answer_follows_the_decision_rule(
    candidate: dict[str, Any], status: str, reason: str, outcome: str | None
) -> None:
    case = opened()
    case.reason = REVIEW
    chosen = {"education_record_id": "e1", **candidate}

    lifecycle.settle_review(case, chosen=chosen, now=T0 + timedelta(1))

    assert (case.status, case.reason, case.outcome) == (status, reason, outcome)
    assert case.candidates == [chosen]


def test_several_changes_at_one_moment_are_one_version() -> None:
    case = opened()
    moment = T0 + timedelta(1)

    lifecycle.annotate(case, note="Phoned the school.", now=moment)
    lifecycle.close(case, outcome="registered_at_school", now=moment)

    assert (case.version, case.updated_at) == (2, moment)


def test_only_the_lifecycle_sets_version_or_updated_at() -> None:
    """A case's ETag and sync cursor move in one module; a second writer would let a change
    slip past `If-Match` or an `updated_since` sync."""
    root = Path(__file__).resolve().parents[1]
    writers = set()
    for path in (root / "services").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                if any(
                    isinstance(n, ast.Attribute) and n.attr in {"version", "updated_at"}
                    for n in names
                ):
                    writers.add(path.relative_to(root).as_posix())
    assert writers == {"services/cases/lifecycle.py"}


def test_reading_a_handed_over_case_writes_nothing_and_acting_on_it_acknowledges(
    http: TestClient, db: Session
) -> None:
    newport = make_client(db, org="W06000022", scopes=["cme:read", "cme:write"])
    case = make_case(
        db,
        la_code="W06000022",
        transferred_from_la_code="W06000015",
        transfer_started_at=datetime.now(UTC),
    )
    db.commit()
    case_id, made_at = case.case_id, case.updated_at
    db.rollback()  # on SQLite an open transaction holds the write lock the app needs
    url = f"/v1/local-authorities/W06000022/cme-cases/{case_id}"
    headers = bearer(http, newport)

    listed = http.get("/v1/local-authorities/W06000022/cme-cases", headers=headers)
    read = http.get(url, headers=headers)

    assert listed.status_code == read.status_code == 200
    assert read.json()["transfer"]["acknowledged_at"] is None
    assert _stored(db, case_id) == (1, made_at, None)

    noted = http.patch(
        url, json={"note": "Visited."}, headers=headers | {"If-Match": read.headers["etag"]}
    )

    assert noted.status_code == 200
    version, _, acknowledged = _stored(db, case_id)
    assert version == 2
    assert acknowledged is not None
    assert noted.json()["transfer"]["acknowledged_at"] is not None


def _stored(db: Session, case_id: str) -> tuple[int, datetime, datetime | None]:
    db.rollback()
    case = db.get(CmeCase, case_id, populate_existing=True)
    assert case is not None
    stored = (case.version, case.updated_at, case.transfer_acknowledged_at)
    db.rollback()  # on SQLite an open transaction holds the write lock the app needs
    return stored
