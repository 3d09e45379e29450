"""Detached JWS over submission bodies (RFC 7515 appendix F).

Verified over the exact bytes received, before anything parses them: a body that does not
verify is never read. The key is the calling client's registered key named by `kid`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from sqlalchemy.orm import Session

from services.clients import active_key
from services.errors import SignatureInvalid
from services.jose import registry_for
from services.keys import algorithms_for
from services.tokens import check_protected_header

SIGNATURE_HEADER = "X-JWS-Signature"


def verify_detached(*, session: Session, client_id: str, signature: str | None, body: bytes) -> str:
    """Check `signature` over `body` with the client's key; return the kid that signed."""
    if not signature:
        raise SignatureInvalid(f"The {SIGNATURE_HEADER} header is required.", "signature_missing")
    parts = signature.strip().split(".")
    if len(parts) != 3 or parts[1] != "" or not parts[0] or not parts[2]:
        raise SignatureInvalid(
            "The signature must be a detached compact JWS: header..signature.",
            "signature_malformed",
        )
    header = _decode_header(parts[0])
    try:
        alg = check_protected_header(header, typ_allowed={"JOSE"})
    except ValueError as error:
        raise SignatureInvalid(
            f"Signature header refused: {error}.", "signature_refused"
        ) from error
    if "b64" in header:
        raise SignatureInvalid("Unencoded payloads (b64) are not accepted.", "signature_refused")
    key = active_key(session=session, client_id=client_id, kid=header["kid"])
    if key is None:
        raise SignatureInvalid(
            "The kid is not an active key of this client.", "signature_unknown_key"
        )
    if alg not in algorithms_for(key):
        raise SignatureInvalid("The algorithm does not match the key.", "signature_refused")
    registry = registry_for(alg, max_payload_bytes=len(body) * 2 + 16)
    try:
        jws.deserialize_compact(signature.strip(), key, registry=registry, payload=body)
    except JoseError as error:
        raise SignatureInvalid("The signature does not verify over the body.") from error
    return str(header["kid"])


def _decode_header(segment: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        header = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeError) as error:
        raise SignatureInvalid(
            "The signature header is not valid.", "signature_malformed"
        ) from error
    if not isinstance(header, dict):
        raise SignatureInvalid("The signature header is not a JSON object.", "signature_malformed")
    return header
