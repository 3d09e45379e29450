"""An authority's CME cases (SPEC.md, CME cases)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api import reads
from api.body import read_limited_body, require_json
from api.deps import (
    CaseReader,
    CaseWorker,
    LaCode,
    Session,
    own_authority,
)
from api.encoding import json_response
from api.responses import AUTHENTICATED, BODY, OWN_AUTHORITY, problems
from schemas.cases import CaseOut, CasePage, CasePatch
from schemas.codes import CaseReason
from services.caller import Caller
from services.cases import outcomes as case_outcomes
from services.cases import queries as cases
from services.cases.csv_export import cases_csv
from services.cases.wire import case_document, case_out
from services.errors import FieldError, ValidationFailed
from services.intake.parsing import is_plausible_moment, parse
from services.store.db import transaction

PATCH_MAX_BYTES = 64 * 1024

router = APIRouter(prefix="/v1/local-authorities/{la_code}/cme-cases", tags=["cme cases"])

CaseId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]


@router.get(
    "",
    response_model=CasePage,
    summary="List the authority's CME cases",
    description=(
        "Ordered by `updated_at` then `case_id`, so following `next_cursor` after a sync "
        "with `updated_since` misses nothing. Sensitive cases appear only to tokens holding "
        "`cme:sensitive`. With `Accept: text/csv` the same page comes as CSV (cells that "
        "could run as spreadsheet formulas are prefixed with `'`) and the next page is in "
        'a `Link: <...>; rel="next"` header.'
    ),
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **problems(*AUTHENTICATED, *OWN_AUTHORITY, "invalid_cursor"),
    },
)
async def list_cases(
    request: Request,
    caller: CaseReader,
    la_code: LaCode,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    reason: Annotated[CaseReason | None, Query()] = None,
    updated_since: Annotated[datetime | None, Query(description="With offset.")] = None,
    limit: Annotated[int, Query(ge=1, le=cases.MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    own_authority(caller, la_code)
    if updated_since is not None and (
        updated_since.tzinfo is None or not is_plausible_moment(updated_since)
    ):
        raise ValidationFailed(
            [
                FieldError(
                    "query:updated_since",
                    "invalid_timestamp",
                    "A timestamp with a UTC offset, between 2000 and today.",
                )
            ]
        )
    filters = cases.CaseFilter(status, reason, updated_since)
    if "text/csv" not in request.headers.get("accept", ""):
        # Plain rows shaped straight into the CasePage document (see services/cases/wire.py).
        rows, next_cursor = await reads.case_page(
            request, caller=caller, filters=filters, limit=limit, cursor=cursor
        )
        return json_response(
            {"items": [case_document(row) for row in rows], "next_cursor": next_cursor}
        )
    return await run_in_threadpool(_csv_page, request, caller, filters, limit, cursor)


def _csv_page(
    request: Request, caller: Caller, filters: cases.CaseFilter, limit: int, cursor: str | None
) -> Response:
    """The page as CSV, read, audited and committed in this one thread-pool call."""
    with transaction(request.app.state.sessions) as session:
        page, next_cursor = cases.list_cases(
            session=session, caller=caller, filters=filters, limit=limit, cursor=cursor
        )
    headers = {}
    if next_cursor is not None:
        query = dict(request.query_params) | {"cursor": next_cursor}
        headers["Link"] = f'<{request.url.path}?{urlencode(query)}>; rel="next"'
    items = [case_out(case) for case in page]
    return Response(cases_csv(items), media_type="text/csv; charset=utf-8", headers=headers)


@router.get(
    "/{case_id}",
    response_model=CaseOut,
    summary="One case, with its ETag",
    responses=problems(*AUTHENTICATED, *OWN_AUTHORITY),
)
async def read_case(
    request: Request, caller: CaseReader, la_code: LaCode, case_id: CaseId
) -> Response:
    own_authority(caller, la_code)
    case = await reads.case(request, caller=caller, case_id=case_id)
    return json_response(case_document(case), headers={"ETag": cases.etag(case)})


@router.patch(
    "/{case_id}",
    response_model=CaseOut,
    summary="Record an outcome, a review decision, a note or a correction",
    description=(
        "`If-Match` with the case's ETag is required (428 without, 412 when stale). "
        "`moved_to_another_authority` needs `receiving_local_authority`: another Welsh "
        "authority's case opens in the same call (its 28-day clock starts), or `england` "
        "closes the case and leaves a transfer record for the English authority. "
        "`review_decision` answers a `possible_match_needs_review` case (a candidate's "
        "`education_record_id`, or null for none of them) and is remembered by later "
        "reconciliations. `child` corrects the case's copy of the child's details."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CasePatch"}}},
        }
    },
    responses=problems(
        *AUTHENTICATED,
        *OWN_AUTHORITY,
        *BODY,
        "precondition_required",
        "precondition_failed",
        "case_closed",
        "not_under_review",
        "child_deceased",
    ),
)
async def update_case(
    request: Request,
    response: Response,
    session: Session,
    caller: CaseWorker,
    la_code: LaCode,
    case_id: CaseId,
    if_match: Annotated[str | None, Header()] = None,
) -> CaseOut:
    own_authority(caller, la_code)
    require_json(request)
    body, _ = await read_limited_body(request, max_bytes=PATCH_MAX_BYTES)
    # Parsed as JSON by the strict model itself, exactly like every other inbound body.
    patch = parse(CasePatch, body)
    case = await run_in_threadpool(
        case_outcomes.update_case,
        session=session,
        caller=caller,
        case_id=case_id,
        if_match=if_match,
        patch=patch,
    )
    response.headers["ETag"] = cases.etag(case)
    return case_out(case)
