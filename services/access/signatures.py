"""Detached JWS over submission bodies (RFC 7515 appendix F).

Verified over the exact bytes received, before anything parses them: a body that does not
verify is never read. The key is the calling client's registered key named by `kid`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, cast

from joserfc.errors import JoseError
from sqlalchemy.orm import Session

from services.access.clients import active_key
from services.access.jose import registry_for
from services.access.keys import algorithms_for
from services.access.tokens import check_protected_header
from services.errors import SignatureInvalid

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
    algorithm = registry_for(alg).get_alg(alg)
    algorithm.check_key(key)
    # joserfc's compact-JWS path makes several copies of the base64url body; for 200 MB
    # extracts the signing input is built once here and handed to the same algorithm.
    signing_input = cast(bytes, _signing_input(parts[0], body))  # any buffer will do
    try:
        verified = algorithm.verify(signing_input, _b64url_decode(parts[2]), key)
    except (ValueError, JoseError):
        verified = False
    if not verified:
        raise SignatureInvalid("The signature does not verify over the body.")
    return str(header["kid"])


_B64_CHUNK = 3 * (1 << 18)  # a multiple of 3, so only the last chunk can carry padding
_B64URL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _signing_input(header_segment: str, body: bytes) -> bytearray:
    """ASCII(header) || '.' || BASE64URL(body), RFC 7515 section 5.2."""
    signing_input = bytearray(header_segment.encode("ascii"))
    signing_input += b"."
    view = memoryview(body)
    for start in range(0, len(body), _B64_CHUNK):
        signing_input += base64.urlsafe_b64encode(view[start : start + _B64_CHUNK])
    while signing_input.endswith(b"="):
        del signing_input[-1]
    return signing_input


def _b64url_decode(segment: str) -> bytes:
    if not segment or not set(segment.encode("ascii", "replace")) <= _B64URL:
        raise SignatureInvalid("The signature is not base64url.", "signature_malformed")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


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
