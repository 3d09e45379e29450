"""The unit of work of the hot reads (a case page, one case): where they run.

- PostgreSQL with the background audit chain (the service's default): one statement on the
  event loop (services/cases/audited_reads.py) checks the token's grant, reads the rows
  and appends their audit event; it is its own transaction, committed before the route
  answers. No thread. (`CaseReader`, api/deps.py, leaves the grant check to it.)
- Otherwise (SQLite, the embedded default, or `CME_AUDIT_CHAIN=commit`): a session in ONE
  thread-pool call that reads, audits and commits (services/cases/queries.py), so the
  commit too happens before the answer, and a failure at commit is an error response.

Either way the read and its audit event commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from sqlalchemy import RowMapping
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.deps import grant_confirmed, grant_revoked, reads_in_one_statement, unconfirmed_grant
from services.caller import Caller
from services.cases import audited_reads
from services.cases import queries as cases
from services.errors import NotFound
from services.store.db import transaction


def _page_in_one_transaction(
    sessions: sessionmaker[Session],
    caller: Caller,
    filters: cases.CaseFilter,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[RowMapping], str | None]:
    with transaction(sessions) as session:
        return cases.list_case_rows(
            session=session, caller=caller, filters=filters, limit=limit, cursor=cursor
        )


def _case_in_one_transaction(
    sessions: sessionmaker[Session], caller: Caller, case_id: str
) -> RowMapping:
    with transaction(sessions) as session:
        return cases.get_case_row(session=session, caller=caller, case_id=case_id)


async def case_page(
    request: Request,
    *,
    caller: Caller,
    filters: cases.CaseFilter,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[Mapping[Any, Any]], str | None]:
    """A page of the caller's cases as rows, audited, and the next page's cursor."""
    pool, grant = reads_in_one_statement(request), unconfirmed_grant(request)
    if pool is None or grant is None:
        return await run_in_threadpool(
            _page_in_one_transaction, request.app.state.sessions, caller, filters, limit, cursor
        )
    async with pool.connection() as connection:
        page = await audited_reads.list_case_rows(
            connection=connection,
            caller=caller,
            grant=grant,
            filters=filters,
            limit=limit,
            cursor=cursor,
        )
    if page is None:
        raise grant_revoked(request, grant)
    grant_confirmed(request)
    return page


async def case(request: Request, *, caller: Caller, case_id: str) -> Mapping[Any, Any]:
    """One of the caller's cases as a row, audited."""
    pool, grant = reads_in_one_statement(request), unconfirmed_grant(request)
    if pool is None or grant is None:
        return await run_in_threadpool(
            _case_in_one_transaction, request.app.state.sessions, caller, case_id
        )
    async with pool.connection() as connection:
        try:
            found = await audited_reads.get_case_row(
                connection=connection, caller=caller, grant=grant, case_id=case_id
            )
        except NotFound:
            grant_confirmed(request)  # the statement found the grant standing
            raise
    if found is None:
        raise grant_revoked(request, grant)
    grant_confirmed(request)
    return found
