"""POST /oauth2/token: client credentials with a signed client assertion (RFC 7523)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import Session, throttle
from schemas.problems import OAuthProblem, Problem
from services import audit
from services.logs import request_id_var
from services.tokens import TokenRequest, exchange

router = APIRouter(tags=["authentication"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: int
    scope: str


@router.post(
    "/oauth2/token",
    response_model=TokenResponse,
    summary="Exchange a signed client assertion for an access token",
    responses={
        400: {
            "model": OAuthProblem,
            "description": "invalid_request, invalid_scope or "
            "unsupported_grant_type (RFC 6749 section 5.2).",
        },
        429: {"model": Problem, "description": "`rate_limited`: see Retry-After."},
        401: {
            "model": OAuthProblem,
            "description": "invalid_client: the assertion, its "
            "signature, key, audience, lifetime or jti was refused.",
        },
    },
)
def issue_token(
    request: Request,
    session: Session,
    grant_type: Annotated[str | None, Form()] = None,
    client_assertion_type: Annotated[str | None, Form()] = None,
    client_assertion: Annotated[str | None, Form(max_length=16384)] = None,
    scope: Annotated[str | None, Form(max_length=1024)] = None,
) -> JSONResponse:
    settings = request.app.state.settings
    # Before any verification work: limited per client address.
    throttle(request, f"address:{request.client.host if request.client else 'unknown'}")
    issued = exchange(
        session=session,
        request=TokenRequest(grant_type, client_assertion_type, client_assertion, scope),
        service_key=request.app.state.service_key,
        token_endpoint_url=settings.token_endpoint_url,
        issuer=settings.public_base_url,
        lifetime_seconds=settings.access_token_seconds,
        leeway_seconds=settings.clock_leeway_seconds,
    )
    audit.record(
        session=session,
        actor=audit.Actor(issued.client_id, issued.org_code, request_id_var.get()),
        action="token.issued",
        object_type="client",
        object_ids=[issued.client_id],
    )
    body = TokenResponse(
        access_token=issued.access_token, expires_in=issued.expires_in, scope=issued.scope
    )
    return JSONResponse(
        body.model_dump(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
    )
