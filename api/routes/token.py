"""POST /oauth2/token: client credentials with a signed client assertion (RFC 7523).

The form is read by hand so that every way it can be wrong (wrong content type, too big,
a parameter given twice) answers an RFC 6749 error body, as OAuth clients expect.

Limits (services/access/rate_limit.py): requests per client address, before any work;
refusals per address and per claimed client_id, counted after the assertion was checked,
so a valid assertion is never refused because of failures. The address is the TCP peer,
or what a proxy listed in CME_TRUSTED_PROXIES says in X-Forwarded-For.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.body import BodyReadTimeout, read_limited_body
from api.deps import Session, throttle
from api.responses import problems
from schemas.problems import OAuthProblem
from schemas.tokens import TokenResponse
from services import audit
from services.access.rate_limit import client_address
from services.access.tokens import (
    IssuedToken,
    OAuthError,
    TokenRequest,
    claimed_client_id,
    exchange,
)
from services.caller import Caller
from services.errors import RateLimited, ServiceError
from services.logs import request_id_var

router = APIRouter(tags=["authentication"])

FORM_MAX_BYTES = 32 * 1024
FORM_FIELDS = ("grant_type", "client_assertion_type", "client_assertion", "scope")


@router.post(
    "/oauth2/token",
    response_model=TokenResponse,
    summary="Exchange a signed client assertion for an access token",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"$ref": "#/components/schemas/TokenForm"}
                }
            },
        }
    },
    responses={
        400: {
            "model": OAuthProblem,
            "description": "invalid_request, invalid_scope or unsupported_grant_type "
            "(RFC 6749 section 5.2).",
            "content": {
                "application/json": {
                    "example": {
                        "error": "invalid_scope",
                        "error_description": "The requested scope exceeds the client's scopes.",
                    }
                }
            },
        },
        401: {
            "model": OAuthProblem,
            "description": "invalid_client: the assertion, its signature, key, audience, "
            "lifetime or jti was refused. An unknown client, an unknown, revoked or "
            "mismatched key, a disabled client and a bad signature all answer the same "
            "`error_description`, so the answer never tells which clients and keys exist.",
            "content": {
                "application/json": {
                    "example": {
                        "error": "invalid_client",
                        "error_description": "Unknown client or key, or the signature does not "
                        "verify.",
                    }
                }
            },
        },
        **problems("validation_failed", "rate_limited", "database_busy", "request_timeout"),
        429: {
            **problems("rate_limited")[429],
            "description": "`rate_limited`, see Retry-After: too many requests from this "
            "client address, or too many refused requests from this address or naming "
            "this client_id. A valid assertion is never refused because of refusals.",
        },
    },
)
async def issue_token(request: Request, session: Session) -> JSONResponse:
    settings = request.app.state.settings
    address = client_address(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        settings.trusted_proxies,
    )
    # Before any verification work: the work one address can cause is bounded.
    throttle(request, f"address:{address}")
    form: TokenRequest | None = None
    try:
        form = await _read_form(request)
        issued = await run_in_threadpool(_issue, request, session, form)
    except OAuthError:
        wait = request.app.state.token_limits.refused(
            address=address,
            claimed_client_id=claimed_client_id(form.client_assertion if form else None),
        )
        if wait is not None:
            raise RateLimited(wait) from None
        raise
    body = TokenResponse(
        access_token=issued.access_token, expires_in=issued.expires_in, scope=issued.scope
    )
    return JSONResponse(
        body.model_dump(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
    )


async def _read_form(request: Request) -> TokenRequest:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "The body must be application/x-www-form-urlencoded.")
    try:
        body, _ = await read_limited_body(request, max_bytes=FORM_MAX_BYTES)
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, max_num_fields=16)
    except BodyReadTimeout:
        raise  # 408 problem+json, as 429 here: the form never arrived, nothing to judge
    except (ServiceError, UnicodeDecodeError, ValueError) as error:
        raise OAuthError("invalid_request", "The form could not be read.") from error
    names = [name for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise OAuthError(
            "invalid_request", f"Parameters given more than once: {', '.join(repeated)}."
        )
    values = dict(pairs)
    return TokenRequest(*(values.get(name) for name in FORM_FIELDS))


def _issue(request: Request, session: Session, form: TokenRequest) -> IssuedToken:
    settings = request.app.state.settings
    issued = exchange(
        session=session,
        request=form,
        service_key=request.app.state.service_key,
        token_endpoint_url=settings.token_endpoint_url,
        issuer=settings.public_base_url,
        lifetime_seconds=settings.access_token_seconds,
        leeway_seconds=settings.clock_leeway_seconds,
    )
    audit.record(
        session=session,
        caller=Caller(
            org_code=issued.org_code, client_id=issued.client_id, request_id=request_id_var.get()
        ),
        action="token.issued",
        object_type="client",
        object_ids=[issued.client_id],
    )
    return issued
