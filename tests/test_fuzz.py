"""Fuzzing the API against its own OpenAPI description: what it promises, it answers.

Schemathesis generates requests from the document the app serves, in process (the ASGI
transport, no socket), as four callers with real access tokens: two local authorities
(Cardiff W06000015, Newport W06000022), a health board (7A4) and the Welsh Government
(statistics). Every response must be no 5xx, carry a documented status code and content
type, and match the documented schema and headers. A pass without a token then proves
every endpoint except the token endpoint and the operations endpoints answers 401.

Generation is derandomized (Hypothesis `derandomize=True`, no example database), so every
run sends the same requests. Each generated case is sent as one caller in turn (over 2,000
distinct cases per backend, plus the token-less pass); negative cases include ones
the generator sends without the token on purpose, which must answer 401. Findings are
collected, one per (operation, check, status), and reported together with a curl command
that reproduces each. Runs on SQLite and PostgreSQL, about 30-40 s each.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias, cast

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.core.failures import FailureGroup
from schemathesis.python.asgi import ASGIClient
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from cli.signing import detached_signature
from tests.factories import Credentials, access_token, make_case, make_client

GeneratedCase: TypeAlias = schemathesis.Case[Any]
BASE_URL = "http://testserver"
EXAMPLES_PER_MODE = 92  # per operation and generation mode: over 2,000 cases in all
UNAUTHENTICATED_EXAMPLES = 10
OPEN_PATHS = {"/oauth2/token", "/healthz", "/readyz", "/metrics"}
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@dataclass
class Fuzzer:
    session: ASGIClient
    findings: dict[tuple[str, str, int], str] = field(default_factory=dict)
    sent: int = 0

    def send(self, case: GeneratedCase, headers: dict[str, str], **kwargs: Any) -> Any:
        self.sent += 1
        return case.call(base_url=BASE_URL, session=self.session, headers=headers, **kwargs)

    def record(self, case: GeneratedCase, title: str, status: int, detail: str) -> None:
        key = (case.operation.label, title, status)
        if key not in self.findings:
            curl = case.as_curl_command(base_url=BASE_URL)
            self.findings[key] = f"{detail[:400]}\n    repro: {curl[:600]}"


def generate(
    strategy: st.SearchStrategy[GeneratedCase], examples: int, *, negative: bool = False
) -> list[GeneratedCase]:
    """Draw the cases once (derandomized: the same ones on every run) to send as each
    caller; generation, not the app, is most of the cost."""
    cases: list[GeneratedCase] = []

    @given(case=strategy)
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def collect(case: GeneratedCase) -> None:
        cases.append(case)

    try:
        collect()
    except Unsatisfiable:
        # An operation with nothing to make invalid (no parameters or body) has no
        # negative cases; a positive strategy must always produce examples.
        if not negative:
            raise
    return cases


@dataclass(frozen=True)
class Identity:
    name: str
    org: str
    scopes: tuple[str, ...]


IDENTITIES = (
    Identity("cardiff", "W06000015", ("education:write", "cme:read", "cme:write", "cme:sensitive")),
    Identity("newport", "W06000022", ("education:write", "cme:read", "cme:write")),
    Identity("board 7A4", "7A4", ("submissions:write", "submissions:read")),
    Identity("welsh government", "WG", ("statistics:read",)),
)


@pytest.fixture
def schema(app: FastAPI, http: TestClient) -> Any:
    """The document the running app serves (the app is started by `http`)."""
    document = http.get("/openapi.json").json()
    return schemathesis.openapi.from_dict(document)


@pytest.fixture
def fuzzer(app: FastAPI, http: TestClient) -> Iterator[Fuzzer]:
    # Not entered: the app's lifespan already ran under `http`; entering would start a second.
    session = ASGIClient(cast(Any, app), base_url=BASE_URL)
    yield Fuzzer(session)
    session.close()


def _validate(fuzzer: Fuzzer, case: GeneratedCase, response: Any) -> None:
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup as group:
        for failure in group.exceptions:
            fuzzer.record(case, failure.title, response.status_code, failure.message)


def _without_authorization(case: GeneratedCase) -> None:
    """Drop the bearer header the generator makes up from the documented security scheme."""
    if case.headers:
        for name in [n for n in case.headers if n.lower() == "authorization"]:
            del case.headers[name]


def _signed_body(case: GeneratedCase, credentials: Credentials) -> dict[str, Any]:
    """For submissions: the exact JSON bytes and a valid detached signature over them, so
    generated bodies reach validation instead of stopping at the signature check."""
    if case.media_type != "application/json" or not isinstance(case.body, dict | list):
        return {}
    raw = json.dumps(case.body).encode()
    signature = detached_signature(key=credentials.key, alg=credentials.alg, body=raw)
    return {"data": raw, "headers": {"X-JWS-Signature": signature}}


def _report(fuzzer: Fuzzer) -> str:
    lines = [f"{len(fuzzer.findings)} finding(s) in {fuzzer.sent} requests:"]
    for (operation, title, status), detail in sorted(fuzzer.findings.items()):
        lines.append(f"- {operation} -> {status}: {title}\n    {detail}")
    return "\n".join(lines)


def test_fuzz_as_authorities_a_health_board_and_the_welsh_government(
    schema: Any, fuzzer: Fuzzer, http: TestClient, db: Session
) -> None:
    callers: list[tuple[Identity, Credentials, str | None]] = []
    for identity in IDENTITIES:
        credentials = make_client(db, org=identity.org, scopes=list(identity.scopes))
        db.commit()
        case_id = None
        if identity.org.startswith("W06"):
            case_id = make_case(db, la_code=identity.org).case_id
        callers.append((identity, credentials, case_id))
    db.rollback()  # on SQLite an open transaction holds the write lock
    tokens = {identity.name: access_token(http, c) for identity, c, _ in callers}

    generated = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        submitting = operation.method.upper() == "POST" and operation.path == "/v1/submissions"
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            negative = mode == schemathesis.GenerationMode.NEGATIVE
            strategy = operation.as_strategy(generation_mode=mode)
            for case in generate(strategy, EXAMPLES_PER_MODE, negative=negative):
                # Each generated case goes to one caller in turn, so every caller gets
                # different cases; every other round uses the callers' own ids.
                identity, credentials, case_id = callers[generated % len(callers)]
                own_round = (generated // len(callers)) % 2 == 0
                generated += 1
                if not negative and own_round:
                    # Own ids get past the ownership check into the handler; the rest keep
                    # the generated ones (mostly another authority's: 404), negative ones
                    # their broken ones.
                    own_la = identity.org if identity.org.startswith("W06") else None
                    own = {"la_code": own_la, "case_id": case_id}
                    case.path_parameters = {
                        name: own[name] if own.get(name) else value
                        for name, value in dict(case.path_parameters or {}).items()
                    }
                extra = _signed_body(case, credentials) if submitting else {}
                # Negative cases may also leave the token out on purpose (expecting 401).
                _without_authorization(case)
                auth = {"Authorization": f"Bearer {tokens[identity.name]}"}
                response = fuzzer.send(case, {**auth, **extra.pop("headers", {})}, **extra)
                _validate(fuzzer, case, response)

    assert generated >= 2000, generated
    assert fuzzer.sent >= 2000, fuzzer.sent
    assert not fuzzer.findings, _report(fuzzer)


def test_fuzz_without_a_token_every_endpoint_answers_401(schema: Any, fuzzer: Fuzzer) -> None:
    refusals: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in OPEN_PATHS:
            continue

        strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE)
        for case in generate(strategy, UNAUTHENTICATED_EXAMPLES):
            _without_authorization(case)  # this pass sends no token at all
            response = fuzzer.send(case, {})
            sent = {name.lower() for name in response.request.headers}
            assert "authorization" not in sent, "this pass must send no token"
            challenge = {name.lower() for name in response.headers} & {"www-authenticate"}
            if response.status_code != 401 or not challenge:
                fuzzer.record(case, "not 401 without a token", response.status_code, "")
            refusals[operation.label] = refusals.get(operation.label, 0) + 1
            _validate(fuzzer, case, response)

    assert len(refusals) >= 10, refusals
    assert not fuzzer.findings, _report(fuzzer)
