"""The audit trail: append-only and hash-chained.

Each event's hash covers its content and the previous event's hash, and `audit_head`
holds the latest link, so an edited, deleted, reordered or truncated row breaks the chain.
Chaining locks the head row, which serialises chainers on PostgreSQL; on SQLite every
write transaction is already serialised (BEGIN IMMEDIATE). Events carry ids and counts
only, never personal data.

Two ways to chain, chosen per session factory (`CME_AUDIT_CHAIN`):
- `commit`: each transaction chains its own events as it commits. Simple and immediate,
  but every audited request then queues on the head row until its commit is durable.
- `background` (the service's default): requests append to `audit_inbox`, in their own
  transaction and without a shared lock, and `chain_inbox` (a thread of the API process,
  `cme worker`, `cme audit verify`) moves them into the chain within about a second.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

import orjson
from sqlalchemy import Table, delete, insert, select, text
from sqlalchemy import event as orm_events
from sqlalchemy.orm import Session

from services.caller import Caller
from services.store.tables import AuditContent, AuditEvent, AuditHead, AuditInbox

GENESIS_HASH = "0" * 64


def _digest(prev_hash: str, event: AuditEvent) -> str:
    return _digest_of(prev_hash, {name: getattr(event, name) for name in _HASHED_FIELDS})


def _digest_of(prev_hash: str, event: Mapping[str, Any]) -> str:
    content = {
        "seq": event["seq"],
        "occurred_at": event["occurred_at"].astimezone(UTC).isoformat(),
        "request_id": event["request_id"],
        "client_id": event["client_id"],
        "org_code": event["org_code"],
        "action": event["action"],
        "object_type": event["object_type"],
        "object_ids": list(event["object_ids"]),
        "record_count": event["record_count"],
    }
    # Only where present, so events chained before officers existed keep their hashes.
    if event["officer"] is not None:
        content["officer"] = event["officer"]
    return hashlib.sha256(b"%s\n%s" % (prev_hash.encode(), _canonical(content))).hexdigest()


def _canonical(content: dict[str, Any]) -> bytes:
    """`json.dumps(content, sort_keys=True, separators=(",", ":"))`, the form every chained
    event was hashed in, as bytes. orjson writes the same bytes several times faster
    wherever its output is ASCII with no `\\u` escape (ids, codes and counts always are);
    anything else, such as a non-ASCII officer `sub`, which the standard library escapes
    and orjson does not, takes the standard library's own path."""
    fast = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    if fast.isascii() and b"\\u" not in fast:
        return fast
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


def record(
    *,
    session: Session,
    caller: Caller,
    action: str,
    object_type: str,
    object_ids: Sequence[str],
    record_count: int | None = None,
) -> None:
    """Record an event as part of the session's transaction (it is kept only if that
    commits): appended to the inbox in background mode, else chained as it commits."""
    fields = event_fields(caller=caller, action=action, object_type=object_type) | {
        "object_ids": list(object_ids),
        "record_count": record_count,
    }
    if session.info.get(CHAIN_MODE) == "background":
        # One INSERT in the session's transaction at once, without the ORM's unit of work:
        # every audited request pays for it.
        session.execute(_APPEND_TO_INBOX, fields)
        return
    pending: list[AuditEvent] = session.info.setdefault(_PENDING, [])
    pending.append(AuditEvent(**fields))


def event_fields(*, caller: Caller, action: str, object_type: str) -> dict[str, Any]:
    """An event's fields but the objects it names (`object_ids`, `record_count`)."""
    return {
        "occurred_at": datetime.now(UTC).replace(microsecond=0),
        "request_id": caller.request_id,
        "client_id": caller.client_id,
        "officer": caller.officer,
        "org_code": caller.org_code,
        "action": action,
        "object_type": object_type,
    }


def append_to_inbox_sql(
    *, object_ids: str, record_count: str, source: str, condition: str = ""
) -> str:
    """PostgreSQL SQL appending one event to the inbox from within the statement that reads
    what it records (services/cases/audited_reads.py): `event_fields` as `%(name)s`
    parameters; the objects' ids (a JSON array) and count as SQL over `source`, so the
    event names exactly the rows that statement returns; `condition` (a WHERE or HAVING
    clause) says whether it is written at all. RETURNING the event's id lets the statement
    return its rows only joined to it."""
    named = [name for name in _CONTENT_FIELDS if name not in ("object_ids", "record_count")]
    inbox = cast(Table, AuditInbox.__table__)
    columns = ", ".join((*named, "object_ids", "record_count"))
    values = ", ".join(f"%({name})s" for name in named)
    # Names and the caller's SQL expressions only; every value is a parameter.
    return (
        f"INSERT INTO {inbox.name} ({columns}) "  # noqa: S608
        f"SELECT {values}, {object_ids}, {record_count} FROM {source} {condition} RETURNING id"
    )


# On the table, not the mapped class: a plain Core INSERT, compiled once and cached, where
# the ORM's bulk-insert path would cost every request several times more.
_APPEND_TO_INBOX = insert(cast(Table, AuditInbox.__table__))
_PENDING = "cme_audit_pending"
CHAIN_MODE = "cme_audit_chain"
_CONTENT_FIELDS = tuple(AuditContent.__annotations__)
_HASHED_FIELDS = ("seq", *_CONTENT_FIELDS)


@orm_events.listens_for(Session, "before_commit")
def _chain_pending_events(session: Session) -> None:
    pending: list[AuditEvent] = session.info.pop(_PENDING, [])
    if not pending:
        return
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    for audit_event in pending:
        audit_event.seq, audit_event.prev_hash = head.seq + 1, head.hash
        audit_event.hash = _digest(head.hash, audit_event)
        session.add(audit_event)
        head.seq, head.hash = audit_event.seq, audit_event.hash


def chain_inbox(*, session: Session, limit: int = 5000) -> int:
    """Move up to `limit` inbox events, in the order they were written, into the chain."""
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    columns = [getattr(AuditInbox, name) for name in ("id", *_CONTENT_FIELDS)]
    waiting = session.execute(select(*columns).order_by(AuditInbox.id).limit(limit)).all()
    if not waiting:
        return 0
    links: list[dict[str, Any]] = []
    for row in waiting:
        event = {name: getattr(row, name) for name in _CONTENT_FIELDS} | {"seq": head.seq + 1}
        link = {"id": row.id, "seq": event["seq"], "prev_hash": head.hash}
        link["hash"] = _digest_of(head.hash, event)
        links.append(link)
        head.seq, head.hash = link["seq"], link["hash"]
    # Only the links travel: each event's content is copied inside the database from the
    # inbox row it was hashed from, one statement per batch, never sent back and forth.
    dialect = session.get_bind().dialect.name
    moved = session.execute(_chain_from_inbox(dialect), {"links": orjson.dumps(links).decode()})
    if moved.rowcount != len(links):  # type: ignore[attr-defined]
        # The head lock makes this impossible; were it not, the chain would have a gap.
        raise RuntimeError("audit inbox changed while its events were being chained")
    # By id, never by range: a row with a lower id may commit after this batch was read.
    inbox = cast(Table, AuditInbox.__table__)
    session.execute(delete(inbox).where(inbox.c.id.in_([row.id for row in waiting])))
    session.flush()
    return len(waiting)


@cache
def _chain_from_inbox(dialect: str) -> Any:
    """INSERT INTO audit_events the inbox rows named by `:links`, a JSON array of
    {id, seq, prev_hash, hash}: the database's own JSON table function for each engine."""
    events, inbox = cast(Table, AuditEvent.__table__), cast(Table, AuditInbox.__table__)
    content = ", ".join(f"inbox.{name}" for name in _CONTENT_FIELDS)
    if dialect == "postgresql":
        source = (
            "json_to_recordset(CAST(:links AS json)) "
            "AS link(id bigint, seq bigint, prev_hash text, hash text)"
        )
        link_id, chained = "link.id", "link.seq, link.prev_hash, link.hash"
    else:
        source = "json_each(:links) AS link"
        link_id = "json_extract(link.value, '$.id')"
        chained = ", ".join(
            f"json_extract(link.value, '$.{name}')" for name in ("seq", "prev_hash", "hash")
        )
    # Table and column names only; the links are one bound parameter.
    return text(
        f"INSERT INTO {events.name} (seq, prev_hash, hash, {', '.join(_CONTENT_FIELDS)}) "  # noqa: S608
        f"SELECT {chained}, {content} FROM {source} "
        f"JOIN {inbox.name} AS inbox ON inbox.id = {link_id}"
    )


@orm_events.listens_for(Session, "after_rollback")
def _drop_pending_events(session: Session) -> None:
    # Nothing the rolled-back work did happened, so nothing is audited for it.
    session.info.pop(_PENDING, None)


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
