"""OpenAPI declarations of error responses: each operation lists the codes it can answer.

`problems(*codes)` groups the codes by HTTP status; each status's description names its
codes with their meaning and carries an example problem+json body. The bundles below are
what every route of a kind can answer (authentication, an authority's own paths, reading a
body); a route adds the codes its service raises. README.md's "Errors" table lists them all.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Code(NamedTuple):
    status: int
    title: str
    meaning: str
    detail: str  # the example body's `detail`


CODES: dict[str, Code] = {
    "malformed_gzip": Code(
        400,
        "Bad request",
        "the gzip body is corrupt, truncated or has more than one member",
        "The gzip body is corrupt.",
    ),
    "invalid_cursor": Code(
        400,
        "Bad request",
        "`cursor` is not one this service issued",
        "The cursor is not one this service issued.",
    ),
    "child_deceased": Code(
        400,
        "Bad request",
        "the receiving authority holds this child as deceased, so the move is refused",
        "The receiving authority holds this child as deceased.",
    ),
    "unauthenticated": Code(
        401,
        "Unauthenticated",
        "no bearer access token, or one that is expired, forged, obtained with a key revoked "
        "since, or whose client has been disabled since (with `WWW-Authenticate: Bearer`)",
        "The access token is missing, expired or not valid.",
    ),
    "signature_missing": Code(
        401,
        "Signature not accepted",
        "no `X-JWS-Signature` header",
        "The X-JWS-Signature header is required.",
    ),
    "signature_malformed": Code(
        401,
        "Signature not accepted",
        "`X-JWS-Signature` is not a detached compact JWS `header..signature`",
        "The signature must be a detached compact JWS: header..signature.",
    ),
    "signature_refused": Code(
        401,
        "Signature not accepted",
        "the JWS header is refused: `alg` not ES256, RS256, PS256 or EdDSA (or not the "
        "key's), `crit` or `b64` present, no `kid`, or a `typ` other than `JOSE`",
        "Signature header refused: alg must be one of ES256, RS256, PS256, EdDSA.",
    ),
    "signature_unknown_key": Code(
        401,
        "Signature not accepted",
        "the `kid` is not an active (registered, not revoked) key of the calling client",
        "The kid is not an active key of this client.",
    ),
    "signature_invalid": Code(
        401,
        "Signature not accepted",
        "the signature does not verify over the exact body bytes",
        "The signature does not verify over the body.",
    ),
    "insufficient_scope": Code(
        403,
        "Forbidden",
        "the access token lacks a scope this operation needs",
        "This token lacks the scope cme:write.",
    ),
    "lhb_code_not_caller": Code(
        403,
        "Forbidden",
        "`lhb_code` is not the calling client's own health board",
        "lhb_code must be the calling client's own health board.",
    ),
    "not_found": Code(
        404,
        "Not found",
        "no such resource for the caller's organisation (another authority's paths answer "
        "this too, never data)",
        "No such resource.",
    ),
    "request_timeout": Code(
        408,
        "Request timeout",
        "the body did not arrive within the time limit; the connection is closed",
        "The request body did not arrive in time.",
    ),
    "submission_id_conflict": Code(
        409,
        "Conflict",
        "this board already used the `submission_id` with a different body",
        "This board already used this submission_id with a different body.",
    ),
    "education_records_required": Code(
        409,
        "Conflict",
        "no education records are waiting: the last upload has been reconciled already",
        "This authority's education records have been reconciled already.",
    ),
    "case_closed": Code(
        409,
        "Conflict",
        "the case is closed: only a note or a correction of the child's details is accepted",
        "The case is closed.",
    ),
    "not_under_review": Code(
        409,
        "Conflict",
        "a `review_decision` was sent for a case that is not waiting for one",
        "The case is not waiting for a review decision.",
    ),
    "precondition_failed": Code(
        412,
        "Precondition failed",
        "`If-Match` is not the case's current ETag (stale, weak or `*`): read it again",
        "The case has changed since it was read.",
    ),
    "payload_too_large": Code(
        413,
        "Payload too large",
        "the body, or the decompressed body, is over the limit",
        "The body exceeds 209715200 bytes.",
    ),
    "unsupported_media_type": Code(
        415,
        "Unsupported media type",
        "`Content-Type` is not one the operation accepts",
        "Content-Type must be application/json.",
    ),
    "unsupported_content_encoding": Code(
        415,
        "Unsupported media type",
        "`Content-Encoding` is neither `gzip` nor absent",
        "Content-Encoding must be gzip or absent.",
    ),
    "unsupported_charset": Code(
        415,
        "Unsupported media type",
        "a CSV upload declares a charset that is unknown or not a text encoding",
        "Unknown charset 'x-klingon': use UTF-8 or a standard name such as windows-1252.",
    ),
    "validation_failed": Code(
        422,
        "Validation failed",
        "one entry per problem in `errors`, each `{pointer, code, detail}` (a JSON Pointer "
        "into the body, or `query:NAME` / `path:NAME`); nothing was stored",
        "The request body has 1 problem(s); nothing was stored.",
    ),
    "precondition_required": Code(
        428,
        "Precondition required",
        "`If-Match` with the case's ETag is required",
        "If-Match with the case's ETag is required.",
    ),
    "rate_limited": Code(
        429,
        "Too many requests",
        "too many requests from this client to this endpoint; retry after `Retry-After` seconds",
        "Too many requests; retry after 3 s.",
    ),
    "not_ready": Code(
        503,
        "Not ready",
        "the database does not answer or is not at the latest migration",
        "The database does not answer or is not at the latest migration.",
    ),
    "database_busy": Code(
        503,
        "Service busy",
        "no database connection was free in time; retry after `Retry-After` seconds",
        "No database connection was free in time; retry shortly.",
    ),
}

# Every operation behind a bearer token: the token, its scope, the rate limit, the lookup
# of the token's client in the database, and the query parameters given twice.
AUTHENTICATED = (
    "unauthenticated",
    "insufficient_scope",
    "rate_limited",
    "database_busy",
    "validation_failed",
)
# `/v1/local-authorities/{la_code}/...`: another authority's code answers 404.
OWN_AUTHORITY = ("not_found",)
# Operations that read a request body (api/body.py).
BODY = (
    "unsupported_media_type",
    "unsupported_content_encoding",
    "malformed_gzip",
    "request_timeout",
    "payload_too_large",
)
_EXAMPLE_FIELD_ERROR = {
    "pointer": "/records/17/nhs_number",
    "code": "nhs_number_checksum",
    "detail": "The NHS number's check digit is wrong.",
}


def problem_example(code: str) -> dict[str, Any]:
    """An example problem+json body for `code` (synthetic, as every example here)."""
    known = CODES[code]
    example: dict[str, Any] = {
        "type": f"urn:cme-exchange:problem:{code}",
        "title": known.title,
        "status": known.status,
        "detail": known.detail,
        "code": code,
        "request_id": "5b0c2f4e9a7d4c1b8e3f6a2d",
    }
    if code == "validation_failed":
        example["errors"] = [_EXAMPLE_FIELD_ERROR]
    return example


def problems(*codes: str) -> dict[int | str, dict[str, Any]]:
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys(codes):
        by_status.setdefault(CODES[code].status, []).append(code)
    return {
        status: {
            "description": "; ".join(f"`{code}`: {CODES[code].meaning}" for code in listed) + ".",
            "content": {
                "application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    "examples": {
                        code: {"summary": code, "value": problem_example(code)} for code in listed
                    },
                }
            },
        }
        for status, listed in sorted(by_status.items())
    }
