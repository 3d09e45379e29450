"""Client public keys: parsing, the key policy, key ids and algorithm compatibility.

Registered keys are the only keys a client's signatures are checked with: key material in
a JOSE header (`jwk`, `jku`, `x5u`, `x5c`) is never consulted.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey

from services.errors import ServiceError

PublicKey = ECKey | OKPKey | RSAKey
SigningAlgorithm = Literal["ES256", "RS256", "PS256", "EdDSA"]
SIGNING_ALGORITHMS: tuple[SigningAlgorithm, ...] = ("ES256", "RS256", "PS256", "EdDSA")
MIN_RSA_BITS = 3072


class KeyRefused(ServiceError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, status=400, code="key_refused", title="Key refused")


def load_public_key(text: str) -> PublicKey:
    """Parse a PEM public key or a public JWK document and apply the key policy."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return _from_jwk(stripped)
    if "PRIVATE KEY" in stripped:
        raise KeyRefused("A private key was given; register the public key only.")
    try:
        native = serialization.load_pem_public_key(stripped.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as error:
        raise KeyRefused("Not a PEM public key or JWK document.") from error
    return _from_native(native)


def _from_jwk(text: str) -> PublicKey:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise KeyRefused("The JWK document is not valid JSON.") from error
    if not isinstance(document, dict):
        raise KeyRefused("The JWK document must be a JSON object.")
    if "d" in document or "p" in document:
        raise KeyRefused("A private key was given; register the public key only.")
    kty = document.get("kty")
    parameters = {k: document[k] for k in ("kty", "crv", "x", "y", "n", "e") if k in document}
    key: PublicKey
    try:
        if kty == "EC":
            key = ECKey.import_key(parameters)
        elif kty == "OKP":
            key = OKPKey.import_key(parameters)
        elif kty == "RSA":
            key = RSAKey.import_key(parameters)
        else:
            raise KeyRefused(
                "Only EC P-256, Ed25519 and RSA (3072 bits or more) keys are accepted."
            )
    except (ValueError, KeyError, TypeError, JoseError) as error:
        raise KeyRefused("The JWK document is not a valid public key.") from error
    _check_policy(key)
    return key


def _from_native(native: Any) -> PublicKey:
    key: PublicKey
    if isinstance(native, ec.EllipticCurvePublicKey):
        key = ECKey.import_key(native)
    elif isinstance(native, ed25519.Ed25519PublicKey):
        key = OKPKey.import_key(native)
    elif isinstance(native, rsa.RSAPublicKey):
        key = RSAKey.import_key(native)
    else:
        raise KeyRefused("Only EC P-256, Ed25519 and RSA (3072 bits or more) keys are accepted.")
    _check_policy(key)
    return key


def _check_policy(key: PublicKey) -> None:
    native = key.public_key
    if isinstance(key, ECKey):
        if not isinstance(native, ec.EllipticCurvePublicKey) or native.curve.name != "secp256r1":
            raise KeyRefused("EC keys must be on curve P-256 (ES256).")
    elif isinstance(key, OKPKey):
        if not isinstance(native, ed25519.Ed25519PublicKey):
            raise KeyRefused("OKP keys must be Ed25519 (EdDSA).")
    elif not isinstance(native, rsa.RSAPublicKey) or native.key_size < MIN_RSA_BITS:
        raise KeyRefused(f"RSA keys must have at least {MIN_RSA_BITS} bits.")


def key_id(key: PublicKey) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url): the `kid` clients must send."""
    return key.thumbprint()


def public_jwk(key: PublicKey) -> dict[str, Any]:
    document: dict[str, Any] = key.as_dict(private=False)
    document["kid"] = key_id(key)
    return document


def import_registered_key(document: dict[str, Any]) -> PublicKey:
    parameters = {k: v for k, v in document.items() if k != "kid"}
    kty = parameters.get("kty")
    if kty == "EC":
        return ECKey.import_key(parameters)
    if kty == "OKP":
        return OKPKey.import_key(parameters)
    return RSAKey.import_key(parameters)


def algorithms_for(key: PublicKey) -> tuple[SigningAlgorithm, ...]:
    """Which of the allowed algorithms a key may be used with (no cross-type confusion)."""
    if isinstance(key, ECKey):
        return ("ES256",)
    if isinstance(key, OKPKey):
        return ("EdDSA",)
    return ("RS256", "PS256")


def generate_key_pair(kind: Literal["ec", "ed25519", "rsa"] = "ec") -> tuple[str, PublicKey]:
    """A new key pair for an integrator: (private key PEM, public key)."""
    private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    if kind == "ec":
        private = ec.generate_private_key(ec.SECP256R1())
    elif kind == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return pem, _from_native(private.public_key())


def load_private_key(pem: str) -> tuple[ECKey | OKPKey | RSAKey, SigningAlgorithm]:
    """A signer's private key and the algorithm it signs with (for `cme push` and tests)."""
    native = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if isinstance(native, ec.EllipticCurvePrivateKey):
        return ECKey.import_key(native), "ES256"
    if isinstance(native, ed25519.Ed25519PrivateKey):
        return OKPKey.import_key(native), "EdDSA"
    if isinstance(native, rsa.RSAPrivateKey):
        return RSAKey.import_key(native), "PS256"
    raise KeyRefused("Unsupported private key type.")
