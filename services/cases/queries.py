"""CME cases for local authorities: listing and reading. Reads never change a case.

The caller's organisation and sensitive-case clearance are filters inside every query: a
case of another authority, or a sensitive case without `cme:sensitive`, does not exist for
the caller (404), and never appears in a list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, RowMapping, Select, and_, select, tuple_
from sqlalchemy.orm import Session

from services import audit
from services.caller import Caller
from services.cursors import decode_cursor, encode_cursor
from services.errors import NotFound, ServiceError
from services.store.tables import CmeCase

_Case = TypeVar("_Case", CmeCase, RowMapping)

MAX_PAGE = 1000
NO_SUCH_CASE = "No such case for this authority."
_CASE_ID = re.compile(r"[0-9a-f-]{36}")


@dataclass(frozen=True)
class CaseFilter:
    status: str | None = None
    reason: str | None = None
    updated_since: datetime | None = None


def visible(caller: Caller) -> ColumnElement[bool]:
    """The caller's own, unrestricted cases; sensitive ones only with clearance."""
    return visible_to(caller.org_code, sensitive=caller.sees_sensitive)


def visible_to(org_code: Any, *, sensitive: bool) -> ColumnElement[bool]:
    """`visible` for an organisation (a value, or a bind parameter) and a clearance."""
    own = and_(CmeCase.la_code == org_code, CmeCase.restricted.is_(False))
    return own if sensitive else and_(own, CmeCase.sensitive.is_(False))


def list_cases(
    *,
    session: Session,
    caller: Caller,
    filters: CaseFilter,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[CmeCase], str | None]:
    rows = session.scalars(_page(select(CmeCase), caller, filters, limit, cursor)).all()
    return _audited_page(session, caller, rows, limit)


def list_case_rows(
    *,
    session: Session,
    caller: Caller,
    filters: CaseFilter,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[RowMapping], str | None]:
    """`list_cases` as plain rows (Core, no ORM objects), for edges that only show them;
    audited the same way."""
    statement = _page(select(CmeCase.__table__), caller, filters, limit, cursor)
    return _audited_page(session, caller, session.execute(statement).mappings().all(), limit)


def _page(
    statement: Select[Any], caller: Caller, filters: CaseFilter, limit: int, cursor: str | None
) -> Select[Any]:
    return page_of(
        statement,
        org_code=caller.org_code,
        sensitive=caller.sees_sensitive,
        filters=filters,
        after=None if cursor is None else decode_cursor(cursor),
        rows=limit + 1,
    )


def page_of(
    statement: Select[Any],
    *,
    org_code: Any,
    sensitive: bool,
    filters: CaseFilter,
    after: tuple[Any, Any] | None,
    rows: Any,
) -> Select[Any]:
    """A page of the visible cases in list order: after the (updated_at, case_id) of the
    previous page's last case, `rows` of them. Values, or bind parameters where the
    statement is compiled once (services/cases/audited_reads.py)."""
    statement = statement.where(visible_to(org_code, sensitive=sensitive))
    if filters.status is not None:
        statement = statement.where(CmeCase.status == filters.status)
    if filters.reason is not None:
        statement = statement.where(CmeCase.reason == filters.reason)
    if filters.updated_since is not None:
        statement = statement.where(CmeCase.updated_at > filters.updated_since)
    if after is not None:
        # A row comparison, so the (la_code, updated_at, case_id) index serves it.
        statement = statement.where(tuple_(CmeCase.updated_at, CmeCase.case_id) > tuple_(*after))
    return statement.order_by(CmeCase.updated_at, CmeCase.case_id).limit(rows)


def _audited_page(
    session: Session, caller: Caller, rows: Sequence[_Case], limit: int
) -> tuple[Sequence[_Case], str | None]:
    page, more = rows[:limit], len(rows) > limit
    case_ids = [case["case_id"] if isinstance(case, RowMapping) else case.case_id for case in page]
    audit.record(
        session=session,
        caller=caller,
        action="case.listed",
        object_type="cme_case",
        object_ids=case_ids,
        record_count=len(page),
    )
    return page, next_cursor(page, more=more)


def next_cursor(page: Sequence[Any], *, more: bool) -> str | None:
    """The cursor after the page's last case, when more follow."""
    if not more:
        return None
    last = page[-1]
    if isinstance(last, CmeCase):
        return encode_cursor(last.updated_at, last.case_id)
    return encode_cursor(last["updated_at"], last["case_id"])


def get_case(*, session: Session, caller: Caller, case_id: str) -> CmeCase:
    case = _find(session, caller, case_id, lock=False)
    _audit_read(session, caller, case_id)
    return case


def get_case_row(*, session: Session, caller: Caller, case_id: str) -> RowMapping:
    """`get_case` as a plain row (Core, no ORM object); audited the same way."""
    statement = select(CmeCase.__table__).where(visible(caller), CmeCase.case_id == case_id)
    case = session.execute(statement).mappings().first()
    if case is None:
        raise NotFound(NO_SUCH_CASE)
    _audit_read(session, caller, case_id)
    return case


def _audit_read(session: Session, caller: Caller, case_id: str) -> None:
    audit.record(
        session=session,
        caller=caller,
        action="case.read",
        object_type="cme_case",
        object_ids=[case_id],
    )


def etag(case: CmeCase | Mapping[Any, Any]) -> str:
    if isinstance(case, CmeCase):
        return f'"{case.case_id}.{case.version}"'
    return f'"{case["case_id"]}.{case["version"]}"'


def _find(session: Session, caller: Caller, case_id: str, *, lock: bool) -> CmeCase:
    statement = select(CmeCase).where(visible(caller), CmeCase.case_id == case_id)
    case = session.scalar(statement.with_for_update() if lock else statement)
    if case is None:
        raise NotFound(NO_SUCH_CASE)
    return case


def find_for_update(
    *, session: Session, caller: Caller, case_id: str, if_match: str | None
) -> CmeCase:
    case = _find(session, caller, case_id, lock=True)
    if if_match is None:
        raise ServiceError(
            "If-Match with the case's ETag is required.",
            status=428,
            code="precondition_required",
            title="Precondition required",
        )
    # Strong comparison only, and no `*`: a change must name the version it was based on,
    # so an officer never overwrites what they have not seen.
    if etag(case) not in {tag.strip() for tag in if_match.split(",")}:
        raise ServiceError(
            "If-Match must be the case's current ETag (not weak, not *); read it again.",
            status=412,
            code="precondition_failed",
            title="Precondition failed",
        )
    return case
