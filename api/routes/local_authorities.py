"""An authority's own paths: education records and reconciliations.

The `{la_code}` in the path must be the caller's own organisation; any other answers 404,
exactly as a path that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.body import spool_body
from api.deps import (
    CmeReader,
    CmeWriter,
    EducationWriter,
    LaCode,
    Session,
    own_authority,
)
from api.responses import AUTHENTICATED, BODY, OWN_AUTHORITY, problems
from schemas.education import EducationRecordsReceipt
from schemas.reconciliations import ReconciliationOut, ReconciliationPage, ReconciliationQueued
from services.errors import UnsupportedMediaType
from services.intake import education
from services.intake.received import ReceivedBody
from services.reconciliation import queue
from services.reconciliation.wire import reconciliation_out, reconciliation_queued

router = APIRouter(prefix="/v1/local-authorities/{la_code}", tags=["local authorities"])


@router.put(
    "/education-records",
    response_model=EducationRecordsReceipt,
    summary="Replace the authority's whole set of education records",
    description=(
        "JSON (`EducationRecordsIn`) or CSV with a header row. CSV columns are the record's "
        "field names plus `as_of` (same value on every row), `address_line_1`..`address_line_6`"
        ", `postcode`, `former_given_name_N` and `former_family_name_N` (N = 1..10); empty "
        "cells are absent values; error pointers `/records/N` count data rows from 0. All or "
        "nothing, with the same validation and error shape as submissions. The records are "
        "the working set of the next reconciliation, which deletes them once consumed. CSV is "
        "UTF-8 unless Content-Type declares its charset (`text/csv; charset=windows-1252`): "
        "other bytes answer 422 `csv_not_utf8`, an unknown charset 415 `unsupported_charset`."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/EducationRecordsIn"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
    responses=problems(
        *AUTHENTICATED,
        *OWN_AUTHORITY,
        *BODY,
        "unsupported_charset",
    ),
)
async def replace_education_records(
    request: Request, session: Session, caller: EducationWriter, la_code: LaCode
) -> EducationRecordsReceipt:
    own_authority(caller, la_code)
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in ("application/json", "text/csv"):
        raise UnsupportedMediaType("Content-Type must be application/json or text/csv.")
    gzipped = request.headers.get("content-encoding", "").strip().lower() == "gzip"
    body = ReceivedBody(signature=None, compressed=gzipped, keep_copy=False)
    try:
        await spool_body(request, max_bytes=request.app.state.settings.max_body_bytes, into=body)
        return await run_in_threadpool(
            education.replace_education_records,
            session=session,
            la_code=la_code,
            caller=caller,
            body=body,
            media_type="json" if media_type == "application/json" else "csv",
            charset=_charset(content_type),
        )
    finally:
        body.close()


def _charset(content_type: str) -> str | None:
    """The `charset` parameter of a Content-Type, if any."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"') or None
    return None


@router.post(
    "/reconciliations",
    status_code=202,
    response_model=ReconciliationQueued,
    summary="Queue a reconciliation of the authority's health and education records",
    description="While a run of the authority is queued or running, answers with that run "
    "instead of starting a second. 409 `education_records_required` when no education "
    "records are waiting (the last upload has been reconciled already).",
    responses=problems(*AUTHENTICATED, *OWN_AUTHORITY, "education_records_required"),
)
async def start_reconciliation(
    response: Response, session: Session, caller: CmeWriter, la_code: LaCode
) -> ReconciliationQueued:
    own_authority(caller, la_code)
    job = await run_in_threadpool(
        queue.request_run, session=session, la_code=la_code, requested_by=caller.client_id
    )
    response.headers["Location"] = (
        f"/v1/local-authorities/{la_code}/reconciliations/{job.reconciliation_id}"
    )
    return reconciliation_queued(job)


@router.get(
    "/reconciliations",
    response_model=ReconciliationPage,
    summary="The authority's reconciliations, newest first",
    responses=problems(*AUTHENTICATED, *OWN_AUTHORITY, "invalid_cursor"),
)
async def list_reconciliations(
    session: Session,
    caller: CmeReader,
    la_code: LaCode,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ReconciliationPage:
    own_authority(caller, la_code)
    page, next_cursor = await run_in_threadpool(
        queue.list_runs, session=session, la_code=la_code, limit=limit, cursor=cursor
    )
    return ReconciliationPage(
        items=[reconciliation_out(job, caller=caller) for job in page], next_cursor=next_cursor
    )


@router.get(
    "/reconciliations/{reconciliation_id}",
    response_model=ReconciliationOut,
    summary="A reconciliation's status, progress and summary",
    responses=problems(*AUTHENTICATED, *OWN_AUTHORITY),
)
async def read_reconciliation(
    session: Session,
    caller: CmeReader,
    la_code: LaCode,
    reconciliation_id: Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")],
) -> ReconciliationOut:
    own_authority(caller, la_code)
    job = await run_in_threadpool(
        queue.get, session=session, la_code=la_code, reconciliation_id=reconciliation_id
    )
    return reconciliation_out(job, caller=caller)
