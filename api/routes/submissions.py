"""Signed submissions from health boards (SPEC.md, Signed submissions)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from api.body import require_json, spool_body
from api.deps import Session, SubmissionReader, SubmissionWriter
from api.docs import SIGNATURE_EXAMPLE, SIGNATURE_HOW_TO
from api.responses import AUTHENTICATED, BODY, problems
from schemas.submissions import Receipt
from services.access.signatures import SIGNATURE_HEADER
from services.intake import submissions
from services.intake.received import ReceivedBody

router = APIRouter(prefix="/v1/submissions", tags=["submissions"])

SubmissionId = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{36}$", description="The sender's UUID.")]


@router.post(
    "",
    status_code=201,
    response_model=Receipt,
    summary="Send a signed extract of child records",
    description=(
        "The body is the exact JSON of `SubmissionIn`, optionally gzip-encoded, signed with a "
        f"detached JWS in `{SIGNATURE_HEADER}` (below). All or nothing: any invalid record refuses "
        "the whole submission with 422 and one error per problem. The same `submission_id` "
        "with the same body answers 200 with the original receipt; with a different body, 409. "
        "Submission ids are the sender's and belong to its board: another board's use of "
        "the same id is a different submission and never a conflict.\n\n"
        f"## {SIGNATURE_HEADER}\n\n{SIGNATURE_HOW_TO}"
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/SubmissionIn"}}
            },
        },
    },
    responses={
        200: {"model": Receipt, "description": "A replay of an earlier identical submission."},
        **problems(
            *AUTHENTICATED,
            *BODY,
            "signature_missing",
            "signature_malformed",
            "signature_refused",
            "signature_unknown_key",
            "signature_invalid",
            "lhb_code_not_caller",
            "submission_id_conflict",
        ),
    },
)
async def create_submission(
    request: Request,
    response: Response,
    session: Session,
    caller: SubmissionWriter,
    signature: Annotated[
        str | None,
        Header(
            alias=SIGNATURE_HEADER,
            description=SIGNATURE_HOW_TO,
            examples=[SIGNATURE_EXAMPLE],
        ),
    ] = None,
) -> Receipt:
    require_json(request)
    gzipped = request.headers.get("content-encoding", "").strip().lower() == "gzip"
    body = ReceivedBody(signature=signature, compressed=gzipped)
    try:
        await spool_body(request, max_bytes=request.app.state.settings.max_body_bytes, into=body)
        # Verification, validation and storage are CPU and database work: off the event loop.
        outcome = await run_in_threadpool(
            submissions.ingest, session=session, caller=caller, body=body, signature=signature
        )
    finally:
        body.close()
    response.headers["Location"] = f"/v1/submissions/{outcome.receipt.submission_id}"
    if not outcome.created:
        response.status_code = 200
    return outcome.receipt


@router.get(
    "/{submission_id}",
    response_model=Receipt,
    summary="Read a submission's receipt (own board only)",
    responses=problems(*AUTHENTICATED, "not_found"),
)
async def read_submission(
    session: Session, caller: SubmissionReader, submission_id: SubmissionId
) -> Receipt:
    return await run_in_threadpool(
        submissions.read_receipt,
        session=session,
        caller=caller,
        submission_id=submission_id.lower(),
    )
