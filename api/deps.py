"""Dependencies: the request's database session (one commit point) and the caller.

A route's signature reads as its permissions, e.g. `caller: HealthBoardWriter`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import HTTPAuthorizationCredentials, OAuth2, SecurityScopes
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import Engine
from sqlalchemy.orm import Session as OrmSession
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from services.access.tokens import AccessClaims, token_is_current, token_is_current_async
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
from services.store.async_pool import ReadPool
from services.store.db import single_read, transaction


def _session(request: Request) -> Iterator[OrmSession]:
    """The route's unit of work. It takes a connection (on SQLite, the write lock) only at
    its first query, which routes make after reading any body, inside their one threadpool
    call; it commits once, after the route returns and before the response is sent, so a
    failure at commit becomes an error response, never a 2xx. FastAPI runs this exit
    outside the threadpool's limit, so a commit never waits behind other requests."""
    with transaction(request.app.state.sessions) as session:
        yield session


Session = Annotated[OrmSession, Depends(_session, scope="function")]

SCOPES = {
    "submissions:write": "Health board: send extracts for its own board.",
    "submissions:read": "Health board: read its own submissions' receipts.",
    "education:write": "Local authority: replace its own education records.",
    "cme:read": "Local authority: read its own CME cases and reconciliations.",
    "cme:write": "Local authority: run reconciliations, record case outcomes and review decisions.",
    "cme:sensitive": "Designated LA officer: additionally see cases of children with "
    "sensitive (S-flagged) records.",
    "statistics:read": "Welsh Government: read aggregate statistics, small numbers suppressed.",
}

CLIENT_CREDENTIALS = """\
OAuth 2.0 client credentials, the client authenticating with `private_key_jwt`: a client
assertion signed with its private key (RFC 7523), never a client secret.

`POST /oauth2/token` as `application/x-www-form-urlencoded`:
`grant_type=client_credentials`,
`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`,
`client_assertion=<JWT>` and optionally `scope` (space-separated; default all the
client's scopes).

The assertion's header: `alg` one of `ES256`, `RS256`, `PS256`, `EdDSA`; `kid` the RFC 7638
JWK thumbprint (SHA-256) of the registered public key (`cme clients add --json` prints it);
`typ`, if present, `JWT`; no `crit`. Its claims: `iss` = `sub` = the `client_id`;
`aud` = `{CME_PUBLIC_BASE_URL}/oauth2/token`; a unique `jti` (single use: a reused jti is
refused); `iat`; and `exp` **at most 5 minutes after `iat`** (30 s of clock leeway). Many
OAuth libraries default to a longer lifetime or leave `kid` out of the header: set both.

The answer's `access_token` (valid at most 15 minutes) goes in
`Authorization: Bearer <access_token>` on every other request. Without a valid token: 401
`unauthenticated` with `WWW-Authenticate: Bearer`; without the operation's scope: 403
`insufficient_scope`. Swagger UI's *Authorize* button cannot sign assertions: obtain a token
with `cme token` and send it as the bearer header.
"""


class ClientCredentials(OAuth2):
    """OAuth 2.0 client credentials in the OpenAPI document (so each operation lists its
    scopes); at run time it reads the bearer token exactly as `HTTPBearer` does."""

    def __init__(self) -> None:
        super().__init__(
            flows=OAuthFlows(
                clientCredentials=OAuthFlowClientCredentials(
                    tokenUrl="/oauth2/token", scopes=SCOPES
                )
            ),
            scheme_name="OAuth2ClientCredentials",
            description=CLIENT_CREDENTIALS,
            auto_error=False,
        )

    async def __call__(self, request: HTTPConnection) -> HTTPAuthorizationCredentials | None:  # type: ignore[override]
        authorization = request.headers.get("Authorization")
        scheme, credentials = get_authorization_scheme_param(authorization)
        if not (authorization and scheme and credentials) or scheme.lower() != "bearer":
            return None
        return HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials)


_bearer = ClientCredentials()


async def authenticated(
    security_scopes: SecurityScopes,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated()
    # The signature is checked once per token and process (services/access/tokens.py).
    claims = request.app.state.verified_tokens.claims(credentials.credentials)
    if claims is None or not await _grant_stands(request, claims):
        raise Unauthenticated("The access token is missing, expired or not valid.")
    return _admitted(request, claims, security_scopes)


def _admitted(request: Request, claims: AccessClaims, security_scopes: SecurityScopes) -> Caller:
    """After the token: the rate limit, then the operation's scopes."""
    throttle(request, claims.client_id)
    request.state.throttled = True  # a token spent, to give back if the grant is revoked
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


async def _grant_stands(request: Request, claims: AccessClaims) -> bool:
    """The grant is checked in the database at every request, on a connection of its own
    given back (nothing to commit) before the route reads a body or starts its unit of
    work, so a slow sender holds no pooled connection and no SQLite lock. Revoking the key
    that obtained the token, or disabling or deleting the client, ends the token at once
    in every process. On PostgreSQL it runs on the event loop, taking no thread."""
    pool = request.app.state.read_pool
    if pool is None:
        return await run_in_threadpool(_grant_stands_on_engine, request.app.state.engine, claims)
    async with pool.connection() as connection:
        return await token_is_current_async(connection=connection, claims=claims)


def _grant_stands_on_engine(engine: Engine, claims: AccessClaims) -> bool:
    with single_read(engine) as connection:
        return token_is_current(session=connection, claims=claims)


def reads_in_one_statement(request: Request) -> ReadPool | None:
    """The pool whose connections read a case page or a case, check the token's grant and
    audit the read all in one statement (services/cases/audited_reads.py): PostgreSQL with
    the background audit chain. None where reads take a session (api/reads.py)."""
    pool: ReadPool | None = request.app.state.read_pool
    if pool is None or request.app.state.settings.audit_chain != "background":
        return None
    return pool


async def authenticated_by_the_read(
    security_scopes: SecurityScopes,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """`authenticated`, but where reads are one statement the grant is checked by the
    read's own statement, saving a round trip on every case page and case.

    A revoked token is still refused as `authenticated` refuses it: with 401, whatever
    else is wrong with the request. Until the read has answered, any refusal first asks
    the database whether the grant stands (`refusal_for_revoked_grant`, api/errors.py),
    and the token the rate limit took is given back when it does not."""
    if reads_in_one_statement(request) is None:
        return await authenticated(security_scopes, request, credentials)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated()
    claims = request.app.state.verified_tokens.claims(credentials.credentials)
    if claims is None:
        raise Unauthenticated("The access token is missing, expired or not valid.")
    request.state.unconfirmed_grant = claims
    return _admitted(request, claims, security_scopes)


def unconfirmed_grant(request: Request) -> AccessClaims | None:
    """The claims whose grant the request's read still has to check, if any."""
    claims: AccessClaims | None = getattr(request.state, "unconfirmed_grant", None)
    return claims


def grant_confirmed(request: Request) -> None:
    """The database said the unconfirmed grant stands."""
    request.state.unconfirmed_grant = None


def grant_revoked(request: Request, claims: AccessClaims) -> Unauthenticated:
    """The database said it does not: the refusal, and the rate limit's token given back."""
    request.state.unconfirmed_grant = None
    if getattr(request.state, "throttled", False):
        request.app.state.rate_limits.give_back(_throttle_key(request, claims.client_id))
    return Unauthenticated("The access token is missing, expired or not valid.")


async def refusal_for_revoked_grant(request: Request) -> Unauthenticated | None:
    """Before any other refusal of a request whose grant is unconfirmed: 401 if revoked."""
    claims = unconfirmed_grant(request)
    if claims is None:
        return None
    if await _grant_stands(request, claims):
        grant_confirmed(request)
        return None
    return grant_revoked(request, claims)


async def refuse_repeated_query_parameters(request: Request) -> None:
    """`?limit=5000&limit=1` is ambiguous (which one wins differs between layers): refuse it
    (HTTP parameter pollution, ASVS 5.1.1). Async: it only reads the query, so it need not
    take a thread of the pool, as every request would."""
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
    wait = request.app.state.rate_limits.take(_throttle_key(request, who))
    if wait is not None:
        raise RateLimited(wait)


def _throttle_key(request: Request, who: str) -> tuple[str, str, str]:
    """Per caller and endpoint: the route template, so walking ids shares one bucket."""
    route = request.scope.get("route")
    return (who, request.method, getattr(route, "path", request.url.path))


def own_authority(caller: Caller, la_code: str) -> None:
    """An authority's paths exist only for that authority: any other answers 404."""
    if caller.org_code != la_code:
        raise NotFound()


LaCode = Annotated[str, Path(pattern=r"^W060000[0-9]{2}$", description="ONS GSS code.")]
SubmissionWriter = Annotated[Caller, Security(authenticated, scopes=["submissions:write"])]
SubmissionReader = Annotated[Caller, Security(authenticated, scopes=["submissions:read"])]
EducationWriter = Annotated[Caller, Security(authenticated, scopes=["education:write"])]
CmeReader = Annotated[Caller, Security(authenticated, scopes=["cme:read"])]
# Case pages and cases: the grant is checked by the read itself where it is one statement.
CaseReader = Annotated[Caller, Security(authenticated_by_the_read, scopes=["cme:read"])]
CmeWriter = Annotated[Caller, Security(authenticated, scopes=["cme:write"])]
# Changing a case also answers with it, so it needs both.
CaseWorker = Annotated[Caller, Security(authenticated, scopes=["cme:read", "cme:write"])]
StatisticsReader = Annotated[Caller, Security(authenticated, scopes=["statistics:read"])]
