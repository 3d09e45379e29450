"""Signing officers in at their council's OpenID Connect provider.

The authorization code flow with PKCE (S256), `state` against cross-site request forgery
and `nonce` against a replayed ID token. The provider is found by discovery at
`{issuer}/.well-known/openid-configuration`; the ID token's signature is checked against
the provider's published keys, and its `iss`, `aud`, `exp` and `nonce`. Only the `sub`
claim is used: who the person is comes from the officers registered with `cme officers add`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

# Asymmetric signatures only: never `none`, never a secret shared with the client.
ID_TOKEN_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
CLOCK_LEEWAY_SECONDS = 60
TIMEOUT_SECONDS = 10


class SignInFailed(Exception):
    """The provider's answer could not sign anyone in. The message names the step, for the
    log: never a token or a claim."""


@dataclass(frozen=True)
class Provider:
    issuer: str
    client_id: str
    client_secret: str | None
    redirect_uri: str


@dataclass(frozen=True)
class PendingSignIn:
    """What the browser keeps between the redirect to the provider and its return."""

    state: str
    nonce: str
    code_verifier: str

    @classmethod
    def new(cls) -> PendingSignIn:
        return cls(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(64),
        )

    def serialise(self) -> str:
        return f"{self.state}.{self.nonce}.{self.code_verifier}"

    @classmethod
    def parse(cls, value: str | None) -> PendingSignIn | None:
        parts = (value or "").split(".")
        if len(parts) != 3 or not all(parts):
            return None
        return cls(*parts)

    def state_matches(self, state: str | None) -> bool:
        return state is not None and hmac.compare_digest(self.state, state)


def code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def discover(provider: Provider, *, http: httpx.Client) -> dict[str, Any]:
    url = f"{provider.issuer.rstrip('/')}/.well-known/openid-configuration"
    document = _get_json(http, url, "discovery")
    if document.get("issuer") != provider.issuer:
        raise SignInFailed("discovery names another issuer than CME_OIDC_ISSUER")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(name), str):
            raise SignInFailed(f"discovery lacks {name}")
    return document


def authorization_url(
    provider: Provider, *, discovery: dict[str, Any], pending: PendingSignIn
) -> str:
    query = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": provider.redirect_uri,
        "scope": "openid",
        "state": pending.state,
        "nonce": pending.nonce,
        "code_challenge": code_challenge(pending.code_verifier),
        "code_challenge_method": "S256",
    }
    endpoint = discovery["authorization_endpoint"]
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{urlencode(query)}"


def signed_in_subject(
    provider: Provider,
    *,
    discovery: dict[str, Any],
    pending: PendingSignIn,
    code: str,
    http: httpx.Client,
) -> str:
    """Exchange the code for tokens and return the ID token's `sub`, once it is proved."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": provider.redirect_uri,
        "code_verifier": pending.code_verifier,
    }
    auth: httpx.BasicAuth | None = None
    methods = discovery.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if provider.client_secret is not None and "client_secret_basic" in methods:
        auth = httpx.BasicAuth(provider.client_id, provider.client_secret)
    else:
        form["client_id"] = provider.client_id
        if provider.client_secret is not None:
            form["client_secret"] = provider.client_secret
    try:
        answer = http.post(
            discovery["token_endpoint"], data=form, auth=auth or httpx.USE_CLIENT_DEFAULT
        )
    except httpx.HTTPError as error:
        raise SignInFailed(f"token endpoint unreachable: {type(error).__name__}") from None
    if answer.status_code != 200:
        raise SignInFailed(f"token endpoint answered {answer.status_code}")
    try:
        id_token = answer.json()["id_token"]
    except (ValueError, KeyError, TypeError):
        raise SignInFailed("token endpoint answered without an id_token") from None
    keys = KeySet.import_key_set(_get_json(http, discovery["jwks_uri"], "jwks"))  # type: ignore[arg-type]
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ID_TOKEN_ALGORITHMS))
        JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": provider.issuer},
            aud={"essential": True, "value": provider.client_id},
            exp={"essential": True},
            nonce={"essential": True, "value": pending.nonce},
            sub={"essential": True},
        ).validate(token.claims)
    except (JoseError, ValueError) as error:
        raise SignInFailed(f"ID token refused: {type(error).__name__}") from None
    subject = token.claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise SignInFailed("ID token without a sub")
    return subject


def _get_json(http: httpx.Client, url: str, what: str) -> dict[str, Any]:
    try:
        answer = http.get(url)
        answer.raise_for_status()
        document = answer.json()
    except (httpx.HTTPError, ValueError) as error:
        raise SignInFailed(f"{what} failed: {type(error).__name__}") from None
    if not isinstance(document, dict):
        raise SignInFailed(f"{what} is not a JSON object")
    return document
