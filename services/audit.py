"""The audit trail: append-only and hash-chained.

Each event's hash covers its content and the previous event's hash, and `audit_head`
holds the latest link, so an edited, deleted, reordered or truncated row breaks the chain.
Appends lock the head row, which serialises concurrent writers on PostgreSQL; on SQLite
every write transaction is already serialised (BEGIN IMMEDIATE). Events carry ids and
counts only, never personal data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.tables import AuditEvent, AuditHead

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who is acting: an authenticated client, or the operator at the command line."""

    client_id: str | None
    org_code: str | None
    request_id: str | None = None


def _digest(prev_hash: str, event: AuditEvent) -> str:
    content = {
        "seq": event.seq,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "request_id": event.request_id,
        "client_id": event.client_id,
        "org_code": event.org_code,
        "action": event.action,
        "object_type": event.object_type,
        "object_ids": list(event.object_ids),
        "record_count": event.record_count,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def record(
    *,
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_ids: Sequence[str],
    record_count: int | None = None,
) -> AuditEvent:
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    event = AuditEvent(
        seq=head.seq + 1,
        occurred_at=datetime.now(UTC).replace(microsecond=0),
        request_id=actor.request_id,
        client_id=actor.client_id,
        org_code=actor.org_code,
        action=action,
        object_type=object_type,
        object_ids=list(object_ids),
        record_count=record_count,
        prev_hash=head.hash,
        hash="",
    )
    event.hash = _digest(head.hash, event)
    session.add(event)
    head.seq, head.hash = event.seq, event.hash
    session.flush()
    return event


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def verify(*, session: Session, batch_size: int = 5000) -> tuple[int, ChainBreak | None]:
    """Walk the chain; return how many events were checked and the first break, if any."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    for event in _events(session, batch_size):
        if event.seq != expected_seq:
            return checked, ChainBreak(expected_seq, "missing event (deleted row or gap)")
        if event.prev_hash != prev_hash:
            return checked, ChainBreak(event.seq, "does not follow the previous event")
        if _digest(prev_hash, event) != event.hash:
            return checked, ChainBreak(event.seq, "content does not match its hash (edited)")
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = session.get(AuditHead, 1)
    if head is None or head.seq != checked or head.hash != prev_hash:
        return checked, ChainBreak(checked + 1, "chain ends before its recorded head (truncated)")
    return checked, None


def _events(session: Session, batch_size: int) -> Iterator[AuditEvent]:
    last = 0
    while True:
        batch = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > last)
            .order_by(AuditEvent.seq)
            .limit(batch_size)
        ).all()
        if not batch:
            return
        yield from batch
        last = batch[-1].seq
