"""OpenAPI declarations of error responses, so every route documents what it can answer."""

from __future__ import annotations

from typing import Any

from schemas.problems import Problem

_DESCRIPTIONS = {
    400: "Bad request: `malformed_gzip`, `invalid_cursor`, `timestamp_without_offset`, "
    "`child_deceased`.",
    401: "`unauthenticated`: missing, expired or forged access token, or one whose key has "
    "been revoked or whose client has been disabled since it was issued; or for submissions "
    "`signature_missing`, `signature_malformed`, `signature_refused`, "
    "`signature_unknown_key`, `signature_invalid`.",
    403: "`insufficient_scope`, or `lhb_code_not_caller`.",
    404: "`not_found`: no such resource for the caller's organisation.",
    408: "`request_timeout`: the body did not arrive within the time limit; the connection "
    "is closed.",
    409: "`submission_id_conflict`: this board already used the id with a different body; "
    "`education_records_required`: no education records are waiting to be reconciled; "
    "`case_closed`, `not_under_review`.",
    412: "`precondition_failed`: the If-Match ETag is stale.",
    428: "`precondition_required`: If-Match is required.",
    413: "`payload_too_large`: body, or decompressed body, over the limit.",
    415: "`unsupported_media_type` or `unsupported_content_encoding`.",
    422: "`validation_failed` with one entry per problem in `errors`.",
    429: "`rate_limited`: too many requests from this client to this endpoint; see Retry-After.",
    503: "`not_ready`: the database does not answer or is not at the latest migration.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS[status],
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
        for status in statuses
    }
