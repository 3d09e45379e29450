"""The client key policy and key ids (services.keys): pure, no database."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from functools import cache

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519
from joserfc.jwk import ECKey, OKPKey, RSAKey

from services.access.keys import KeyRefused, key_id, load_public_key, public_jwk

PrivateNative = (
    ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | rsa.RSAPrivateKey
    | x25519.X25519PrivateKey
)

# RFC 7638 section 3.1: the example RSA key and its SHA-256 thumbprint.
RFC7638_KEY: dict[str, str | list[str]] = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc"
    "_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0"
    "_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhA"
    "I4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@cache
def _private(kind: str) -> PrivateNative:
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "x25519":
        return x25519.X25519PrivateKey.generate()
    if kind == "rsa3072":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    if kind == "rsa2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise AssertionError(kind)


def public_pem(kind: str) -> str:
    return (
        _private(kind)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def private_pem(kind: str, fmt: serialization.PrivateFormat) -> str:
    return (
        _private(kind)
        .private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
        .decode("ascii")
    )


def public_jwk_text(kind: str) -> str:
    native = _private(kind).public_key()
    key: ECKey | OKPKey | RSAKey
    if isinstance(native, ec.EllipticCurvePublicKey):
        key = ECKey.import_key(native)
    elif isinstance(native, ed25519.Ed25519PublicKey):
        key = OKPKey.import_key(native)
    elif isinstance(native, rsa.RSAPublicKey):
        key = RSAKey.import_key(native)
    else:
        raise AssertionError(kind)
    return json.dumps(key.as_dict(private=False))


def private_jwk_text(kind: str) -> str:
    native = _private(kind)
    assert isinstance(native, ec.EllipticCurvePrivateKey)
    return json.dumps(ECKey.import_key(native).as_dict(private=True))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize(
    ("make_text", "key_type"),
    [
        pytest.param(lambda: public_pem("p256"), ECKey, id="p256-pem"),
        pytest.param(lambda: public_pem("ed25519"), OKPKey, id="ed25519-pem"),
        pytest.param(lambda: public_pem("rsa3072"), RSAKey, id="rsa3072-pem"),
        pytest.param(lambda: public_jwk_text("p256"), ECKey, id="p256-jwk"),
        pytest.param(lambda: public_jwk_text("ed25519"), OKPKey, id="ed25519-jwk"),
        pytest.param(lambda: public_jwk_text("rsa3072"), RSAKey, id="rsa3072-jwk"),
    ],
)
def test_policy_keys_are_accepted(make_text: Callable[[], str], key_type: type) -> None:
    key = load_public_key(make_text())

    assert isinstance(key, key_type)
    assert not key.is_private


def _jwk_without(member: str) -> str:
    document = json.loads(public_jwk_text("p256"))
    del document[member]
    return json.dumps(document)


@pytest.mark.parametrize(
    "make_text",
    [
        pytest.param(lambda: public_pem("rsa2048"), id="rsa2048-pem"),
        pytest.param(lambda: public_jwk_text("rsa2048"), id="rsa2048-jwk"),
        pytest.param(lambda: public_pem("p384"), id="p384-pem"),
        pytest.param(lambda: public_jwk_text("p384"), id="p384-jwk"),
        pytest.param(lambda: public_pem("x25519"), id="x25519-pem"),
        pytest.param(
            lambda: private_pem("p256", serialization.PrivateFormat.PKCS8), id="private-pkcs8-pem"
        ),
        pytest.param(
            lambda: private_pem("p256", serialization.PrivateFormat.TraditionalOpenSSL),
            id="private-sec1-pem",
        ),
        pytest.param(lambda: private_jwk_text("p256"), id="private-jwk-with-d"),
        pytest.param(
            lambda: json.dumps({"kty": "oct", "k": b64url(b"0123456789abcdef0123456789abcdef")}),
            id="hmac-oct-jwk",
        ),
        pytest.param(lambda: "", id="empty"),
        pytest.param(lambda: "not a key", id="garbage"),
        pytest.param(lambda: "{", id="broken-json"),
        pytest.param(lambda: "[]", id="json-array"),
        pytest.param(
            lambda: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            id="broken-pem",
        ),
    ],
)
def test_keys_outside_the_policy_are_refused(make_text: Callable[[], str]) -> None:
    with pytest.raises(KeyRefused):
        load_public_key(make_text())


@pytest.mark.parametrize(
    "make_text",
    [
        pytest.param(lambda: _jwk_without("x"), id="ec-without-x"),
        pytest.param(lambda: _jwk_without("y"), id="ec-without-y"),
        pytest.param(lambda: '{"kty": "OKP", "crv": "Ed25519"}', id="okp-without-x"),
        pytest.param(lambda: '{"kty": "RSA", "e": "AQAB"}', id="rsa-without-n"),
    ],
)
def test_incomplete_jwk_is_refused_as_a_key_refusal(make_text: Callable[[], str]) -> None:
    # An integrator's truncated JWK must be a clean KeyRefused (CLI exit 2 with a message),
    # not a library exception escaping as a traceback.
    with pytest.raises(KeyRefused):
        load_public_key(make_text())


def test_key_id_is_the_rfc7638_thumbprint_of_the_rfc_example_key() -> None:
    assert key_id(RSAKey.import_key(RFC7638_KEY)) == RFC7638_THUMBPRINT


def test_key_id_of_an_ec_key_is_the_sha256_of_its_required_members() -> None:
    document = json.loads(public_jwk_text("p256"))
    canonical = json.dumps(
        {name: document[name] for name in ("crv", "kty", "x", "y")}, separators=(",", ":")
    )

    expected = b64url(hashlib.sha256(canonical.encode("utf-8")).digest())

    assert key_id(load_public_key(public_jwk_text("p256"))) == expected


@pytest.mark.parametrize("kind", ["p256", "ed25519", "rsa3072"])
def test_key_id_does_not_depend_on_pem_or_jwk_form(kind: str) -> None:
    from_pem = load_public_key(public_pem(kind))
    from_jwk = load_public_key(public_jwk_text(kind))

    assert key_id(from_pem) == key_id(from_jwk)
    assert public_jwk(from_pem)["kid"] == key_id(from_pem)
