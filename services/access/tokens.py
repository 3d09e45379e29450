"""OAuth 2.0 client credentials with a signed client assertion (RFC 7523), and the
service's own access tokens.

The checks follow the NHS signed-JWT rules: an algorithm allow-list, iss = sub = client_id,
aud = our token endpoint, a lifetime of at most 5 minutes, single-use jti, and the key
looked up by `kid` among the client's registered, non-revoked keys only.

An unknown client, an unknown or revoked key, a disabled client, a key of another type and
a bad signature are one refusal, word for word, and each costs one signature check: the
endpoint does not tell which clients and keys exist.

Access tokens name the key that obtained them and the client's token generation; every
request checks both against the database (`token_is_current`), so revoking the key or
disabling the client ends the token at once. The signature check itself is remembered per
process until the token expires (`VerifiedTokens`): it proves nothing that can change.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from sqlalchemy import Connection, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas.tokens import ASSERTION_TYPE
from services.access.clients import (
    active_key,
    get_client,
    grant_is_current,
    grant_is_current_async,
)
from services.access.jose import registry_for
from services.access.keys import (
    SIGNING_ALGORITHMS,
    PublicKey,
    algorithms_for,
    generate_key_pair,
)
from services.store.async_pool import Rows
from services.store.tables import Client, UsedAssertion

log = logging.getLogger(__name__)

MAX_ASSERTION_SECONDS = 300
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 (RFC 9068 typ, not a secret)
MAX_CLIENT_ID = 64  # the column's length
# The one answer for every assertion whose client, key or signature is not good.
ASSERTION_REFUSED = "Unknown client or key, or the signature does not verify."


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error: rendered as `{"error", "error_description"}`."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def _invalid_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, status=401)


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str
    client_id: str
    org_code: str


@dataclass(frozen=True)
class TokenRequest:
    grant_type: str | None
    client_assertion_type: str | None
    client_assertion: str | None
    scope: str | None


def exchange(
    *,
    session: Session,
    request: TokenRequest,
    service_key: ECKey,
    token_endpoint_url: str,
    issuer: str,
    lifetime_seconds: int,
    leeway_seconds: int,
    now: datetime | None = None,
) -> IssuedToken:
    now = now or datetime.now(UTC)
    if request.grant_type is None:
        raise OAuthError("invalid_request", "grant_type is required.")
    if request.grant_type != "client_credentials":
        raise OAuthError("unsupported_grant_type", "Only client_credentials is supported.")
    if request.client_assertion_type != ASSERTION_TYPE or not request.client_assertion:
        raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}.")
    client, kid, claims = _verify_assertion(
        session=session,
        assertion=request.client_assertion,
        audience=token_endpoint_url,
        leeway=timedelta(seconds=leeway_seconds),
        now=now,
    )
    scopes = _granted_scopes(client, request.scope)
    _spend_jti(session=session, client_id=client.client_id, claims=claims, now=now)
    expires = now + timedelta(seconds=lifetime_seconds)
    token = jwt.encode(
        {"alg": "ES256", "typ": ACCESS_TOKEN_TYPE, "kid": service_key.thumbprint()},
        {
            "iss": issuer,
            "aud": issuer,
            "sub": client.client_id,
            "org": client.org_code,
            "scope": " ".join(scopes),
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": secrets.token_urlsafe(16),
            # What must still hold at each request: this key active, this generation current.
            "client_kid": kid,
            "client_gen": client.token_generation,
        },
        service_key,
        algorithms=["ES256"],
    )
    return IssuedToken(token, lifetime_seconds, " ".join(scopes), client.client_id, client.org_code)


def _unverified_parts(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        parts = assertion.encode("ascii").split(b".")
        if len(parts) != 3:
            raise ValueError("not a compact JWS")
        obj = jws.extract_compact(assertion.encode("ascii"))
        claims = json.loads(obj.payload or b"")
    except (ValueError, UnicodeError, JoseError) as error:
        raise _invalid_client("The client assertion is not a well-formed signed JWT.") from error
    if not isinstance(claims, dict):
        raise _invalid_client("The client assertion's claims are not a JSON object.")
    return dict(obj.protected), claims


def check_protected_header(header: dict[str, Any], *, typ_allowed: set[str]) -> str:
    """Header checks shared by client assertions and submission signatures; returns the alg."""
    alg = header.get("alg")
    if alg not in SIGNING_ALGORITHMS:
        raise ValueError(f"alg must be one of {', '.join(SIGNING_ALGORITHMS)}")
    if "crit" in header:
        raise ValueError("no critical header parameters are understood")
    if not isinstance(header.get("kid"), str):
        raise ValueError("kid is required")
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.upper() not in typ_allowed):
        raise ValueError("unexpected typ")
    return str(alg)


def _verify_assertion(
    *, session: Session, assertion: str, audience: str, leeway: timedelta, now: datetime
) -> tuple[Client, str, dict[str, Any]]:
    header, unverified = _unverified_parts(assertion)
    try:
        alg = check_protected_header(header, typ_allowed={"JWT"})
    except ValueError as error:
        raise _invalid_client(f"Client assertion header refused: {error}.") from error
    issuer, kid = _claimed_client(unverified), str(header["kid"])
    key = None if issuer is None else active_key(session=session, client_id=issuer, kid=kid)
    usable = key is not None and alg in algorithms_for(key)
    # Without a usable key the signature is still checked, against a key nobody holds, so
    # an unknown client or key costs what a bad signature costs and answers the same.
    checked_with = key if key is not None and usable else _decoy_key(alg)
    try:
        claims = jwt.decode(assertion, checked_with, registry=registry_for(alg)).claims
    except JoseError as error:
        raise _invalid_client(ASSERTION_REFUSED) from error
    client = get_client(session=session, client_id=issuer) if issuer and usable else None
    if client is None:
        raise _invalid_client(ASSERTION_REFUSED)
    _check_claims(claims, client_id=client.client_id, audience=audience, leeway=leeway, now=now)
    return client, kid, claims


def _claimed_client(claims: dict[str, Any]) -> str | None:
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) and 0 < len(issuer) <= MAX_CLIENT_ID else None


def claimed_client_id(assertion: str | None) -> str | None:
    """The client an assertion claims to come from (its unverified `iss`), if any: what
    the token endpoint counts refusals against."""
    try:
        return _claimed_client(_unverified_parts(assertion or "")[1])
    except OAuthError:
        return None


_KEY_KINDS: dict[str, Literal["ec", "ed25519", "rsa"]] = {
    "ES256": "ec",
    "EdDSA": "ed25519",
    "RS256": "rsa",
    "PS256": "rsa",
}


@cache
def _decoy_key(alg: str) -> PublicKey:
    """A public key of the algorithm's type whose private key was thrown away (made once
    per process and type)."""
    return generate_key_pair(_KEY_KINDS[alg])[1]


def _check_claims(
    claims: dict[str, Any], *, client_id: str, audience: str, leeway: timedelta, now: datetime
) -> None:
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise _invalid_client("iss and sub must both be the client_id.")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in audiences:
        raise _invalid_client(f"aud must be the token endpoint URL, {audience}.")
    issued, expires = _numeric_date(claims.get("iat")), _numeric_date(claims.get("exp"))
    if issued is None or expires is None:
        raise _invalid_client("iat and exp are required numeric dates.")
    if expires - issued > timedelta(seconds=MAX_ASSERTION_SECONDS) or expires <= issued:
        raise _invalid_client("exp must be after iat and at most 5 minutes after it.")
    if expires + leeway <= now:
        raise _invalid_client("The client assertion has expired.")
    if issued - leeway > now:
        raise _invalid_client("The client assertion is issued in the future.")
    not_before = _numeric_date(claims.get("nbf", claims.get("iat")))
    if not_before is None or not_before - leeway > now:
        raise _invalid_client("The client assertion is not yet valid.")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 1 <= len(jti) <= 255:
        raise _invalid_client("jti is required (1-255 characters).")


# NumericDates outside these years are refused before any date arithmetic can overflow.
_EARLIEST, _LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


def _numeric_date(value: object) -> datetime | None:
    """A JWT NumericDate as an aware datetime, or None when absent, not a number or absurd."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        moment = datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment if _EARLIEST <= moment <= _LATEST else None


def _granted_scopes(client: Client, requested: str | None) -> list[str]:
    if requested is None or not requested.strip():
        return list(client.scopes)
    wanted = requested.split()
    if not set(wanted) <= set(client.scopes):
        raise OAuthError("invalid_scope", "The requested scope exceeds the client's scopes.")
    return sorted(set(wanted))


def _spend_jti(*, session: Session, client_id: str, claims: dict[str, Any], now: datetime) -> None:
    """Record the jti; a reuse violates the primary key. Rows live until the assertion expires."""
    session.execute(
        delete(UsedAssertion).where(UsedAssertion.expires_at < now - timedelta(hours=1))
    )
    expires = datetime.fromtimestamp(claims["exp"], UTC) + timedelta(hours=1)  # checked above
    try:
        with session.begin_nested():
            session.add(UsedAssertion(client_id=client_id, jti=claims["jti"], expires_at=expires))
    except IntegrityError as error:
        raise _invalid_client("This client assertion (jti) has already been used.") from error


@dataclass(frozen=True)
class AccessClaims:
    client_id: str
    org_code: str
    scopes: frozenset[str]
    # The key whose assertion obtained the token, and the client's generation then.
    kid: str
    generation: int


def verify_access_token(
    token: str, *, service_key: ECKey, issuer: str, now: datetime | None = None
) -> AccessClaims | None:
    """The claims of one of our own valid access tokens, or None."""
    verified = _verify_access_token(token, service_key=service_key, issuer=issuer, now=now)
    return None if verified is None else verified[0]


def _verify_access_token(
    token: str, *, service_key: ECKey, issuer: str, now: datetime | None
) -> tuple[AccessClaims, datetime] | None:
    """The claims of one of our own valid access tokens and when it expires, or None."""
    now = now or datetime.now(UTC)
    try:
        decoded = jwt.decode(token, service_key, algorithms=["ES256"])
    except (JoseError, ValueError, UnicodeError):
        return None
    header, claims = decoded.header, decoded.claims
    if header.get("typ") != ACCESS_TOKEN_TYPE or "crit" in header:
        return None
    expires = _numeric_date(claims.get("exp"))
    if claims.get("iss") != issuer or claims.get("aud") != issuer or expires is None:
        return None
    if expires <= now:
        return None
    sub, org, scope = claims.get("sub"), claims.get("org"), claims.get("scope")
    kid, generation = claims.get("client_kid"), claims.get("client_gen")
    if not (isinstance(sub, str) and isinstance(org, str) and isinstance(scope, str)):
        return None
    if not isinstance(kid, str) or not isinstance(generation, int) or isinstance(generation, bool):
        return None
    return AccessClaims(sub, org, frozenset(scope.split()), kid, generation), expires


class VerifiedTokens:
    """Access tokens this process has verified, until each expires: a client sends the
    same token with every request for up to 15 minutes, and checking its signature again
    each time costs more than the rest of a small request.

    Only what the token itself proves is kept (its claims, keyed by the token's SHA-256,
    never the token), so whether the grant still stands (`token_is_current`) is still
    asked of the database at every request: revoking or disabling ends the token at once.
    Bounded: past `max_entries` the least recently used are forgotten."""

    def __init__(self, *, service_key: ECKey, issuer: str, max_entries: int = 10_000) -> None:
        self.service_key, self.issuer, self.max_entries = service_key, issuer, max_entries
        self._verified: OrderedDict[bytes, tuple[AccessClaims, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def claims(self, token: str, now: datetime | None = None) -> AccessClaims | None:
        """As `verify_access_token`, from memory when this token was verified before."""
        now = now or datetime.now(UTC)
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            known = self._verified.get(digest)
            if known is not None:
                self._verified.move_to_end(digest)
        if known is not None:
            claims, expires = known
            return claims if now < expires else None
        verified = _verify_access_token(
            token, service_key=self.service_key, issuer=self.issuer, now=now
        )
        if verified is None:
            return None
        with self._lock:
            self._verified[digest] = verified
            while len(self._verified) > self.max_entries:
                self._verified.popitem(last=False)
        return verified[0]


def token_is_current(*, session: Session | Connection, claims: AccessClaims) -> bool:
    """Whether the client still exists in the token's organisation, is not disabled, is in
    the token's generation, and the key that obtained the token is not revoked."""
    return grant_is_current(
        session=session,
        client_id=claims.client_id,
        org_code=claims.org_code,
        kid=claims.kid,
        generation=claims.generation,
    )


async def token_is_current_async(*, connection: Rows, claims: AccessClaims) -> bool:
    """`token_is_current` on an event-loop connection (services/store/async_pool.py)."""
    return await grant_is_current_async(
        connection=connection,
        client_id=claims.client_id,
        org_code=claims.org_code,
        kid=claims.kid,
        generation=claims.generation,
    )
