"""What a client signs: client assertions (RFC 7523) and detached JWS over bodies.

Used by `cme push`, `cme pull` and the tests; the service side lives in services/.
"""

from __future__ import annotations

import base64
import time
import uuid

from joserfc import jws, jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from services.access.jose import registry_for
from services.access.keys import SigningAlgorithm

PrivateKey = ECKey | OKPKey | RSAKey
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def client_assertion(
    *,
    key: PrivateKey,
    alg: SigningAlgorithm,
    client_id: str,
    token_url: str,
    lifetime_seconds: int = 60,
    now: float | None = None,
) -> str:
    issued = int(now if now is not None else time.time())
    return jwt.encode(
        {"alg": alg, "kid": key.thumbprint(), "typ": "JWT"},
        {
            "iss": client_id,
            "sub": client_id,
            "aud": token_url,
            "jti": str(uuid.uuid4()),
            "iat": issued,
            "exp": issued + lifetime_seconds,
        },
        key,
        registry=registry_for(alg),
    )


def detached_signature(*, key: PrivateKey, alg: SigningAlgorithm, body: bytes) -> str:
    """`header..signature` over the exact body bytes (RFC 7515 appendix F)."""
    registry = registry_for(alg, max_payload_bytes=len(body) * 2 + 16)
    compact = jws.serialize_compact(
        {"alg": alg, "kid": key.thumbprint()}, body, key, registry=registry
    )
    return jws.detach_content(compact)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
