"""Every hostile or invalid submission is refused with problem+json and stores nothing."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cli.signing import b64url, detached_signature
from services.access.keys import generate_key_pair, load_private_key
from services.store.tables import AuditEvent, HealthRecord, Submission
from tests.factories import (
    Credentials,
    access_token,
    encode,
    health_record,
    make_client,
    post_submission,
    submission_body,
)


def nothing_stored(db: Session) -> bool:
    db.expire_all()
    tables = (Submission, HealthRecord)
    counts = [db.scalar(select(func.count()).select_from(t)) for t in tables]
    submissions_audited = db.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "submission.received")
    )
    return counts == [0, 0] and submissions_audited == 0


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert "Traceback" not in response.text
    return problem


BODY = encode(submission_body([health_record()]))


def _header(document: dict[str, Any]) -> str:
    return b64url(json.dumps(document).encode())


def _hmac_signature(secret: bytes, body: bytes, kid: str) -> str:
    header = _header({"alg": "HS256", "kid": kid})
    mac = hmac.new(secret, f"{header}.{b64url(body)}".encode(), hashlib.sha256).digest()
    return f"{header}..{b64url(mac)}"


def _public_forms(credentials: Credentials) -> dict[str, bytes]:
    native = serialization.load_pem_private_key(credentials.private_pem.encode(), None).public_key()
    pem = native.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der = native.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = json.dumps(credentials.key.as_dict(private=False)).encode()
    return {"pem": pem, "der": der, "jwk": jwk}


SignatureMaker = Callable[[Credentials], str]

FORGED_SIGNATURES: dict[str, SignatureMaker] = {
    "alg none": lambda c: f"{_header({'alg': 'none', 'kid': c.kid})}..",
    "HS256 with the PEM public key": lambda c: _hmac_signature(
        _public_forms(c)["pem"], BODY, c.kid
    ),
    "HS256 with the DER public key": lambda c: _hmac_signature(
        _public_forms(c)["der"], BODY, c.kid
    ),
    "HS256 with the JWK public key": lambda c: _hmac_signature(
        _public_forms(c)["jwk"], BODY, c.kid
    ),
    "not detached": lambda c: detached_signature(key=c.key, alg=c.alg, body=BODY).replace(
        "..", f".{b64url(BODY)}."
    ),
    "garbage": lambda c: "not-a-jws",
    "empty signature part": lambda c: f"{_header({'alg': c.alg, 'kid': c.kid})}..",
    "unknown kid": lambda c: _resign(c, {"alg": c.alg, "kid": "no-such-kid"}),
    "unknown crit": lambda c: _resign(c, {"alg": c.alg, "kid": c.kid, "crit": ["x-u"], "x-u": 1}),
    "b64 false": lambda c: _resign(c, {"alg": c.alg, "kid": c.kid, "b64": False, "crit": ["b64"]}),
    "ES256 header on the wrong key type": lambda c: _resign(c, {"alg": "EdDSA", "kid": c.kid}),
}


def _resign(credentials: Credentials, header: dict[str, Any]) -> str:
    """A real signature by the client's key under a hostile protected header."""
    from joserfc import jws
    from joserfc.jws import JWSRegistry

    registry = JWSRegistry(algorithms=[credentials.alg], strict_check_header=False)
    try:
        compact = jws.serialize_compact(header, BODY, credentials.key, registry=registry)
    except Exception:  # joserfc refuses some headers outright; build them by hand
        protected = _header(header)
        signed = jws.serialize_compact(
            {"alg": credentials.alg, "kid": credentials.kid}, BODY, credentials.key
        )
        return f"{protected}..{signed.split('.')[2]}"
    return jws.detach_content(compact)


@pytest.mark.parametrize("forgery", FORGED_SIGNATURES, ids=list(FORGED_SIGNATURES))
def test_forged_or_malformed_signatures_are_refused(
    http: TestClient, board: Credentials, db: Session, forgery: str
) -> None:
    response = post_submission(http, board, BODY, signature=FORGED_SIGNATURES[forgery](board))

    problem = assert_problem(response, 401, response.json().get("code", ""))
    assert problem["code"].startswith("signature_")
    assert nothing_stored(db)


def test_missing_signature_is_refused(http: TestClient, board: Credentials, db: Session) -> None:
    response = post_submission(http, board, BODY, signature="")

    assert_problem(response, 401, "signature_missing")
    assert nothing_stored(db)


def test_tampered_body_is_refused(http: TestClient, board: Credentials, db: Session) -> None:
    signature = detached_signature(key=board.key, alg=board.alg, body=BODY)
    tampered = BODY.replace(b"Cerys", b"Carys")

    response = post_submission(http, board, tampered, signature=signature)

    assert_problem(response, 401, "signature_invalid")
    assert nothing_stored(db)


def test_signature_by_another_clients_key_is_refused(
    http: TestClient, board: Credentials, db: Session
) -> None:
    other = make_client(db, org="7A4", scopes=["submissions:write"])
    db.commit()
    signature = detached_signature(key=other.key, alg=other.alg, body=BODY)

    response = post_submission(http, board, BODY, signature=signature)

    assert_problem(response, 401, "signature_unknown_key")
    assert nothing_stored(db)


def test_signature_by_an_unregistered_key_with_a_registered_kid_is_refused(
    http: TestClient, board: Credentials, db: Session
) -> None:
    attacker, _ = load_private_key(generate_key_pair("ec")[0])
    header = _header({"alg": "ES256", "kid": board.kid})
    from joserfc import jws

    signed = jws.serialize_compact({"alg": "ES256"}, BODY, attacker)
    response = post_submission(http, board, BODY, signature=f"{header}..{signed.split('.')[2]}")

    assert_problem(response, 401, "signature_invalid")
    assert nothing_stored(db)


def test_lhb_code_of_another_board_is_forbidden(
    http: TestClient, board: Credentials, db: Session
) -> None:
    body = encode(submission_body([health_record()], lhb_code="7A1"))

    assert_problem(post_submission(http, board, body), 403, "lhb_code_not_caller")
    assert nothing_stored(db)


def test_local_authority_token_cannot_submit(http: TestClient, db: Session) -> None:
    authority = make_client(db, org="W06000015", scopes=["cme:read", "education:write"])
    db.commit()

    assert_problem(post_submission(http, authority, BODY), 403, "insufficient_scope")
    assert nothing_stored(db)


def test_missing_bearer_token_is_unauthenticated(http: TestClient, db: Session) -> None:
    response = http.post(
        "/v1/submissions", content=BODY, headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert nothing_stored(db)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_wrong_content_type_is_refused(
    http: TestClient, board: Credentials, db: Session, content_type: str
) -> None:
    response = post_submission(http, board, BODY, headers={"Content-Type": content_type})

    assert_problem(response, 415, "unsupported_media_type")
    assert nothing_stored(db)


def test_unknown_content_encoding_is_refused(
    http: TestClient, board: Credentials, db: Session
) -> None:
    response = post_submission(http, board, BODY, headers={"Content-Encoding": "br"})

    assert_problem(response, 415, "unsupported_content_encoding")
    assert nothing_stored(db)


def test_oversize_body_is_refused(
    app: FastAPI, http: TestClient, board: Credentials, db: Session
) -> None:
    app.state.settings.max_body_bytes = 2048
    body = encode(submission_body([health_record(i, record_id=f"r{i}") for i in range(20)]))

    assert_problem(post_submission(http, board, body), 413, "payload_too_large")
    assert nothing_stored(db)


def test_gzip_bomb_is_refused_without_inflating_it(
    app: FastAPI, http: TestClient, board: Credentials, db: Session
) -> None:
    app.state.settings.max_body_bytes = 1 << 20
    bomb = b'{"records": ["' + b"0" * (64 << 20) + b'"]}'  # 64 MB inflates from ~64 kB

    response = post_submission(http, board, bomb, compress=True)

    assert_problem(response, 413, "payload_too_large")
    assert nothing_stored(db)


def test_corrupt_gzip_is_refused(http: TestClient, board: Credentials, db: Session) -> None:
    corrupt = gzip.compress(BODY)[:-12]
    response = http.post(
        "/v1/submissions",
        content=corrupt,
        headers={
            "Authorization": f"Bearer {access_token(http, board)}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "X-JWS-Signature": detached_signature(key=board.key, alg=board.alg, body=BODY),
        },
    )

    assert_problem(response, 400, "malformed_gzip")
    assert nothing_stored(db)


def test_malformed_json_is_refused(http: TestClient, board: Credentials, db: Session) -> None:
    problem = assert_problem(
        post_submission(http, board, b'{"records": ['), 422, "validation_failed"
    )

    assert problem["errors"][0]["code"] == "malformed_json"
    assert nothing_stored(db)


def test_deep_nesting_is_refused(http: TestClient, board: Credentials, db: Session) -> None:
    body = b'{"records": ' + b"[" * 5000 + b"]" * 5000 + b"}"

    assert_problem(post_submission(http, board, body), 422, "validation_failed")
    assert nothing_stored(db)


def _with(record_changes: dict[str, Any], *, drop: tuple[str, ...] = ()) -> bytes:
    record = health_record(1, **record_changes)
    for name in drop:
        del record[name]
    return encode(submission_body([health_record(0, record_id="fine"), record]))


INVALID_RECORDS: dict[str, tuple[bytes, str, str]] = {
    "unknown field": (
        _with({"favourite_colour": "red"}),
        "/records/1/favourite_colour",
        "unknown_field",
    ),
    "nhs number check digit": (
        _with({"nhs_number": "9990001234"}),
        "/records/1/nhs_number",
        "nhs_number_checksum",
    ),
    "nhs number arabic-indic digits": (
        _with({"nhs_number": "٩٩٩٠٠٠١٢٣٤"}),
        "/records/1/nhs_number",
        "nhs_number_format",
    ),
    "nhs number as a number": (
        _with({"nhs_number": 9990001235}),
        "/records/1/nhs_number",
        "wrong_type",
    ),
    "postcode": (
        _with({"address": {"lines": ["1 Stryd"], "postcode": "NOT A CODE"}}),
        "/records/1/address/postcode",
        "postcode_invalid",
    ),
    "english local authority": (
        _with({"local_authority_code": "E06000001"}),
        "/records/1/local_authority_code",
        "unknown_local_authority",
    ),
    "sensitive with an address": (
        _with({"sensitive": True}),
        "/records/1/address",
        "address_not_allowed_for_sensitive",
    ),
    "address missing": (_with({}, drop=("address",)), "/records/1/address", "required"),
    "given name missing": (_with({}, drop=("given_name",)), "/records/1/given_name", "required"),
    "control character in name": (
        _with({"family_name": "Jo\u0000nes"}),
        "/records/1/family_name",
        "name_invalid_characters",
    ),
    "name too long": (_with({"family_name": "J" * 101}), "/records/1/family_name", "name_length"),
    "impossible date": (
        _with({"date_of_birth": "2015-02-30"}),
        "/records/1/date_of_birth",
        "invalid_date",
    ),
    "born after the extract": (
        _with({"date_of_birth": "2026-06-01"}),
        "/records/1/date_of_birth",
        "date_of_birth_in_future",
    ),
    "died before birth": (
        _with({"date_of_death": "2010-01-01"}),
        "/records/1/date_of_death",
        "date_of_death_before_birth",
    ),
    "sex code": (_with({"sex": "X"}), "/records/1/sex", "not_allowed_value"),
    "duplicate record_id": (
        _with({"record_id": "fine"}),
        "/records/1/record_id",
        "duplicate_record_id",
    ),
    "record_id too long": (_with({"record_id": "r" * 65}), "/records/1/record_id", "too_long"),
}


@pytest.mark.parametrize("case", INVALID_RECORDS, ids=list(INVALID_RECORDS))
def test_one_invalid_record_refuses_the_whole_submission(
    http: TestClient, board: Credentials, db: Session, case: str
) -> None:
    body, pointer, code = INVALID_RECORDS[case]

    problem = assert_problem(post_submission(http, board, body), 422, "validation_failed")

    assert {"pointer": pointer, "code": code} in [
        {"pointer": e["pointer"], "code": e["code"]} for e in problem["errors"]
    ]
    assert nothing_stored(db)
    # Error details never echo the offending value back.
    assert "9990001234" not in json.dumps(problem)


def test_every_problem_is_listed_with_its_pointer(
    http: TestClient, board: Credentials, db: Session
) -> None:
    records = [health_record(i, record_id=f"r{i}", nhs_number="9990001234") for i in range(3)]

    problem = assert_problem(
        post_submission(http, board, encode(submission_body(records))), 422, "validation_failed"
    )

    assert [e["pointer"] for e in problem["errors"]] == [
        f"/records/{i}/nhs_number" for i in range(3)
    ]
    assert nothing_stored(db)


@pytest.mark.parametrize(
    ("change", "pointer", "code"),
    [
        ({"extract_type": "weekly"}, "/extract_type", "not_allowed_value"),
        ({"extracted_at": "2026-01-15T02:00:00"}, "/extracted_at", "timestamp_without_offset"),
        ({"submission_id": "not-a-uuid"}, "/submission_id", "invalid_uuid"),
        ({"lhb_code": "7Z9"}, "/lhb_code", "unknown_health_board"),
        ({"records": []}, "/records", "too_short"),
        ({"extra": 1}, "/extra", "unknown_field"),
    ],
)
def test_invalid_envelope_fields_are_refused(
    http: TestClient,
    board: Credentials,
    db: Session,
    change: dict[str, Any],
    pointer: str,
    code: str,
) -> None:
    document = submission_body([health_record()])
    document.update(change)

    problem = assert_problem(
        post_submission(http, board, encode(document)), 422, "validation_failed"
    )

    assert {"pointer": pointer, "code": code} in [
        {"pointer": e["pointer"], "code": e["code"]} for e in problem["errors"]
    ]
    assert nothing_stored(db)


def test_unsigned_base64_helper_is_unpadded() -> None:
    assert b64url(b"\xff") == base64.urlsafe_b64encode(b"\xff").decode().rstrip("=")
