"""Builders for tests: clients with keys, tokens, records and signed submissions.

All data is synthetic; NHS numbers come from the never-issued 999 range.
"""

from __future__ import annotations

import gzip
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cli.signing import ASSERTION_TYPE, PrivateKey, client_assertion, detached_signature
from services.access.clients import register_client
from services.access.keys import SigningAlgorithm, generate_key_pair, load_private_key
from services.caller import Caller

TOKEN_URL = "http://testserver/oauth2/token"
EXTRACTED_AT = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Credentials:
    client_id: str
    org: str
    key: PrivateKey
    alg: SigningAlgorithm
    kid: str
    private_pem: str


def make_client(
    session: Session,
    *,
    org: str,
    scopes: list[str],
    kind: Literal["ec", "ed25519", "rsa"] = "ec",
) -> Credentials:
    pem, public = generate_key_pair(kind)
    registration = register_client(
        session=session,
        caller=Caller.operator(),
        org=org,
        name=f"test {org}",
        scopes=scopes,
        key=public,
    )
    key, alg = load_private_key(pem)
    return Credentials(registration.client_id, org, key, alg, registration.kid, pem)


def token_form(credentials: Credentials, **overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(
            key=credentials.key,
            alg=credentials.alg,
            client_id=credentials.client_id,
            token_url=TOKEN_URL,
        ),
    }
    form.update(overrides)
    return form


def access_token(http: TestClient, credentials: Credentials, scope: str | None = None) -> str:
    form = token_form(credentials)
    if scope is not None:
        form["scope"] = scope
    response = http.post("/oauth2/token", data=form)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def health_record(index: int = 1, **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "record_id": f"cav-{index:06d}",
        "nhs_number": None,
        "given_name": "Cerys",
        "middle_names": "Mair",
        "family_name": "Jones",
        "former_names": [{"given_name": "Cerys", "family_name": "Price"}],
        "date_of_birth": "2015-03-02",
        "sex": "F",
        "address": {
            "lines": ["12 Heol y Bont", "Treganna"],
            "postcode": "CF11 9AB",
            "last_known": False,
        },
        "local_authority_code": "W06000015",
        "gp_practice_code": "W97001",
        "sensitive": False,
        "date_of_death": None,
    }
    record.update(overrides)
    return record


def submission_body(
    records: list[dict[str, Any]],
    *,
    lhb_code: str = "7A4",
    extract_type: str = "full",
    submission_id: str | None = None,
    extracted_at: datetime = EXTRACTED_AT,
) -> dict[str, Any]:
    return {
        "submission_id": submission_id or str(uuid.uuid4()),
        "lhb_code": lhb_code,
        "extract_type": extract_type,
        "extracted_at": extracted_at.isoformat().replace("+00:00", "Z"),
        "records": records,
    }


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def post_submission(
    http: TestClient,
    credentials: Credentials,
    body: bytes,
    *,
    token: str | None = None,
    signature: str | None = None,
    compress: bool = False,
    headers: dict[str, str] | None = None,
) -> Any:
    sent = gzip.compress(body) if compress else body
    all_headers = {
        "Authorization": f"Bearer {token or access_token(http, credentials)}",
        "Content-Type": "application/json",
        "X-JWS-Signature": signature
        if signature is not None
        else detached_signature(key=credentials.key, alg=credentials.alg, body=body),
    }
    if compress:
        all_headers["Content-Encoding"] = "gzip"
    all_headers.update(headers or {})
    return http.post("/v1/submissions", content=sent, headers=all_headers)


def nhs_number(serial: int) -> str:
    """A never-issued NHS number (999 range) with a valid modulus-11 check digit."""
    from schemas.identifiers import nhs_number_check_digit

    for offset in range(100):
        first_nine = f"999{(serial + offset) % 1_000_000:06d}"
        check = nhs_number_check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)
    raise AssertionError("unreachable")


def school_age_dob() -> date:
    return date(2015, 3, 2)


def education_record(index: int = 1, **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "record_id": f"upn-{index:06d}",
        "given_name": "Cerys",
        "middle_names": None,
        "family_name": "Jones",
        "former_names": [],
        "date_of_birth": "2015-03-02",
        "sex": "F",
        "address": {"lines": ["12 Heol y Bont"], "postcode": "CF11 9AB"},
        "upn": None,
        "nhs_number": None,
        "provision": "maintained_school",
        "provider_name": "Ysgol Treganna",
        "provider_code": "6812345",
        "ehe_suitability": None,
    }
    record.update(overrides)
    return record


def put_education_records(
    http: TestClient,
    credentials: Credentials,
    records: list[dict[str, Any]],
    *,
    la_code: str | None = None,
    as_of: str = "2026-01-20",
) -> Any:
    return http.put(
        f"/v1/local-authorities/{la_code or credentials.org}/education-records",
        content=encode({"as_of": as_of, "records": records}),
        headers={
            "Authorization": f"Bearer {access_token(http, credentials)}",
            "Content-Type": "application/json",
        },
    )


def bearer(http: TestClient, credentials: Credentials) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token(http, credentials)}"}


def make_case(session: Session, *, la_code: str = "W06000015", **overrides: Any) -> Any:
    """A case as reconciliation would leave it (for case API tests)."""
    from datetime import UTC, datetime

    from services.cases.child import fingerprint
    from services.store.tables import CmeCase

    now = datetime.now(UTC)
    child: dict[str, Any] = {
        "given_name": "Tomos",
        "middle_names": None,
        "family_name": "Llewellyn",
        "former_names": [],
        "date_of_birth": "2012-12-12",
        "sex": "M",
        "address": {"lines": ["7 Heol Penarth"], "postcode": "CF11 7QT", "last_known": False},
        "nhs_number": nhs_number(77),
    }
    child.update(overrides.pop("child", {}))
    if overrides.get("sensitive"):
        child["address"] = None
    fields: dict[str, Any] = {
        "case_id": str(uuid.uuid4()),
        "la_code": la_code,
        "status": "open",
        "reason": "not_found_in_education_records",
        "sensitive": False,
        "do_not_contact": False,
        "child": child,
        "child_fingerprint": fingerprint(child),
        "source_lhb_code": "7A4",
        "source_submission_id": str(uuid.uuid4()),
        "source_record_id": f"rec-{uuid.uuid4().hex[:8]}",
        "candidates": [],
        "identified_at": now,
        "updated_at": now,
        "version": 1,
        "restricted": False,
    }
    fields.update(overrides)
    case = CmeCase(**fields)
    session.add(case)
    session.commit()
    return case
