"""Who viewed or changed a child's case, from the audit trail, for the authority's
data-protection officer and the officers of the case."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from services import audit
from services.caller import Caller
from services.cases.queries import visible
from services.errors import NotFound
from services.store.tables import AuditEvent, AuditInbox, CmeCase

MAX_EVENTS = 1000


@dataclass(frozen=True)
class Access:
    occurred_at: datetime
    # The officer's `sub` in the console, else the API client's id; neither: the operator.
    officer: str | None
    client_id: str | None
    org_code: str | None
    action: str


def case_access_history(*, session: Session, caller: Caller, case_id: str) -> Sequence[Access]:
    """Every audit event naming the case, newest first (the chain and its inbox): views,
    lists that showed it, changes. The case must be the caller's to see (404 otherwise)."""
    if session.scalar(select(CmeCase.case_id).where(visible(caller), CmeCase.case_id == case_id)):
        found = _naming(session, AuditEvent, case_id) + _naming(session, AuditInbox, case_id)
        audit.record(
            session=session,
            caller=caller,
            action="case.access_history_read",
            object_type="cme_case",
            object_ids=[case_id],
        )
        found.sort(key=lambda access: access.occurred_at, reverse=True)
        return found[:MAX_EVENTS]
    raise NotFound("No such case for this authority.")


_Trail = TypeVar("_Trail", AuditEvent, AuditInbox)


def _naming(session: Session, table: type[_Trail], case_id: str) -> list[Access]:
    rows = session.scalars(
        select(table)
        .where(
            table.object_type == "cme_case",
            # The ids are JSON text and a case id is a UUID: this narrows the search enough
            # for the exact check below.
            cast(table.object_ids, String).contains(case_id),
        )
        .order_by(table.occurred_at.desc())
        .limit(MAX_EVENTS)
    ).all()
    return [
        Access(
            occurred_at=row.occurred_at,
            officer=row.officer,
            client_id=row.client_id,
            org_code=row.org_code,
            action=row.action,
        )
        for row in rows
        if case_id in row.object_ids
    ]
