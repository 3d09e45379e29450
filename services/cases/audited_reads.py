"""Case pages and single cases, each read and audited by ONE statement on PostgreSQL.

The API's hot reads (queries.py `list_case_rows` and `get_case_row`) for the event loop's
autocommit connections (services/store/async_pool.py). The read and the audit event that
records it are one statement, so one transaction: both commit or neither does, and the
rows come back only joined to the audit insert's RETURNING, so no row leaves without its
event. One round trip, where a session takes five (grant check, BEGIN, read, insert,
COMMIT).

Only with the background audit chain (the service's default): the event goes to the inbox
and the chainer links it. In `commit` mode each transaction chains its events in Python as
it commits, which one statement cannot do, and the edge reads through queries.py instead.

The token's grant is checked in the same statement (the key that obtained it active, its
client enabled and in the same generation: services/access/clients.py's own query), so
the rows and the event exist only where it stands, and the answer says whether it did.

The scope filter and the order are queries.py's own (`page_of`), compiled once per shape
of the request (clearance, which filters, a cursor or not) with bind parameters in place
of values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Integer, bindparam, select, text

from services import audit
from services.access.clients import grant_select
from services.access.tokens import AccessClaims
from services.caller import Caller
from services.cases.queries import NO_SUCH_CASE, CaseFilter, next_cursor, page_of, visible_to
from services.cursors import decode_cursor
from services.errors import NotFound
from services.store.async_pool import Rows, postgres_sql
from services.store.tables import CmeCase

CaseRow = dict[str, Any]


@dataclass(frozen=True)
class _Shape:
    sensitive: bool
    status: bool
    reason: bool
    updated_since: bool
    after: bool


def _param(name: str) -> Any:
    return bindparam(name)


_GRANT_PARAMETERS = ("grant_client_id", "grant_org_code", "grant_kid", "grant_generation")
# The grant first: the rows and the event only where it stands. The answer is one row
# saying whether it stood (with no case) and then the page's rows, each with `granted`.
_GRANTED = "EXISTS (SELECT 1 FROM granted)"


@cache
def _granted_sql() -> str:
    return postgres_sql(grant_select(*(_param(name) for name in _GRANT_PARAMETERS)))


@cache
def _page_sql(shape: _Shape) -> str:
    filters = CaseFilter(
        status=_param("status") if shape.status else None,
        reason=_param("reason") if shape.reason else None,
        updated_since=_param("updated_since") if shape.updated_since else None,
    )
    page = page_of(
        select(CmeCase.__table__).where(text(_GRANTED)),
        org_code=_param("la_code"),
        sensitive=shape.sensitive,
        filters=filters,
        after=(_param("after_time"), _param("after_id")) if shape.after else None,
        rows=bindparam("rows", type_=Integer),
    )
    # The page is read one case beyond `limit` to know whether more follow; the event
    # names the cases shown, in their order (an empty page too, as queries.py does).
    event = audit.append_to_inbox_sql(
        object_ids="coalesce(json_agg(case_id ORDER BY updated_at, case_id), '[]')",
        record_count="count(*)",
        source="shown",
        condition=f"HAVING {_GRANTED}",
    )
    # Only compiled SQL and constant names are interpolated; every value is a parameter.
    return (
        f"WITH granted AS ({_granted_sql()}), page AS ({postgres_sql(page)}), "  # noqa: S608
        "shown AS (SELECT case_id, updated_at FROM page "
        "ORDER BY updated_at, case_id LIMIT %(limit)s), "
        f"audited AS ({event}) "
        f"SELECT answer.granted, page.* FROM (SELECT {_GRANTED} AS granted) AS answer "
        "LEFT JOIN (page CROSS JOIN audited) ON true ORDER BY page.updated_at, page.case_id"
    )


@cache
def _case_sql(sensitive: bool) -> str:
    found = select(CmeCase.__table__).where(
        text(_GRANTED),
        visible_to(_param("la_code"), sensitive=sensitive),
        CmeCase.case_id == _param("case_id"),
    )
    event = audit.append_to_inbox_sql(
        object_ids="json_build_array(case_id)", record_count="NULL::integer", source="found"
    )
    return (
        f"WITH granted AS ({_granted_sql()}), found AS ({postgres_sql(found)}), "  # noqa: S608
        f"audited AS ({event}) "
        f"SELECT answer.granted, found.* FROM (SELECT {_GRANTED} AS granted) AS answer "
        "LEFT JOIN (found CROSS JOIN audited) ON true"
    )


def _parameters(caller: Caller, grant: AccessClaims, action: str) -> dict[str, Any]:
    return {
        "la_code": caller.org_code,
        "grant_client_id": grant.client_id,
        "grant_org_code": grant.org_code,
        "grant_kid": grant.kid,
        "grant_generation": grant.generation,
    } | audit.event_fields(caller=caller, action=action, object_type="cme_case")


async def list_case_rows(
    *,
    connection: Rows,
    caller: Caller,
    grant: AccessClaims,
    filters: CaseFilter,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[CaseRow], str | None] | None:
    """queries.py `list_case_rows`, audited as `case.listed`, if the token's grant still
    stands (services/access/tokens.py `token_is_current`), all in one statement; None,
    with nothing read or recorded, when it does not."""
    params = _parameters(caller, grant, "case.listed") | {
        "status": filters.status,
        "reason": filters.reason,
        "updated_since": filters.updated_since,
        "rows": limit + 1,
        "limit": limit,
    }
    if cursor is not None:
        params["after_time"], params["after_id"] = decode_cursor(cursor)
    shape = _Shape(
        sensitive=caller.sees_sensitive,
        status=filters.status is not None,
        reason=filters.reason is not None,
        updated_since=filters.updated_since is not None,
        after=cursor is not None,
    )
    result = await connection.execute(_page_sql(shape), params)
    answer = await result.fetchall()
    if not answer[0]["granted"]:
        return None
    rows = [row for row in answer if row["case_id"] is not None]
    page, more = rows[:limit], len(rows) > limit
    return page, next_cursor(page, more=more)


async def get_case_row(
    *, connection: Rows, caller: Caller, grant: AccessClaims, case_id: str
) -> CaseRow | None:
    """queries.py `get_case_row`, audited as `case.read` (a case not found is not audited,
    as there), if the token's grant still stands, all in one statement; None when it
    does not."""
    params = _parameters(caller, grant, "case.read") | {"case_id": case_id}
    result = await connection.execute(_case_sql(caller.sees_sensitive), params)
    answer = await result.fetchone()
    if answer is None or not answer["granted"]:
        return None
    if answer["case_id"] is None:
        raise NotFound(NO_SUCH_CASE)
    return answer
