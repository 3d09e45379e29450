"""Stored cases and England transfers as the wire shows them: the one place that shapes
them, so every edge (the API now, the console later) shows a case the same way.

Two shapes of one case: `case_out` builds the pydantic model (`CaseOut`), and
`case_document` builds the same case as plain JSON-ready values straight from a stored
row, for the API's hot reads. The stored case was validated at the edge when it came in (a
submission, a reconciliation, an officer's change), so reading it need not validate it
again; `case_document` only shapes it, field for field and in the model's order, and a
test holds its JSON equal to the model's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from schemas.cases import (
    AddressOut,
    CandidateOut,
    CaseEventOut,
    CaseOut,
    ChildOut,
    SourceOut,
    TransferOut,
)
from schemas.transfers import EnglandTransferOut
from services.cases.transfers import due_by
from services.store.tables import CmeCase, EnglandTransfer


def case_out(case: CmeCase) -> CaseOut:
    transfer = None
    if case.transferred_from_la_code is not None and case.transfer_started_at is not None:
        transfer = TransferOut(
            from_local_authority=case.transferred_from_la_code,
            started_at=case.transfer_started_at,
            due_by=due_by(case.transfer_started_at),
            acknowledged_at=case.transfer_acknowledged_at,
        )
    return CaseOut(
        case_id=case.case_id,
        status=case.status,
        reason=case.reason,
        sensitive=case.sensitive,
        do_not_contact=case.do_not_contact,
        child=ChildOut.model_validate(case.child),
        source=SourceOut(
            lhb_code=case.source_lhb_code,
            submission_id=case.source_submission_id,
            record_id=case.source_record_id,
        ),
        candidates=[CandidateOut.model_validate(candidate) for candidate in case.candidates],
        identified_at=case.identified_at,
        updated_at=case.updated_at,
        outcome=case.outcome,
        note=case.note,
        closed_at=case.closed_at,
        transfer=transfer,
        history=[CaseEventOut.model_validate(event) for event in case.history or []],
    )


def case_document(case: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored case row (`CmeCase` columns) as `case_out(case).model_dump()` gives it,
    without building the models: datetimes stay datetimes for the encoder."""
    transfer = None
    started = case["transfer_started_at"]
    if case["transferred_from_la_code"] is not None and started is not None:
        transfer = {
            "from_local_authority": case["transferred_from_la_code"],
            "started_at": started,
            "due_by": due_by(started),
            "acknowledged_at": case["transfer_acknowledged_at"],
        }
    return {
        "case_id": case["case_id"],
        "status": case["status"],
        "reason": case["reason"],
        "sensitive": case["sensitive"],
        "do_not_contact": case["do_not_contact"],
        "child": _child(case["child"]),
        "source": {
            "lhb_code": case["source_lhb_code"],
            "submission_id": case["source_submission_id"],
            "record_id": case["source_record_id"],
        },
        "candidates": [_candidate(candidate) for candidate in case["candidates"]],
        "identified_at": case["identified_at"],
        "updated_at": case["updated_at"],
        "outcome": case["outcome"],
        "note": case["note"],
        "closed_at": case["closed_at"],
        "transfer": transfer,
        "history": [_event(event) for event in case["history"] or []],
    }


# The child as services/cases/child.py stores it: the wire's fields in the wire's order,
# taken from the models themselves so that the two cannot drift apart.
_CHILD_FIELDS = tuple(ChildOut.model_fields)
_ADDRESS_FIELDS = tuple(AddressOut.model_fields)


def _child(child: Mapping[str, Any]) -> Mapping[str, Any]:
    address = child["address"]
    # Stored as the wire shows it (the date as its ISO string, which the model writes the
    # same): given as it is, which saves most of a page's shaping. Anything else, such as
    # an address stored before `last_known` existed, is shaped field by field below.
    if tuple(child) == _CHILD_FIELDS and (address is None or tuple(address) == _ADDRESS_FIELDS):
        return child
    return {
        "given_name": child["given_name"],
        "middle_names": child["middle_names"],
        "family_name": child["family_name"],
        "former_names": [dict(name) for name in child["former_names"]],
        "date_of_birth": date.fromisoformat(child["date_of_birth"]),
        "sex": child["sex"],
        # Never present for a sensitive child: nothing to leave out here.
        "address": None
        if address is None
        else {
            "lines": list(address["lines"]),
            "postcode": address["postcode"],
            "last_known": address.get("last_known", False),
        },
        "nhs_number": child["nhs_number"],
    }


def _candidate(candidate: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "education_record_id": candidate["education_record_id"],
        "provision": candidate["provision"],
        # A float on the wire even when stored as a whole number (1 -> 1.0), as the model.
        "match_probability": float(candidate["match_probability"]),
        "agreement": dict(candidate["agreement"]),
        # As the model: floats, and empty for candidates stored before weights were kept.
        "match_weights": {
            name: float(weight) for name, weight in candidate.get("match_weights", {}).items()
        },
    }


def _event(event: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "at": datetime.fromisoformat(event["at"]),
        "event": event["event"],
        "reason": event.get("reason"),
        "outcome": event.get("outcome"),
        "local_authority": event.get("local_authority"),
        "details_differ": event.get("details_differ"),
    }


def england_transfer_out(transfer: EnglandTransfer) -> EnglandTransferOut:
    due = due_by(transfer.started_at)
    return EnglandTransferOut(
        transfer_id=transfer.transfer_id,
        case_id=transfer.case_id,
        child=transfer.child,
        note=transfer.note,
        started_at=transfer.started_at,
        due_by=due,
        overdue=transfer.exported_at is None and due < datetime.now(UTC),
        exported_at=transfer.exported_at,
    )
