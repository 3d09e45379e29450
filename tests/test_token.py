"""POST /oauth2/token (RFC 7523 client assertions) and bearer access tokens, over HTTP.

Refusals are checked against a hand-signed control assertion that is accepted, so each
refused variant differs from a good one only in the property under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from cli.signing import ASSERTION_TYPE, b64url, client_assertion
from services.access.clients import disable_client, revoke_key
from services.access.keys import SigningAlgorithm, generate_key_pair, load_private_key
from services.access.tokens import TokenRequest, exchange
from services.caller import Caller
from services.settings import Settings
from services.store.tables import AuditEvent, UsedAssertion
from tests.factories import (
    TOKEN_URL,
    Credentials,
    access_token,
    encode,
    health_record,
    make_client,
    post_submission,
    submission_body,
    token_form,
)

ISSUER = "http://testserver"
BOARD_SCOPES = ["submissions:read", "submissions:write"]
PublicForm = Literal["pem", "der", "jwk"]


# Building assertions by hand ------------------------------------------------------------


def _segment(document: object) -> str:
    return b64url(json.dumps(document, separators=(",", ":")).encode("utf-8"))


def es256_sign(header: dict[str, Any], claims: dict[str, Any], key: ECKey) -> str:
    """A compact ES256 JWS exactly as given (no header added or checked by a library)."""
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    native = key.private_key
    assert isinstance(native, ec.EllipticCurvePrivateKey)
    r, s = decode_dss_signature(
        native.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    )
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def hs256_sign(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def claims_for(client_id: str, **overrides: object) -> dict[str, Any]:
    """Good assertion claims; an override of None removes the claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 60,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def header_for(kid: str, **extra: object) -> dict[str, Any]:
    return {"alg": "ES256", "kid": kid, "typ": "JWT", **extra}


def ec_key(credentials: Credentials) -> ECKey:
    assert isinstance(credentials.key, ECKey)
    return credentials.key


def public_key_bytes(credentials: Credentials, form: PublicForm) -> bytes:
    native = ec_key(credentials).private_key
    assert native is not None
    public = native.public_key()
    if form == "pem":
        return public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    if form == "der":
        return public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    document = ec_key(credentials).as_dict(private=False)
    document["kid"] = credentials.kid
    return json.dumps(document).encode("utf-8")


def _decode_segment(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def assertion_form(assertion: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }


def post_assertion(http: TestClient, assertion: str) -> Response:
    return http.post("/oauth2/token", data=assertion_form(assertion))


def tokens_issued(db: Session) -> int:
    count = db.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "token.issued")
    )
    db.rollback()  # end the read so SQLite's write lock is not held against the app
    return int(count or 0)


def assert_invalid_client(response: Response, db: Session) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "invalid_client"
    assert set(body) <= {"error", "error_description"}
    assert response.headers["cache-control"] == "no-store"
    assert tokens_issued(db) == 0


def receipt_path() -> str:
    return f"/v1/submissions/{uuid.uuid4()}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def other_board(db: Session) -> Credentials:
    credentials = make_client(db, org="7A1", scopes=BOARD_SCOPES)
    db.commit()
    return credentials


# Successful exchanges --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "alg"),
    [("ec", "ES256"), ("ed25519", "EdDSA"), ("rsa", "PS256"), ("rsa", "RS256")],
)
def test_valid_assertion_yields_a_bearer_token_that_authenticates(
    http: TestClient,
    db: Session,
    kind: Literal["ec", "ed25519", "rsa"],
    alg: SigningAlgorithm,
) -> None:
    credentials = replace(make_client(db, org="7A4", scopes=BOARD_SCOPES, kind=kind), alg=alg)
    db.commit()
    with warnings.catch_warnings():
        # Only the service is under test here: the client's signing library may warn that
        # "EdDSA" is deprecated (RFC 9864), but the spec requires clients to send it.
        warnings.simplefilter("ignore", SecurityWarning)
        form = token_form(credentials)
    assert json.loads(_decode_segment(form["client_assertion"].split(".")[0]))["alg"] == alg

    response = http.post("/oauth2/token", data=form)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 900
    assert body["scope"].split() == BOARD_SCOPES
    assert response.headers["cache-control"] == "no-store"
    read = http.get(receipt_path(), headers=bearer(body["access_token"]))
    assert read.status_code == 404, read.text
    assert read.headers["content-type"].startswith("application/problem+json")


def test_hand_signed_control_assertion_is_accepted(
    http: TestClient, board: Credentials, db: Session
) -> None:
    response = post_assertion(
        http, es256_sign(header_for(board.kid), claims_for(board.client_id), ec_key(board))
    )

    assert response.status_code == 200, response.text
    assert tokens_issued(db) == 1


@pytest.mark.parametrize(
    "offsets",
    [
        pytest.param({"iat": 0, "exp": 300}, id="lifetime-exactly-300s"),
        pytest.param({"iat": -100, "exp": -10}, id="expired-within-leeway"),
        pytest.param({"iat": 20, "exp": 80}, id="issued-ahead-within-leeway"),
    ],
)
def test_assertion_at_the_limits_is_accepted(
    http: TestClient, board: Credentials, offsets: dict[str, int]
) -> None:
    now = int(time.time())
    claims = claims_for(board.client_id, **{name: now + delta for name, delta in offsets.items()})

    response = post_assertion(http, es256_sign(header_for(board.kid), claims, ec_key(board)))

    assert response.status_code == 200, response.text


def test_requested_scope_subset_is_granted(http: TestClient, board: Credentials) -> None:
    response = http.post("/oauth2/token", data=token_form(board, scope="submissions:read"))

    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "submissions:read"


@pytest.mark.parametrize(
    "scope", ["cme:read", "submissions:read cme:sensitive", "statistics:read", "admin"]
)
def test_scope_not_held_is_invalid_scope(http: TestClient, board: Credentials, scope: str) -> None:
    response = http.post("/oauth2/token", data=token_form(board, scope=scope))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert "access_token" not in response.json()


# Refused assertions: header and signature --------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_unsigned_alg_none_assertion_is_refused(
    http: TestClient, board: Credentials, db: Session, alg: str
) -> None:
    unsigned = (
        f"{_segment({'alg': alg, 'kid': board.kid})}.{_segment(claims_for(board.client_id))}."
    )

    assert_invalid_client(post_assertion(http, unsigned), db)


@pytest.mark.parametrize("form", ["pem", "der", "jwk"])
def test_hs256_keyed_with_the_clients_public_key_is_refused(
    http: TestClient, board: Credentials, db: Session, form: PublicForm
) -> None:
    forged = hs256_sign(
        {"alg": "HS256", "kid": board.kid, "typ": "JWT"},
        claims_for(board.client_id),
        public_key_bytes(board, form),
    )

    assert_invalid_client(post_assertion(http, forged), db)


def test_unknown_critical_header_is_refused(
    http: TestClient, board: Credentials, db: Session
) -> None:
    header = header_for(board.kid, crit=["x-custom"], **{"x-custom": 1})

    signed = es256_sign(header, claims_for(board.client_id), ec_key(board))

    assert_invalid_client(post_assertion(http, signed), db)


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param("jwk", id="embedded-jwk"),
        pytest.param({"jku": "https://attacker.example/jwks.json"}, id="jku"),
        pytest.param({"x5u": "https://attacker.example/cert.pem"}, id="x5u"),
    ],
)
def test_header_key_material_is_ignored_and_attacker_signature_refused(
    http: TestClient, board: Credentials, db: Session, extra: str | dict[str, str]
) -> None:
    attacker_pem, attacker_public = generate_key_pair("ec")
    attacker, _ = load_private_key(attacker_pem)
    assert isinstance(attacker, ECKey)
    added = {"jwk": attacker_public.as_dict(private=False)} if extra == "jwk" else extra
    assert isinstance(added, dict)

    forged = es256_sign(header_for(board.kid, **added), claims_for(board.client_id), attacker)

    assert_invalid_client(post_assertion(http, forged), db)


def test_signature_by_another_clients_key_with_this_kid_is_refused(
    http: TestClient, board: Credentials, other_board: Credentials, db: Session
) -> None:
    forged = es256_sign(header_for(board.kid), claims_for(board.client_id), ec_key(other_board))

    assert_invalid_client(post_assertion(http, forged), db)


def test_posing_as_another_client_with_own_key_is_refused(
    http: TestClient, board: Credentials, other_board: Credentials, db: Session
) -> None:
    claims = claims_for(other_board.client_id)

    signed = es256_sign(header_for(board.kid), claims, ec_key(board))

    assert_invalid_client(post_assertion(http, signed), db)


def test_iss_of_another_client_with_own_sub_is_refused(
    http: TestClient, board: Credentials, other_board: Credentials, db: Session
) -> None:
    claims = claims_for(board.client_id, iss=other_board.client_id)

    signed = es256_sign(header_for(board.kid), claims, ec_key(board))

    assert_invalid_client(post_assertion(http, signed), db)


@pytest.mark.parametrize(
    "kid",
    [
        pytest.param("no-such-kid", id="made-up"),
        pytest.param(generate_key_pair("ec")[1].thumbprint(), id="unregistered-thumbprint"),
        pytest.param(None, id="missing"),
    ],
)
def test_unknown_or_missing_kid_is_refused(
    http: TestClient, board: Credentials, db: Session, kid: str | None
) -> None:
    header = header_for(board.kid)
    if kid is None:
        del header["kid"]
    else:
        header["kid"] = kid

    signed = es256_sign(header, claims_for(board.client_id), ec_key(board))

    assert_invalid_client(post_assertion(http, signed), db)


def test_revoked_key_is_refused(http: TestClient, board: Credentials, db: Session) -> None:
    revoke_key(session=db, caller=Caller.operator(), client_id=board.client_id, kid=board.kid)
    db.commit()

    assert_invalid_client(http.post("/oauth2/token", data=token_form(board)), db)


def _refusal_for(case: str, board: Credentials, db: Session) -> str:
    """An assertion refused for `case`, otherwise like a good one."""
    if case == "unknown-client":
        claims = claims_for("cli_no_such_client")
        return es256_sign(header_for(board.kid), claims, ec_key(board))
    if case == "unknown-kid":
        stranger, _ = load_private_key(generate_key_pair("ec")[0])
        assert isinstance(stranger, ECKey)
        header = header_for(stranger.thumbprint())
        return es256_sign(header, claims_for(board.client_id), stranger)
    if case == "bad-signature":
        stranger, _ = load_private_key(generate_key_pair("ec")[0])
        assert isinstance(stranger, ECKey)
        return es256_sign(header_for(board.kid), claims_for(board.client_id), stranger)
    if case == "key-of-another-type":
        private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        header = {"alg": "RS256", "kid": board.kid, "typ": "JWT"}
        signing_input = f"{_segment(header)}.{_segment(claims_for(board.client_id))}"
        signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"
    if case == "revoked-key":
        revoke_key(session=db, caller=Caller.operator(), client_id=board.client_id, kid=board.kid)
    elif case == "disabled-client":
        disable_client(session=db, caller=Caller.operator(), client_id=board.client_id)
    db.commit()
    return es256_sign(header_for(board.kid), claims_for(board.client_id), ec_key(board))


REFUSALS = [
    "unknown-client",
    "unknown-kid",
    "revoked-key",
    "bad-signature",
    "disabled-client",
    "key-of-another-type",
]


@pytest.mark.parametrize("case", REFUSALS)
def test_who_exists_is_never_told_apart_by_the_refusal(
    http: TestClient, board: Credentials, db: Session, case: str
) -> None:
    """Unknown client, unknown kid, revoked key, disabled client and bad signature answer
    word for word alike, so the endpoint does not reveal which clients and keys exist."""
    # The control names a client that certainly does not exist.
    control = post_assertion(http, _refusal_for("unknown-client", board, db))

    response = post_assertion(http, _refusal_for(case, board, db))

    assert_invalid_client(response, db)
    assert (response.status_code, response.json()) == (control.status_code, control.json())
    assert response.headers["www-authenticate"] == control.headers["www-authenticate"]


def test_access_token_presented_as_client_assertion_is_refused(
    http: TestClient, board: Credentials, db: Session
) -> None:
    token = access_token(http, board)
    issued_before = tokens_issued(db)

    response = post_assertion(http, token)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert tokens_issued(db) == issued_before


def test_client_signed_assertion_typed_as_access_token_is_refused(
    http: TestClient, board: Credentials, db: Session
) -> None:
    header = header_for(board.kid, typ="at+jwt")

    signed = es256_sign(header, claims_for(board.client_id), ec_key(board))

    assert_invalid_client(post_assertion(http, signed), db)


@pytest.mark.parametrize(
    "assertion",
    [
        "garbage",
        "a.b.c",
        "..",
        "....",
        "é.é.é",
        f"{_segment([1])}.{_segment({})}.c2ln",
        f"{_segment(None)}.{_segment({})}.c2ln",
        f"{_segment({'alg': 'ES256', 'kid': 'k'})}.{_segment([])}.c2ln",
        f"{_segment({'alg': 'ES256', 'kid': 'k'})}.bm90IGpzb24.c2ln",
    ],
)
def test_garbage_assertion_is_refused(http: TestClient, db: Session, assertion: str) -> None:
    assert_invalid_client(post_assertion(http, assertion), db)


def test_jwe_shaped_assertion_is_refused(http: TestClient, board: Credentials, db: Session) -> None:
    header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": board.kid, "cty": "JWT"}
    parts = [_segment(header), b64url(b"k" * 32), b64url(b"i" * 12), b64url(b"c" * 40)]
    jwe_shaped = ".".join([*parts, b64url(b"t" * 16)])

    assert_invalid_client(post_assertion(http, jwe_shaped), db)


# Refused assertions: claims ---------------------------------------------------------------

ClaimChanges = Callable[[int, str], dict[str, object]]
END_OF_TIME = 253402300799  # 9999-12-31T23:59:59Z


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(lambda now, _: {"iat": now - 200, "exp": now - 100}, id="expired"),
        pytest.param(lambda now, _: {"iat": now + 120, "exp": now + 180}, id="iat-in-future"),
        pytest.param(lambda now, _: {"nbf": now + 120, "exp": now + 200}, id="nbf-in-future"),
        pytest.param(lambda now, _: {"exp": now + 301}, id="exp-301s-after-iat"),
        pytest.param(lambda now, _: {"exp": now}, id="exp-equals-iat"),
        pytest.param(lambda now, _: {"exp": None}, id="exp-missing"),
        pytest.param(lambda now, _: {"iat": None}, id="iat-missing"),
        pytest.param(lambda now, _: {"iat": str(now)}, id="iat-a-string"),
        pytest.param(lambda now, _: {"exp": True}, id="exp-a-boolean"),
        pytest.param(
            lambda now, _: {"iat": END_OF_TIME - 60, "exp": END_OF_TIME}, id="dated-end-of-time"
        ),
        pytest.param(lambda now, _: {"aud": ISSUER}, id="aud-the-service-not-endpoint"),
        pytest.param(lambda now, _: {"aud": TOKEN_URL + "/"}, id="aud-trailing-slash"),
        pytest.param(
            lambda now, _: {"aud": "https://attacker.example/oauth2/token"}, id="aud-elsewhere"
        ),
        pytest.param(
            lambda now, _: {"aud": [ISSUER, "https://attacker.example/oauth2/token"]},
            id="aud-list-without-endpoint",
        ),
        pytest.param(lambda now, _: {"aud": None}, id="aud-missing"),
        pytest.param(lambda now, _: {"sub": "cli_someone_else"}, id="sub-differs-from-iss"),
        pytest.param(lambda now, _: {"sub": None}, id="sub-missing"),
        pytest.param(lambda now, _: {"jti": None}, id="jti-missing"),
        pytest.param(lambda now, _: {"jti": ""}, id="jti-empty"),
        pytest.param(lambda now, _: {"jti": "j" * 256}, id="jti-too-long"),
        pytest.param(lambda now, _: {"jti": 12345}, id="jti-a-number"),
    ],
)
def test_assertion_with_bad_claims_is_refused(
    http: TestClient, board: Credentials, db: Session, changes: ClaimChanges
) -> None:
    claims = claims_for(board.client_id, **changes(int(time.time()), board.client_id))

    signed = es256_sign(header_for(board.kid), claims, ec_key(board))

    assert_invalid_client(post_assertion(http, signed), db)


# Single use of jti ------------------------------------------------------------------------


def test_reused_assertion_is_refused_the_second_time(
    http: TestClient, board: Credentials, db: Session
) -> None:
    form = token_form(board)

    first = http.post("/oauth2/token", data=form)
    second = http.post("/oauth2/token", data=form)

    assert first.status_code == 200, first.text
    assert second.status_code == 401
    assert second.json()["error"] == "invalid_client"
    assert "access_token" not in second.json()
    assert tokens_issued(db) == 1


def test_same_jti_in_a_freshly_signed_assertion_is_refused(
    http: TestClient, board: Credentials, db: Session
) -> None:
    claims = claims_for(board.client_id)
    first = post_assertion(http, es256_sign(header_for(board.kid), claims, ec_key(board)))
    resigned = claims_for(board.client_id, jti=claims["jti"], exp=claims["exp"] + 1)

    second = post_assertion(http, es256_sign(header_for(board.kid), resigned, ec_key(board)))

    assert first.status_code == 200, first.text
    assert second.status_code == 401
    assert second.json()["error"] == "invalid_client"


def test_used_jti_is_persisted_and_caught_by_another_app_instance(
    http: TestClient, board: Credentials, db: Session, settings: Settings
) -> None:
    claims = claims_for(board.client_id)
    assertion = es256_sign(header_for(board.kid), claims, ec_key(board))
    assert post_assertion(http, assertion).status_code == 200
    stored = db.scalars(
        select(UsedAssertion.jti).where(UsedAssertion.client_id == board.client_id)
    ).all()
    db.rollback()

    with TestClient(create_app(settings)) as second_instance:
        replay = post_assertion(second_instance, assertion)

    assert stored == [claims["jti"]]
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_client"


# Malformed token requests ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        pytest.param(
            {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"},
            "invalid_request",
            id="wrong-assertion-type",
        ),
        pytest.param({"client_assertion_type": None}, "invalid_request", id="no-assertion-type"),
        pytest.param({"client_assertion": None}, "invalid_request", id="no-assertion"),
        pytest.param({"client_assertion": ""}, "invalid_request", id="empty-assertion"),
        pytest.param({"grant_type": "password"}, "unsupported_grant_type", id="password-grant"),
        pytest.param({"grant_type": None}, "invalid_request", id="no-grant-type"),
    ],
)
def test_malformed_token_request_is_a_400(
    http: TestClient,
    board: Credentials,
    db: Session,
    changes: dict[str, str | None],
    error: str,
) -> None:
    form: dict[str, str] = token_form(board)
    for name, value in changes.items():
        if value is None:
            del form[name]
        else:
            form[name] = value

    response = http.post("/oauth2/token", data=form)

    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert tokens_issued(db) == 0


# Bearer access tokens --------------------------------------------------------------------


def service_signed(
    app: FastAPI,
    credentials: Credentials,
    *,
    key: ECKey | None = None,
    typ: str = "at+jwt",
    **overrides: object,
) -> str:
    """An access token as the service would issue it, optionally changed."""
    signing_key: ECKey = key or app.state.service_key
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": ISSUER,
        "sub": credentials.client_id,
        "org": credentials.org,
        "scope": " ".join(BOARD_SCOPES),
        "iat": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
        "client_kid": credentials.kid,
        "client_gen": 0,
        **overrides,
    }
    header = {"alg": "ES256", "typ": typ, "kid": signing_key.thumbprint()}
    present = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(header, present, signing_key, algorithms=["ES256"])


def assert_unauthenticated(response: Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "unauthenticated"


def test_service_signed_control_token_is_accepted(
    http: TestClient, app: FastAPI, board: Credentials
) -> None:
    response = http.get(receipt_path(), headers=bearer(service_signed(app, board)))

    assert response.status_code == 404, response.text


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-authorization"),
        pytest.param({"Authorization": "Bearer"}, id="empty-bearer"),
        pytest.param({"Authorization": "Basic Y2xpOnNlY3JldA=="}, id="basic-scheme"),
        pytest.param({"Authorization": "Bearer not.a.token"}, id="garbage-token"),
    ],
)
def test_request_without_a_valid_bearer_token_is_401(
    http: TestClient, headers: dict[str, str]
) -> None:
    assert_unauthenticated(http.get(receipt_path(), headers=headers))


def test_tampered_access_token_is_401(http: TestClient, board: Credentials) -> None:
    token = access_token(http, board)
    head, payload, signature = token.split(".")
    # A character in the middle of the signature: the last one may only carry padding bits.
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    tampered = f"{head}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"

    assert_unauthenticated(http.get(receipt_path(), headers=bearer(tampered)))


def test_access_token_with_widened_scope_in_payload_is_401(
    http: TestClient, board: Credentials
) -> None:
    token = access_token(http, board, scope="submissions:write")
    head, payload, signature = token.split(".")
    claims = json.loads(_decode_segment(payload))
    claims["scope"] = " ".join(BOARD_SCOPES)

    widened = f"{head}.{_segment(claims)}.{signature}"

    assert_unauthenticated(http.get(receipt_path(), headers=bearer(widened)))


def test_expired_access_token_is_401(
    http: TestClient, app: FastAPI, board: Credentials, db: Session
) -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    assertion = client_assertion(
        key=board.key,
        alg=board.alg,
        client_id=board.client_id,
        token_url=TOKEN_URL,
        now=past.timestamp(),
    )
    issued = exchange(
        session=db,
        request=TokenRequest("client_credentials", ASSERTION_TYPE, assertion, None),
        service_key=app.state.service_key,
        token_endpoint_url=TOKEN_URL,
        issuer=ISSUER,
        lifetime_seconds=900,
        leeway_seconds=30,
        now=past,
    )
    db.commit()

    assert_unauthenticated(http.get(receipt_path(), headers=bearer(issued.access_token)))


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"exp": int(time.time()) - 5}, id="expired"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"iss": "https://attacker.example"}, id="other-issuer"),
        pytest.param({"aud": TOKEN_URL}, id="other-audience"),
        pytest.param({"org": "7A1"}, id="other-organisation"),
        pytest.param({"sub": "cli_no_such_client"}, id="unknown-client"),
        pytest.param({"client_kid": None}, id="no-key-named"),
        pytest.param({"client_kid": "not-the-key"}, id="another-key"),
        pytest.param({"client_gen": 1}, id="another-generation"),
        pytest.param({"client_gen": True}, id="generation-a-boolean"),
        pytest.param({"typ": "JWT"}, id="not-typed-as-access-token"),
    ],
)
def test_service_signed_token_with_wrong_claims_is_401(
    http: TestClient, app: FastAPI, board: Credentials, changes: dict[str, Any]
) -> None:
    claims = {name: value for name, value in changes.items() if name != "typ"}
    token = service_signed(app, board, typ=str(changes.get("typ", "at+jwt")), **claims)

    assert_unauthenticated(http.get(receipt_path(), headers=bearer(token)))


def test_access_token_signed_by_another_es256_key_is_401(
    http: TestClient, app: FastAPI, board: Credentials
) -> None:
    other, _ = load_private_key(generate_key_pair("ec")[0])
    assert isinstance(other, ECKey)

    forged = service_signed(app, board, key=other)

    assert_unauthenticated(http.get(receipt_path(), headers=bearer(forged)))


@pytest.mark.parametrize("form", ["pem", "der", "jwk"])
def test_hs256_access_token_keyed_with_service_public_key_is_401(
    http: TestClient, app: FastAPI, board: Credentials, form: PublicForm
) -> None:
    service_key: ECKey = app.state.service_key
    service_as_credentials = replace(board, key=service_key, kid=service_key.thumbprint())
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": ISSUER,
        "sub": board.client_id,
        "org": board.org,
        "scope": " ".join(BOARD_SCOPES),
        "iat": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
    }
    header = {"alg": "HS256", "typ": "at+jwt", "kid": service_key.thumbprint()}

    forged = hs256_sign(header, claims, public_key_bytes(service_as_credentials, form))

    assert_unauthenticated(http.get(receipt_path(), headers=bearer(forged)))


def test_board_token_without_read_scope_is_403_insufficient_scope(
    http: TestClient, board: Credentials
) -> None:
    token = access_token(http, board, scope="submissions:write")

    response = http.get(receipt_path(), headers=bearer(token))

    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "insufficient_scope"


def test_local_authority_token_cannot_send_submissions(http: TestClient, db: Session) -> None:
    authority = make_client(db, org="W06000015", scopes=["cme:read"])
    db.commit()
    token = access_token(http, authority)

    response = post_submission(
        http, authority, encode(submission_body([health_record(1)])), token=token
    )

    assert response.status_code == 403, response.text
    assert response.json()["code"] == "insufficient_scope"
