"""Transfers of children who moved: to England (exported for the English authority) and
overdue hand-overs between Welsh authorities (the 28-day duty)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from services import audit
from services.caller import Caller
from services.cases.queries import visible
from services.errors import NotFound
from services.store.tables import CmeCase, EnglandTransfer

TRANSFER_DAYS = 28


def due_by(started_at: datetime) -> datetime:
    return started_at + timedelta(days=TRANSFER_DAYS)


def england_transfers(
    *, session: Session, la_code: str, caller: Caller, pending_only: bool
) -> Sequence[EnglandTransfer]:
    statement = _visible_transfers(caller).where(EnglandTransfer.la_code == la_code)
    if pending_only:
        statement = statement.where(EnglandTransfer.exported_at.is_(None))
    transfers = session.scalars(statement.order_by(EnglandTransfer.started_at)).all()
    audit.record(
        session=session,
        caller=caller,
        action="england_transfer.listed",
        object_type="england_transfer",
        object_ids=[t.transfer_id for t in transfers],
        record_count=len(transfers),
    )
    return transfers


def mark_exported(
    *, session: Session, la_code: str, caller: Caller, transfer_id: str
) -> EnglandTransfer:
    """The English authority has been told: what it needed is no longer kept here."""
    transfer = session.scalar(
        _visible_transfers(caller)
        .where(EnglandTransfer.transfer_id == transfer_id, EnglandTransfer.la_code == la_code)
        .with_for_update(of=EnglandTransfer)
    )
    if transfer is None:
        raise NotFound("No such transfer for this authority.")
    if transfer.exported_at is None:
        transfer.exported_at = datetime.now(UTC)
        transfer.child, transfer.note = {}, None
    audit.record(
        session=session,
        caller=caller,
        action="england_transfer.exported",
        object_type="england_transfer",
        object_ids=[transfer_id],
    )
    return transfer


def _visible_transfers(caller: Caller) -> Select[EnglandTransfer]:
    """A transfer is seen exactly as the case it came from: by its own authority, never
    when restricted, and a sensitive child's only with clearance."""
    return (
        select(EnglandTransfer)
        .join(CmeCase, CmeCase.case_id == EnglandTransfer.case_id)
        .where(visible(caller))
    )


def overdue_counts(*, session: Session, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """Per authority: Welsh hand-overs not yet read, and England transfers not yet exported,
    more than 28 days after they started. Counts only: this is for operators."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=TRANSFER_DAYS)
    welsh = Counter(
        session.scalars(
            select(CmeCase.la_code).where(
                CmeCase.transfer_started_at < cutoff, CmeCase.transfer_acknowledged_at.is_(None)
            )
        )
    )
    england = Counter(
        session.scalars(
            select(EnglandTransfer.la_code).where(
                EnglandTransfer.started_at < cutoff, EnglandTransfer.exported_at.is_(None)
            )
        )
    )
    return {
        la: {"welsh_handovers_unread": welsh[la], "england_transfers_unexported": england[la]}
        for la in sorted(set(welsh) | set(england))
    }
