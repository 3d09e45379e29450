"""Every change of a CME case's state, in one place.

A case opens when a reconciliation finds a child who appears to be missing education, or
when another Welsh authority hands a child over. It is updated when the child's details or
the question change, closed with an outcome (by an officer, by a reconciliation that found
the child, by a reported death), reopened when a closed case's child changes, restricted
and released. Each change moves `version` (the ETag) and `updated_at` (the sync cursor)
here and nowhere else, and is written into the case's history; reading a case never
changes it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from schemas.codes import CaseReason, Outcome, Provision
from services.cases.child import Child, fingerprint
from services.reconciliation.decisions import CLOSING_OUTCOME, EducationFacts, missing_reason
from services.store.tables import CmeCase

Change = Literal["opened", "reopened", "updated", "unchanged"]
Candidate = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Source:
    """The health record a case came from: the child's identity across runs."""

    lhb_code: str
    submission_id: str
    record_id: str


@dataclass(frozen=True, slots=True)
class Finding:
    """What a reconciliation found about a child who appears to be missing education."""

    reason: CaseReason
    child: Child
    sensitive: bool
    candidates: list[Candidate]


def open_case(
    *, la_code: str, source: Source, finding: Finding, reconciliation_id: str, now: datetime
) -> CmeCase:
    case = CmeCase(
        case_id=str(uuid.uuid4()),
        la_code=la_code,
        status="open",
        do_not_contact=False,
        source_lhb_code=source.lhb_code,
        source_record_id=source.record_id,
        identified_at=now,
        last_reconciliation_id=reconciliation_id,
        restricted=False,
        version=0,
        history=[],
    )
    _describe(case, finding, source)
    _touch(case, now, "opened", reason=finding.reason)
    return case


def record_finding(
    *, case: CmeCase, source: Source, finding: Finding, reconciliation_id: str, now: datetime
) -> Change:
    """A later run finds the child of an existing case still missing education."""
    if case.restricted:  # processing is restricted (UK GDPR art. 18): leave it be
        return "unchanged"
    case.last_reconciliation_id = reconciliation_id
    print_ = fingerprint(finding.child)
    if case.status == "closed":
        # A closed case stays closed unless the child's details changed; a death never reopens.
        if case.outcome == "deceased" or case.child_fingerprint == print_:
            return "unchanged"
        case.status, case.outcome, case.closed_at = "open", None, None
        _describe(case, finding, source)
        _touch(case, now, "reopened", reason=finding.reason)
        return "reopened"
    found = (finding.reason, print_, finding.candidates, finding.sensitive)
    if (case.reason, case.child_fingerprint, case.candidates, case.sensitive) == found:
        return "unchanged"
    _describe(case, finding, source)
    _touch(case, now, "updated", reason=finding.reason)
    return "updated"


def close_as_found(
    *, case: CmeCase, provision: Provision, reconciliation_id: str, now: datetime
) -> bool:
    """A run found the child in education: close an open case. True when it closed."""
    if case.restricted:
        return False
    case.last_reconciliation_id = reconciliation_id
    if case.status != "open":
        return False
    close(case, outcome=CLOSING_OUTCOME[provision], now=now)
    return True


def close(
    case: CmeCase, *, outcome: Outcome, now: datetime, local_authority: str | None = None
) -> None:
    """Closed with an outcome; `local_authority` names where a child moved to."""
    case.status, case.outcome, case.closed_at = "closed", outcome, now
    if outcome == "deceased":
        case.do_not_contact = True
    detail = {} if local_authority is None else {"local_authority": local_authority}
    _touch(case, now, "closed", outcome=outcome, **detail)


def close_for_death(case: CmeCase, *, now: datetime) -> bool:
    """A reported death closes the case and stops all contact. True when it changed."""
    if case.outcome == "deceased" and case.do_not_contact:
        return False
    case.status, case.outcome, case.do_not_contact = "closed", "deceased", True
    case.closed_at = case.closed_at or now
    _touch(case, now, "death_reported", outcome="deceased")
    return True


def settle_review(case: CmeCase, *, chosen: Candidate | None, now: datetime) -> None:
    """An officer answered "is this child one of these records?" (None: none of them)."""
    if chosen is None:
        case.reason, case.candidates = "not_found_in_education_records", []
        _touch(case, now, "review_settled", reason=case.reason)
        return
    facts = EducationFacts(chosen["provision"], chosen.get("ehe_suitability"))
    case.candidates = [chosen]
    reason = missing_reason(facts)
    if reason is None:
        close(case, outcome=CLOSING_OUTCOME[facts.provision], now=now)
        return
    case.reason = reason
    _touch(case, now, "review_settled", reason=reason)


def rectify(case: CmeCase, *, child: Child, now: datetime) -> None:
    """The child's details corrected (UK GDPR art. 16)."""
    case.child, case.child_fingerprint = child, fingerprint(child)
    _touch(case, now, "details_corrected")


def annotate(case: CmeCase, *, note: str, now: datetime) -> None:
    case.note = note
    _touch(case, now, "note_recorded")


def acknowledge_transfer(case: CmeCase, *, now: datetime) -> None:
    """The receiving authority has taken up a handed-over case by acting on it."""
    if case.transfer_started_at is not None and case.transfer_acknowledged_at is None:
        case.transfer_acknowledged_at = now
        _touch(case, now, "transfer_acknowledged")


def hand_over(
    *, case: CmeCase, receiving_la: str, existing: CmeCase | None, now: datetime
) -> CmeCase:
    """Open the child's case at the receiving authority with the 28-day clock started.

    Returns the receiving authority's case: a new one to add, or `existing`, the case the
    receiving authority already had. That one keeps its notes and history (its earlier
    outcome stays in the history); the transfer is added, the case reopened if it was
    closed, and the child's details reconciled (see `_reconciled`).
    """
    if existing is None:
        target = CmeCase(
            case_id=str(uuid.uuid4()),
            la_code=receiving_la,
            status="open",
            reason="not_found_in_education_records",
            sensitive=case.sensitive,
            do_not_contact=case.do_not_contact,
            source_lhb_code=case.source_lhb_code,
            source_record_id=case.source_record_id,
            source_submission_id=case.source_submission_id,
            candidates=[],
            identified_at=now,
            version=0,
            restricted=False,
            history=[],
        )
        target.child, target.child_fingerprint = dict(case.child), case.child_fingerprint
        _receive(target, case, now)
        return target
    child, differing = _reconciled(existing.child, case.child)
    sensitive = existing.sensitive or case.sensitive
    if sensitive:
        child["address"] = None
    existing.child, existing.child_fingerprint = child, fingerprint(child)
    existing.sensitive = sensitive
    existing.do_not_contact = existing.do_not_contact or case.do_not_contact
    if existing.status == "closed":
        existing.status, existing.outcome, existing.closed_at = "open", None, None
        existing.reason = "not_found_in_education_records"
        _touch(existing, now, "reopened", reason=existing.reason)
    _receive(existing, case, now, details_differ=differing)
    return existing


def _receive(target: CmeCase, sent: CmeCase, now: datetime, **detail: Any) -> None:
    target.transferred_from_la_code, target.transfer_started_at = sent.la_code, now
    target.transfer_acknowledged_at = None
    _touch(target, now, "received", local_authority=sent.la_code, **detail)


def _reconciled(own: Child, sent: Child) -> tuple[Child, list[str]]:
    """The receiving authority's details stand; what it lacks comes from the sending
    authority's copy. Fields the two copies disagree on are named for an officer to check."""
    merged: Child = dict(own)
    differing = []
    for name, value in sent.items():
        if merged.get(name) in (None, [], ""):
            merged[name] = value
        elif value not in (None, [], "") and merged[name] != value:
            differing.append(name)
    return merged, sorted(differing)


def restrict(case: CmeCase, *, restricted: bool, now: datetime) -> None:
    """Processing restricted (UK GDPR art. 18): kept, but shown to no one, changed by nothing."""
    case.restricted = restricted
    _touch(case, now, "restricted" if restricted else "restriction_lifted")


def mark_sensitive(case: CmeCase, *, now: datetime) -> bool:
    """An S-flag reported for the child: the address goes and only cleared officers see
    the case. True when it changed."""
    if case.sensitive and case.child.get("address") is None:
        return False
    child = dict(case.child) | {"address": None}
    case.sensitive, case.child, case.child_fingerprint = True, child, fingerprint(child)
    _touch(case, now, "marked_sensitive")
    return True


def _describe(case: CmeCase, finding: Finding, source: Source) -> None:
    case.reason, case.sensitive, case.candidates = (
        finding.reason,
        finding.sensitive,
        finding.candidates,
    )
    case.child, case.child_fingerprint = finding.child, fingerprint(finding.child)
    case.source_submission_id = source.submission_id


def _touch(case: CmeCase, now: datetime, event: str, **detail: Any) -> None:
    """Record the change in the history and move the version. One change at one moment is
    one version: several steps of one request (a note and an outcome in one PATCH) share
    `now` and move the version once."""
    entry = {"at": now.isoformat(), "event": event, **detail}
    case.history = [*(case.history or []), entry]  # a new list, so the JSON column is saved
    if case.updated_at == now and case.version:
        return
    case.updated_at, case.version = now, (case.version or 0) + 1
