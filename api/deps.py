"""Dependencies: the request's database session (one commit point) and the caller.

A route's signature reads as its permissions, e.g. `caller: HealthBoardWriter`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from sqlalchemy.orm import Session as OrmSession

from services.access.tokens import token_is_current, verify_access_token
from services.caller import Caller
from services.errors import (
    FieldError,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)
from services.logs import request_id_var


def _session(request: Request) -> Iterator[OrmSession]:
    """The route's unit of work. It takes a connection (on SQLite, the write lock) only at
    its first query, which routes make after reading any body, inside their one threadpool
    call; it commits once, after the route returns and before the response is sent, so a
    failure at commit becomes an error response, never a 2xx. FastAPI runs this exit
    outside the threadpool's limit, so a commit never waits behind other requests."""
    with request.app.state.sessions() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


Session = Annotated[OrmSession, Depends(_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="An access token from POST /oauth2/token.")


def authenticated(
    security_scopes: SecurityScopes,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated()
    claims = verify_access_token(
        credentials.credentials,
        service_key=request.app.state.service_key,
        issuer=request.app.state.settings.public_base_url,
    )
    # Checked in the database at every request, in a short session of its own closed
    # (nothing to commit) before the route reads a body or starts its unit of work, so a slow
    # sender holds no pooled connection and no SQLite lock. Revoking the key that obtained
    # the token, or disabling or deleting the client, ends the token at once in every process.
    if claims is None:
        raise Unauthenticated("The access token is missing, expired or not valid.")
    with request.app.state.sessions() as session:
        current = token_is_current(session=session, claims=claims)
    if not current:
        raise Unauthenticated("The access token is missing, expired or not valid.")
    throttle(request, claims.client_id)
    missing = set(security_scopes.scopes) - claims.scopes
    if missing:
        raise Forbidden(
            f"This token lacks the scope {' '.join(sorted(missing))}.", "insufficient_scope"
        )
    return Caller(
        org_code=claims.org_code,
        client_id=claims.client_id,
        scopes=claims.scopes,
        request_id=request_id_var.get(),
    )


def refuse_repeated_query_parameters(request: Request) -> None:
    """`?limit=5000&limit=1` is ambiguous (which one wins differs between layers): refuse it
    (HTTP parameter pollution, ASVS 5.1.1)."""
    names = [name for name, _ in request.query_params.multi_items()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValidationFailed(
            [
                FieldError(f"query:{name[:64]}", "repeated_parameter", "Given more than once.")
                for name in repeated
            ]
        )


def throttle(request: Request, who: str) -> None:
    """Per caller and endpoint: the route template, so walking ids shares one bucket."""
    route = request.scope.get("route")
    key = (who, request.method, getattr(route, "path", request.url.path))
    wait = request.app.state.rate_limits.take(key)
    if wait is not None:
        raise RateLimited(wait)


def own_authority(caller: Caller, la_code: str) -> None:
    """An authority's paths exist only for that authority: any other answers 404."""
    if caller.org_code != la_code:
        raise NotFound()


LaCode = Annotated[str, Path(pattern=r"^W060000[0-9]{2}$", description="ONS GSS code.")]
SubmissionWriter = Annotated[Caller, Security(authenticated, scopes=["submissions:write"])]
SubmissionReader = Annotated[Caller, Security(authenticated, scopes=["submissions:read"])]
EducationWriter = Annotated[Caller, Security(authenticated, scopes=["education:write"])]
CmeReader = Annotated[Caller, Security(authenticated, scopes=["cme:read"])]
CmeWriter = Annotated[Caller, Security(authenticated, scopes=["cme:write"])]
# Changing a case also answers with it, so it needs both.
CaseWorker = Annotated[Caller, Security(authenticated, scopes=["cme:read", "cme:write"])]
StatisticsReader = Annotated[Caller, Security(authenticated, scopes=["statistics:read"])]
