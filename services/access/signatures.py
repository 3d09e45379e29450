"""Detached JWS over submission bodies (RFC 7515 appendix F).

Verified over the exact bytes received, before anything parses them: a body that does not
verify is never read. The signing input is digested while the body arrives
(`SigningInput`). The key is the calling client's registered key named by `kid`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import mmap
import tempfile
from typing import Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature
from joserfc.errors import JoseError
from sqlalchemy.orm import Session

from services.access.clients import active_key
from services.access.jose import registry_for
from services.access.keys import PublicKey, algorithms_for
from services.access.tokens import check_protected_header
from services.errors import SignatureInvalid

SIGNATURE_HEADER = "X-JWS-Signature"


def verify_detached(
    *, session: Session, client_id: str, signature: str | None, signed: SigningInput | None
) -> str:
    """Check `signature` with the client's key over the body `signed` has taken in (see
    `SigningInput.for_signature`); return the kid that signed."""
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
    if signed is None or signed.alg != alg:  # pragma: no cover - same header, same parse
        raise SignatureInvalid("The signature does not verify over the body.")
    try:
        verified = signed.verify(_b64url_decode(parts[2]), key)
    except (ValueError, JoseError):
        verified = False
    if not verified:
        raise SignatureInvalid("The signature does not verify over the body.")
    return str(header["kid"])


_B64URL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class SigningInput:
    """ASCII(header) || '.' || BASE64URL(body) (RFC 7515 section 5.2), taken in as the body
    arrives, so the body is never held whole to be verified.

    ES256, RS256 and PS256 sign a SHA-256 digest: the signing input is hashed on the way
    and verified prehashed. Ed25519 cannot be prehashed (it hashes its input twice), so for
    EdDSA the signing input goes to a temporary file and is verified over a read-only
    memory map of it: clean page-cache pages the kernel can drop, not the process's heap.
    """

    def __init__(self, header_segment: str, alg: str) -> None:
        self.alg = alg
        self._carry = b""  # base64 encodes 3 bytes at a time: 0-2 bytes wait for the next
        self._digest = hashlib.sha256() if alg != "EdDSA" else None
        # Closed by `close`, once the signature is checked.
        self._spool = tempfile.TemporaryFile() if alg == "EdDSA" else None  # noqa: SIM115
        self._take(header_segment.encode("ascii") + b".")

    @classmethod
    def for_signature(cls, signature: str | None) -> SigningInput | None:
        """The signing input of `signature`'s header, or None when that header cannot be read
        (`verify_detached` then refuses it, saying why)."""
        segment = (signature or "").strip().split(".")[0]
        try:
            alg = check_protected_header(_decode_header(segment), typ_allowed={"JOSE"})
            segment.encode("ascii")
        except (SignatureInvalid, ValueError):
            return None
        return cls(segment, alg)

    def update(self, body_part: bytes) -> None:
        pending = self._carry + body_part if self._carry else body_part
        aligned = len(pending) - len(pending) % 3
        self._take(base64.urlsafe_b64encode(pending[:aligned]))
        self._carry = pending[aligned:]

    def finish(self) -> None:
        """Take in the last 0-2 bytes, unpadded (base64url without '=')."""
        self._take(base64.urlsafe_b64encode(self._carry).rstrip(b"="))
        self._carry = b""

    def verify(self, signature: bytes, key: PublicKey) -> bool:
        native = key.get_op_key("verify")
        try:
            if self._spool is not None:
                self._spool.flush()
                mapped = mmap.mmap(self._spool.fileno(), 0, access=mmap.ACCESS_READ)
                with mapped, memoryview(mapped) as message:
                    cast(ed25519.Ed25519PublicKey, native).verify(signature, message)
                return True
            assert self._digest is not None
            digest, prehashed = self._digest.digest(), Prehashed(hashes.SHA256())
            if self.alg == "ES256":
                if len(signature) != 64:
                    return False
                der = encode_dss_signature(
                    int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                )
                cast(ec.EllipticCurvePublicKey, native).verify(der, digest, ec.ECDSA(prehashed))
            else:
                scheme = (
                    padding.PKCS1v15()
                    if self.alg == "RS256"
                    else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
                )
                cast(rsa.RSAPublicKey, native).verify(signature, digest, scheme, prehashed)
        except (InvalidSignature, TypeError):
            return False
        return True

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()

    def _take(self, encoded: bytes) -> None:
        if self._spool is not None:
            self._spool.write(encoded)
        else:
            assert self._digest is not None
            self._digest.update(encoded)


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
