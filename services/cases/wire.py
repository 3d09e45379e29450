"""Stored cases and England transfers as the wire shows them: the one place that shapes
them, so every edge (the API now, the console later) shows a case the same way."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.cases import CandidateOut, CaseEventOut, CaseOut, ChildOut, SourceOut, TransferOut
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
