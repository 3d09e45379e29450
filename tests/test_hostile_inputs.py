"""The hostile-input catalogue: every endpoint, named cases of what an attacker sends.

Each case sends one hostile request and asserts a 4xx answer in the endpoint's error shape
(problem+json; RFC 6749 bodies at the token endpoint), nothing in the body that gives the
server away (stack traces, SQL, file paths, the offending value echoed back), and an
unchanged database: every table's rows, compared by digest, and the audit head, which only a
legitimate read of personal data may move (by exactly one event).

Already covered elsewhere and not repeated here: forged signatures, alg none, HMAC
confusion, unknown kid/crit, gzip bombs, oversize and corrupt gzip, wrong content types,
deep nesting of `records`, per-field validation of records (tests/test_submissions_refused.py);
forged, expired, re-scoped and HS256 access tokens and hostile client assertions
(tests/test_token.py); limits 0/-1/1001, a non-JSON cursor, the basic CSV formula case and
the access matrix (tests/test_cases_api.py).

Inputs that are hostile but legitimate data (SQL text in a name, formula text in a name)
are accepted and must be stored literally; those have their own tests at the end.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import Engine, MetaData, select, text
from sqlalchemy.orm import Session

from cli.signing import ASSERTION_TYPE
from services.cases.queries import etag
from services.store.tables import CmeCase, HealthRecord
from tests.factories import (
    Credentials,
    access_token,
    encode,
    health_record,
    make_case,
    make_client,
    post_submission,
    submission_body,
    token_form,
)

CARDIFF = "W06000015"
LA = f"/v1/local-authorities/{CARDIFF}"
CASES = f"{LA}/cme-cases"
EDUCATION = f"{LA}/education-records"
SQL = "'; DROP TABLE cme_cases; --"
HYPERLINK = '=HYPERLINK("http://evil","x")'
TEN_MB = 10 * 1024 * 1024
OAUTH_ERRORS = {"invalid_client", "invalid_request", "invalid_scope", "unsupported_grant_type"}
# Signs of a server that gives itself away: tracebacks, driver and SQL error text, paths.
LEAK_MARKERS = (
    "Traceback",
    'File "',
    "site-packages",
    "/work/",
    '.py"',
    "sqlalchemy",
    "psycopg",
    "sqlite3",
    "OperationalError",
    "IntegrityError",
    "DataError",
    "ProgrammingError",
    "SELECT ",
    "INSERT INTO",
    " WHERE ",
    "_csv.Error",
    "ValueError",
    "OverflowError",
)
CSV_HEADER = "as_of,record_id,given_name,family_name,date_of_birth,provision\n"
CSV_ROW = "2026-01-20,upn-1,Cerys,Jones,2015-03-02,maintained_school\n"


# --- the world each case runs in -------------------------------------------------------


@dataclass
class World:
    """A board, an authority and the Welsh Government, their tokens, and one open case."""

    client: TestClient
    board: Credentials
    cardiff: Credentials
    statistician: Credentials
    case_id: str
    case_etag: str
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def submit(self, body: bytes) -> Response:
        """POST the exact bytes, with a valid detached signature over them."""
        result: Response = post_submission(
            self.client, self.board, body, token=self.tokens["board"]
        )
        return result

    def put_education(self, body: bytes, content_type: str = "application/json") -> Response:
        headers = {**self.auth("cardiff"), "Content-Type": content_type}
        return self.client.put(EDUCATION, content=body, headers=headers)

    def get(self, path: str, **kwargs: Any) -> Response:
        headers = {**self.auth("cardiff"), **kwargs.pop("headers", {})}
        return self.client.get(path, headers=headers, **kwargs)

    def patch_case(self, body: bytes, **headers: str) -> Response:
        sent = {
            **self.auth("cardiff"),
            "Content-Type": "application/json",
            "If-Match": self.case_etag,
            **headers,
        }
        return self.client.patch(f"{CASES}/{self.case_id}", content=body, headers=sent)

    def token_request(self, body: bytes, content_type: str) -> Response:
        return self.client.post(
            "/oauth2/token", content=body, headers={"Content-Type": content_type}
        )


@pytest.fixture
def client(app: FastAPI, http: TestClient) -> Iterator[TestClient]:
    """The app (already started by `http`) with server errors answered, not raised, so a
    500 shows up as a failed status assertion with its body."""
    unstarted = TestClient(app, raise_server_exceptions=False)
    yield unstarted
    unstarted.close()


@pytest.fixture
def world(
    client: TestClient, http: TestClient, db: Session, board: Credentials, cardiff: Credentials
) -> World:
    statistician = make_client(db, org="WG", scopes=["statistics:read"])
    db.commit()
    case = make_case(db)
    case_id, case_etag = case.case_id, etag(case)
    db.rollback()  # on SQLite an open transaction holds the write lock
    tokens = {
        "board": access_token(http, board),
        "cardiff": access_token(http, cardiff),
        "statistician": access_token(http, statistician),
    }
    return World(client, board, cardiff, statistician, case_id, case_etag, tokens)


# --- the database snapshot -------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    tables: dict[str, tuple[int, str]]  # name -> (row count, digest of every row)
    audit_seq: int
    audit_hash: str


def snapshot(engine: Engine) -> Snapshot:
    """Every table's rows (count and digest) except the audit trail, plus the audit head."""
    metadata = MetaData()
    tables: dict[str, tuple[int, str]] = {}
    with engine.connect() as connection:
        metadata.reflect(connection)
        for table in metadata.sorted_tables:
            if table.name in ("audit_events", "audit_head"):
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            rows = connection.execute(select(table).order_by(*order)).all()
            digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
            tables[table.name] = (len(rows), digest)
        seq, head_hash = connection.execute(text("SELECT seq, hash FROM audit_head")).one()
    return Snapshot(tables, int(seq), str(head_hash))


def assert_unchanged(before: Snapshot, after: Snapshot, *, read: bool) -> None:
    changed = sorted(t for t in before.tables if before.tables[t] != after.tables.get(t))
    assert not changed, f"tables changed: {changed}"
    assert set(after.tables) == set(before.tables), "a table appeared or disappeared"
    if read:
        # A legitimate read of personal data is audited: exactly one event.
        assert after.audit_seq == before.audit_seq + 1
    else:
        assert (after.audit_seq, after.audit_hash) == (before.audit_seq, before.audit_hash)


# --- response checks -------------------------------------------------------------------


def assert_no_leak(response: Response) -> None:
    body = response.text
    leaked = [marker for marker in LEAK_MARKERS if marker in body]
    assert not leaked, f"the body gives the server away ({leaked}): {body[:300]}"


def assert_problem(response: Response, status: int, code: str | None) -> None:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {"type", "title", "status", "detail", "code"} <= problem.keys()
    assert problem["status"] == status
    assert problem["type"] == f"urn:cme-exchange:problem:{problem['code']}"
    if code is not None:
        assert problem["code"] == code, problem
    # Refusals never echo the offending input (it may be personal data, or 10 MB of it).
    assert len(response.content) < 20_000


def assert_oauth_error(response: Response, status: int, error: str | None) -> None:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == "application/json", response.text[:300]
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] in OAUTH_ERRORS
    if error is not None:
        assert body["error"] == error, body
    assert response.headers.get("cache-control") == "no-store"


# --- the catalogue ---------------------------------------------------------------------

Send = Callable[[World], Response]


@dataclass(frozen=True)
class Hostile:
    send: Send
    status: int
    code: str | None = None  # the problem code, or the OAuth error at the token endpoint
    oauth: bool = False
    read: bool = False  # a legitimate read of personal data: answered 2xx and audited


def _submission(**record: Any) -> dict[str, Any]:
    return submission_body([health_record(**record)])


def _raw_submission(envelope: str, record: str = "") -> bytes:
    """A submission written as JSON text, so duplicate keys and bare literals survive."""
    fields = ", ".join(
        f'"{name}": {json.dumps(value)}'
        for name, value in health_record().items()
        if f'"{name}"' not in record
    )
    record_text = "{" + (record + ", " if record else "") + fields + "}"
    return (
        '{"submission_id": "3f0e9c1e-6b1a-4c1e-9f4e-2d7b8a1c0e55", '
        + envelope
        + ', "records": ['
        + record_text
        + "]}"
    ).encode()


ENVELOPE = '"lhb_code": "7A4", "extract_type": "full", "extracted_at": "2026-01-15T02:00:00Z"'
RAW_EDUCATION_RECORD = (
    '{"record_id": "upn-1", "given_name": "Cerys", "family_name": "Jones", '
    '"date_of_birth": "2015-03-02", "provision": "maintained_school"}'
)
GIGANTIC_INTEGER = "1" + "0" * 1000  # 10**1000


def _cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).rstrip(b"=").decode()


def _form(pairs: list[tuple[str, str]]) -> bytes:
    from urllib.parse import urlencode

    return urlencode(pairs).encode()


def _token_with(world: World, **overrides: str) -> Response:
    return world.client.post("/oauth2/token", data=token_form(world.board, **overrides))


def _repeated_token_parameters(world: World) -> Response:
    valid = token_form(world.board)
    pairs = [
        ("grant_type", "password"),
        ("grant_type", valid["grant_type"]),
        ("client_assertion_type", valid["client_assertion_type"]),
        ("client_assertion", "not-the-real-one"),
        ("client_assertion", valid["client_assertion"]),
    ]
    return world.token_request(_form(pairs), "application/x-www-form-urlencoded")


def _csv(*lines: str) -> bytes:
    return "".join(lines).encode()


CATALOGUE: dict[str, Hostile] = {
    # --- POST /oauth2/token: RFC 6749 bodies, nothing stored (no jti, no audit) ---------
    "token: SQL text as the client assertion": Hostile(
        lambda w: w.token_request(
            _form(
                [
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", ASSERTION_TYPE),
                    ("client_assertion", SQL),
                ]
            ),
            "application/x-www-form-urlencoded",
        ),
        401,
        "invalid_client",
        oauth=True,
    ),
    "token: null byte in grant_type": Hostile(
        lambda w: _token_with(w, grant_type="client_credentials\x00"),
        400,
        "unsupported_grant_type",
        oauth=True,
    ),
    "token: invalid UTF-8 in the form": Hostile(
        lambda w: w.token_request(
            b"grant_type=\xff\xfe&client_assertion=%ff%fe", "application/x-www-form-urlencoded"
        ),
        400,
        oauth=True,
    ),
    "token: homoglyph scope (Cyrillic a)": Hostile(
        lambda w: _token_with(w, scope="submissions:re\u0430d"),
        400,
        "invalid_scope",
        oauth=True,
    ),
    "token: SQL text as the scope": Hostile(
        lambda w: _token_with(w, scope=SQL), 400, "invalid_scope", oauth=True
    ),
    # RFC 6749 3.2 and 5.2: parameters MUST NOT repeat; a repeat is invalid_request.
    "token: repeated grant_type and client_assertion (last would win)": Hostile(
        _repeated_token_parameters, 400, "invalid_request", oauth=True
    ),
    "token: 10 MB client assertion": Hostile(
        lambda w: w.token_request(
            _form([("grant_type", "client_credentials"), ("client_assertion", "a" * TEN_MB)]),
            "application/x-www-form-urlencoded",
        ),
        400,
        "invalid_request",
        oauth=True,
    ),
    "token: multipart body with a file for grant_type": Hostile(
        lambda w: w.client.post(
            "/oauth2/token", files={"grant_type": ("g.txt", b"client_credentials")}
        ),
        400,
        "invalid_request",
        oauth=True,
    ),
    # --- POST /v1/submissions: signed with the board's real key, so parsing is reached -----
    "submission: duplicate lhb_code keys (last would win)": Hostile(
        lambda w: w.submit(
            _raw_submission(
                '"lhb_code": "7A1", "lhb_code": "7A4", "extract_type": "full", '
                '"extracted_at": "2026-01-15T02:00:00Z"'
            )
        ),
        422,
        "validation_failed",
    ),
    "submission: duplicate local_authority_code keys in a record": Hostile(
        lambda w: w.submit(
            _raw_submission(
                ENVELOPE,
                '"local_authority_code": "W06000022", "local_authority_code": "W06000015"',
            )
        ),
        422,
        "validation_failed",
    ),
    "submission: 1e400 as date_of_birth": Hostile(
        lambda w: w.submit(_raw_submission(ENVELOPE, '"date_of_birth": 1e400')),
        422,
        "validation_failed",
    ),
    "submission: 10**1000 as date_of_birth": Hostile(
        lambda w: w.submit(_raw_submission(ENVELOPE, f'"date_of_birth": {GIGANTIC_INTEGER}')),
        422,
        "validation_failed",
    ),
    "submission: 10**1000 as given_name": Hostile(
        lambda w: w.submit(_raw_submission(ENVELOPE, f'"given_name": {GIGANTIC_INTEGER}')),
        422,
        "validation_failed",
    ),
    "submission: NaN as extracted_at": Hostile(
        lambda w: w.submit(
            _raw_submission('"lhb_code": "7A4", "extract_type": "full", "extracted_at": NaN')
        ),
        422,
        "validation_failed",
    ),
    "submission: -Infinity as sensitive": Hostile(
        lambda w: w.submit(_raw_submission(ENVELOPE, '"sensitive": -Infinity')),
        422,
        "validation_failed",
    ),
    "submission: 100,000-deep nesting in address": Hostile(
        lambda w: w.submit(
            _raw_submission(ENVELOPE, '"address": ' + "[" * 100_000 + "]" * 100_000)
        ),
        422,
        "validation_failed",
    ),
    "submission: invalid UTF-8 bytes in a name": Hostile(
        lambda w: w.submit(encode(_submission()).replace(b"Jones", b"Jo\xff\xfenes")),
        422,
        "validation_failed",
    ),
    "submission: lone surrogate escape in a name": Hostile(
        lambda w: w.submit(encode(_submission()).replace(b"Jones", b"Jo\\ud800nes")),
        422,
        "validation_failed",
    ),
    "submission: ANSI escape (log injection) in a name": Hostile(
        lambda w: w.submit(encode(_submission(given_name="Ce\x1b[2J\nrys"))),
        422,
        "validation_failed",
    ),
    "submission: right-to-left override in a name": Hostile(
        lambda w: w.submit(encode(_submission(family_name="Jo\u202enes"))),
        422,
        "validation_failed",
    ),
    # A C1 control character (Cc, like the C0 ones the pattern refuses) in an address line.
    "submission: C1 control (NEL) in an address line": Hostile(
        lambda w: w.submit(
            encode(_submission(address={"lines": ["12 Heol\u0085y Bont"], "postcode": "CF11 9AB"}))
        ),
        422,
        "validation_failed",
    ),
    "submission: 10 MB given_name": Hostile(
        lambda w: w.submit(encode(_submission(given_name="A" * TEN_MB))),
        422,
        "validation_failed",
    ),
    "submission: wrong types (records an object, sensitive a string)": Hostile(
        lambda w: w.submit(
            encode({**_submission(), "records": {"0": health_record(sensitive="false")}})
        ),
        422,
        "validation_failed",
    ),
    "submission: homoglyph LA code (Cyrillic O)": Hostile(
        lambda w: w.submit(encode(_submission(local_authority_code="W\u041e6000015"))),
        422,
        "validation_failed",
    ),
    "submission: homoglyph lhb_code (Cyrillic A)": Hostile(
        lambda w: w.submit(encode(submission_body([health_record()], lhb_code="7\u04104"))),
        422,
        "validation_failed",
    ),
    "submission: SQL text as submission_id": Hostile(
        lambda w: w.submit(encode(submission_body([health_record()], submission_id=SQL))),
        422,
        "validation_failed",
    ),
    "submission: UTF-16 body": Hostile(
        lambda w: w.submit(json.dumps(_submission()).encode("utf-16")),
        422,
        "validation_failed",
    ),
    "submission: extracted_at at the end of time (9999-12-31T23:59:59-14:00)": Hostile(
        lambda w: w.submit(
            encode(_submission()).replace(b"2026-01-15T02:00:00Z", b"9999-12-31T23:59:59-14:00")
        ),
        422,
        "validation_failed",
    ),
    # --- GET /v1/submissions/{id} --------------------------------------------------------
    "submission receipt: path traversal %2e%2e%2f": Hostile(
        lambda w: w.client.get(
            "/v1/submissions/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd", headers=w.auth("board")
        ),
        404,
        "not_found",
    ),
    "submission receipt: SQL text as the id": Hostile(
        lambda w: w.client.get("/v1/submissions/' OR '1'='1", headers=w.auth("board")),
        422,
        "validation_failed",
    ),
    "submission receipt: null byte in the id": Hostile(
        lambda w: w.client.get("/v1/submissions/%00" + "0" * 35, headers=w.auth("board")),
        422,
        "validation_failed",
    ),
    # --- PUT education records, JSON -----------------------------------------------------
    "education JSON: duplicate as_of keys (last would win)": Hostile(
        lambda w: w.put_education(
            (
                '{"as_of": "1999-01-01", "as_of": "2026-01-20", "records": ['
                + RAW_EDUCATION_RECORD
                + "]}"
            ).encode()
        ),
        422,
        "validation_failed",
    ),
    "education JSON: NaN as as_of": Hostile(
        lambda w: w.put_education(b'{"as_of": NaN, "records": []}'),
        422,
        "validation_failed",
    ),
    "education JSON: 10 MB provider_name": Hostile(
        lambda w: w.put_education(
            json.dumps(
                {
                    "as_of": "2026-01-20",
                    "records": [
                        {**json.loads(RAW_EDUCATION_RECORD), "provider_name": "Y" * TEN_MB}
                    ],
                }
            ).encode()
        ),
        422,
        "validation_failed",
    ),
    "education JSON: records is a string": Hostile(
        lambda w: w.put_education(b'{"as_of": "2026-01-20", "records": "all of them"}'),
        422,
        "validation_failed",
    ),
    # --- PUT education records, CSV ------------------------------------------------------
    "education CSV: a 200 KB cell (over the csv module's field limit)": Hostile(
        lambda w: w.put_education(
            _csv(CSV_HEADER, "2026-01-20,upn-1,Cerys,", "J" * 200_000, ",2015-03-02,ehe\n"),
            "text/csv",
        ),
        422,
        "validation_failed",
    ),
    "education CSV: invalid UTF-8": Hostile(
        lambda w: w.put_education(
            CSV_HEADER.encode() + b"2026-01-20,upn-1,Ce\xffrys,Jones,2015-03-02,ehe\n", "text/csv"
        ),
        422,
        "validation_failed",
    ),
    "education CSV: null byte in a name": Hostile(
        lambda w: w.put_education(
            _csv(CSV_HEADER, "2026-01-20,upn-1,Ce\x00rys,Jones,2015-03-02,maintained_school\n"),
            "text/csv",
        ),
        422,
        "validation_failed",
    ),
    "education CSV: duplicate given_name column (last would win)": Hostile(
        lambda w: w.put_education(
            _csv(
                "as_of,record_id,given_name,given_name,family_name,date_of_birth,provision\n",
                "2026-01-20,upn-1,Cerys,Mallory,Jones,2015-03-02,maintained_school\n",
            ),
            "text/csv",
        ),
        422,
        "validation_failed",
    ),
    "education CSV: more cells than header columns": Hostile(
        lambda w: w.put_education(
            _csv(CSV_HEADER, CSV_ROW.rstrip("\n") + ",W06000022,extra\n"), "text/csv"
        ),
        422,
        "validation_failed",
    ),
    "education CSV: rows disagree on as_of": Hostile(
        lambda w: w.put_education(
            _csv(CSV_HEADER, CSV_ROW, "1999-01-01,upn-2,Dafydd,Jones,2015-03-02,eotas\n"),
            "text/csv",
        ),
        422,
        "validation_failed",
    ),
    "education CSV: undocumented address_line_10 column": Hostile(
        lambda w: w.put_education(
            _csv(
                CSV_HEADER.rstrip("\n") + ",address_line_2,address_line_10\n",
                CSV_ROW.rstrip("\n") + ",Second,Tenth\n",
            ),
            "text/csv",
        ),
        422,
        "validation_failed",
    ),
    "education CSV: unbalanced quote": Hostile(
        lambda w: w.put_education(
            _csv(CSV_HEADER, '2026-01-20,upn-1,"Cerys,Jones,2015-03-02,maintained_school\n'),
            "text/csv",
        ),
        422,
        "validation_failed",
    ),
    # --- reconciliations -----------------------------------------------------------------
    "reconciliation: SQL text as the id": Hostile(
        lambda w: w.get(f"{LA}/reconciliations/' OR 1=1 --"), 422, "validation_failed"
    ),
    "reconciliation: path traversal %2e%2e%2f as the id": Hostile(
        lambda w: w.get(f"{LA}/reconciliations/%2e%2e%2f%2e%2e%2fcme-cases"), 404, "not_found"
    ),
    "reconciliation: homoglyph LA code in the path": Hostile(
        lambda w: w.client.post(
            "/v1/local-authorities/W\uff106000015/reconciliations", headers=w.auth("cardiff")
        ),
        422,
        "validation_failed",
    ),
    # --- GET cme-cases -------------------------------------------------------------------
    "cases: limit 10**1000": Hostile(
        lambda w: w.get(CASES, params={"limit": GIGANTIC_INTEGER}), 422, "validation_failed"
    ),
    "cases: limit 1e400": Hostile(
        lambda w: w.get(CASES, params={"limit": "1e400"}), 422, "validation_failed"
    ),
    "cases: limit NaN": Hostile(
        lambda w: w.get(CASES, params={"limit": "NaN"}), 422, "validation_failed"
    ),
    # ASVS 5.1.1 (HTTP parameter pollution): a repeated parameter is ambiguous; refuse it.
    "cases: limit repeated, over-limit first (last would win)": Hostile(
        lambda w: w.get(f"{CASES}?limit=5000&limit=1"), 422, "validation_failed"
    ),
    "cases: SQL text as status": Hostile(
        lambda w: w.get(CASES, params={"status": "open' OR '1'='1"}), 422, "validation_failed"
    ),
    "cases: SQL text as reason": Hostile(
        lambda w: w.get(CASES, params={"reason": SQL}), 422, "validation_failed"
    ),
    "cases: SQL text as updated_since": Hostile(
        lambda w: w.get(CASES, params={"updated_since": SQL}), 422, "validation_failed"
    ),
    "cases: updated_since whose UTC is before year 1": Hostile(
        lambda w: w.get(CASES, params={"updated_since": "0001-01-01T00:00:00+14:00"}),
        422,
        "validation_failed",
    ),
    "cases: garbled cursor (not base64)": Hostile(
        lambda w: w.get(CASES, params={"cursor": "!!!$$$"}), 400, "invalid_cursor"
    ),
    "cases: forged cursor decoding to a list": Hostile(
        lambda w: w.get(CASES, params={"cursor": _cursor([1, 2])}), 400, "invalid_cursor"
    ),
    "cases: forged cursor with 1e400": Hostile(
        lambda w: w.get(
            CASES,
            params={"cursor": base64.urlsafe_b64encode(b'{"u":1e400,"i":"x"}').decode()},
        ),
        400,
        "invalid_cursor",
    ),
    "cases: forged cursor with a null byte in the case id": Hostile(
        lambda w: w.get(
            CASES, params={"cursor": _cursor({"u": "2026-01-01T00:00:00+00:00", "i": "a\x00b"})}
        ),
        400,
        "invalid_cursor",
    ),
    "cases: forged cursor at the end of time (9999-12-31T23:59:59-14:00)": Hostile(
        lambda w: w.get(
            CASES, params={"cursor": _cursor({"u": "9999-12-31T23:59:59-14:00", "i": "x"})}
        ),
        400,
        "invalid_cursor",
    ),
    "cases: cursor over 200 characters": Hostile(
        lambda w: w.get(CASES, params={"cursor": "A" * 201}), 422, "validation_failed"
    ),
    "cases: homoglyph LA code (fullwidth zero) in the path": Hostile(
        lambda w: w.get("/v1/local-authorities/W\uff106000015/cme-cases"),
        422,
        "validation_failed",
    ),
    "cases: path traversal ..%2f before the LA code": Hostile(
        lambda w: w.get(f"/v1/local-authorities/..%2f{CARDIFF}/cme-cases"), 404, "not_found"
    ),
    # Legitimate reads: the hostile part is harmless and the answer is the caller's own data.
    "cases: unknown query parameter is ignored": Hostile(
        lambda w: w.get(CASES, params={"la_code": "W06000022", "debug": "1"}), 200, read=True
    ),
    # Well-formed JSON, but the id is not a case id: refused before any query sees it.
    "cases: forged but well-formed cursor with SQL text in the case id": Hostile(
        lambda w: w.get(
            CASES, params={"cursor": _cursor({"u": "2000-01-01T00:00:00+00:00", "i": SQL})}
        ),
        400,
        "invalid_cursor",
    ),
    # --- GET one case --------------------------------------------------------------------
    "case: path traversal %2e%2e%2f as the id": Hostile(
        lambda w: w.get(f"{CASES}/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd"), 404, "not_found"
    ),
    "case: SQL text as the id": Hostile(
        lambda w: w.get(f"{CASES}/' OR 1=1 --"), 422, "validation_failed"
    ),
    "case: a well-formed id that is not a case": Hostile(
        lambda w: w.get(f"{CASES}/{'-' * 36}"), 404, "not_found"
    ),
    # --- PATCH a case --------------------------------------------------------------------
    "patch: duplicate outcome keys (last would win)": Hostile(
        lambda w: w.patch_case(b'{"status": "closed", "outcome": "other", "outcome": "deceased"}'),
        422,
        "validation_failed",
    ),
    "patch: NaN as note": Hostile(
        lambda w: w.patch_case(b'{"note": NaN}'), 422, "validation_failed"
    ),
    "patch: 1e400 as note": Hostile(
        lambda w: w.patch_case(b'{"note": 1e400}'), 422, "validation_failed"
    ),
    "patch: null byte in note": Hostile(
        lambda w: w.patch_case(b'{"note": "a\\u0000b"}'), 422, "validation_failed"
    ),
    "patch: control character in the corrected given_name": Hostile(
        lambda w: w.patch_case(b'{"child": {"given_name": "Tomos\\u0007"}}'),
        422,
        "validation_failed",
    ),
    "patch: 10 MB note": Hostile(
        lambda w: w.patch_case(json.dumps({"note": "x" * TEN_MB}).encode()),
        413,
        "payload_too_large",
    ),
    "patch: 5,000-deep nesting in child": Hostile(
        lambda w: w.patch_case(b'{"child": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001),
        422,
        "validation_failed",
    ),
    "patch: invalid UTF-8": Hostile(
        lambda w: w.patch_case(b'{"note": "\xff\xfe"}'), 422, "validation_failed"
    ),
    "patch: wrong type for status": Hostile(
        lambda w: w.patch_case(b'{"status": true, "outcome": "other"}'), 422, "validation_failed"
    ),
    "patch: homoglyph receiving authority": Hostile(
        lambda w: w.patch_case(
            json.dumps(
                {
                    "status": "closed",
                    "outcome": "moved_to_another_authority",
                    "receiving_local_authority": "W06000\u041e22",
                }
            ).encode()
        ),
        422,
        "validation_failed",
    ),
    "patch: SQL text as receiving authority": Hostile(
        lambda w: w.patch_case(
            json.dumps(
                {
                    "status": "closed",
                    "outcome": "moved_to_another_authority",
                    "receiving_local_authority": SQL,
                }
            ).encode()
        ),
        422,
        "validation_failed",
    ),
    "patch: 10,000 stale If-Match tags": Hostile(
        lambda w: w.patch_case(b'{"note": "x"}', **{"If-Match": '"a", ' * 10_000 + '"b"'}),
        412,
        "precondition_failed",
    ),
    # --- GET /v1/statistics and the bearer token -----------------------------------------
    "statistics: null byte in the bearer token": Hostile(
        lambda w: w.client.get("/v1/statistics", headers={"Authorization": "Bearer a\x00b"}),
        401,
        "unauthenticated",
    ),
    "statistics: SQL text as the bearer token": Hostile(
        lambda w: w.client.get("/v1/statistics", headers={"Authorization": f"Bearer {SQL}"}),
        401,
        "unauthenticated",
    ),
    "statistics: 100 KB bearer token": Hostile(
        lambda w: w.client.get(
            "/v1/statistics", headers={"Authorization": "Bearer " + "a" * 100_000}
        ),
        401,
        "unauthenticated",
    ),
    "statistics: SQL text in an unknown query parameter is ignored": Hostile(
        lambda w: w.client.get(
            "/v1/statistics", params={"la_code": SQL}, headers=w.auth("statistician")
        ),
        200,
        read=True,
    ),
}


@pytest.mark.parametrize("name", CATALOGUE, ids=list(CATALOGUE))
def test_hostile_input_is_refused_and_changes_nothing(
    app: FastAPI, world: World, name: str
) -> None:
    hostile = CATALOGUE[name]
    before = snapshot(app.state.engine)

    response = hostile.send(world)

    after = snapshot(app.state.engine)
    assert_no_leak(response)
    if hostile.read:
        assert response.status_code == hostile.status, response.text[:500]
    elif hostile.oauth:
        assert_oauth_error(response, hostile.status, hostile.code)
    else:
        assert_problem(response, hostile.status, hostile.code)
    assert_unchanged(before, after, read=hostile.read)


def test_the_catalogue_covers_every_endpoint_with_at_least_40_cases() -> None:
    prefixes = {name.split(":")[0] for name in CATALOGUE}
    assert len(CATALOGUE) >= 40
    assert {
        "token",
        "submission",
        "submission receipt",
        "education JSON",
        "education CSV",
        "reconciliation",
        "cases",
        "case",
        "patch",
        "statistics",
    } <= prefixes


# --- accepted but harmless: stored literally, never interpreted ------------------------


def _stored_health_record(db: Session, record_id: str) -> HealthRecord:
    db.rollback()
    row = db.scalar(select(HealthRecord).where(HealthRecord.record_id == record_id))
    assert row is not None
    db.expunge_all()
    db.rollback()
    return row


def test_sql_text_in_names_and_ids_is_stored_literally(world: World, db: Session) -> None:
    record_id = "'--;DROP_TABLE_cme_cases;--"
    body = encode(
        submission_body(
            [health_record(record_id=record_id, given_name=SQL, family_name="O'Brien\"; --")]
        )
    )

    response = world.submit(body)

    assert response.status_code == 201, response.text
    assert_no_leak(response)
    row = _stored_health_record(db, record_id)
    assert (row.given_name, row.family_name) == (SQL, "O'Brien\"; --")
    db.rollback()
    assert db.scalar(select(CmeCase.case_id).where(CmeCase.case_id == world.case_id))
    db.rollback()


def test_sql_text_in_a_patch_is_stored_literally(world: World, db: Session) -> None:
    response = world.patch_case(
        json.dumps(
            {"note": SQL, "child": {"family_name": "Robert'); DROP TABLE clients;--"}}
        ).encode()
    )

    assert response.status_code == 200, response.text
    assert_no_leak(response)
    db.rollback()
    case = db.get(CmeCase, world.case_id, populate_existing=True)
    assert case is not None
    assert case.note == SQL
    assert case.child["family_name"] == "Robert'); DROP TABLE clients;--"
    db.rollback()


def test_formula_text_in_an_education_csv_is_stored_literally(world: World, db: Session) -> None:
    from services.store.tables import EducationRecord

    quoted = '"' + HYPERLINK.replace('"', '""') + '"'
    body = _csv(CSV_HEADER, f"2026-01-20,upn-1,{quoted},+Evans,2015-03-02,maintained_school\n")

    response = world.put_education(body, "text/csv")

    assert response.status_code == 200, response.text
    db.rollback()
    row = db.scalar(select(EducationRecord))
    assert row is not None
    assert (row.given_name, row.family_name) == (HYPERLINK, "+Evans")
    db.rollback()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def test_formula_text_from_a_submission_comes_out_of_the_csv_export_neutralised(
    app: FastAPI, world: World, db: Session
) -> None:
    """End to end: a board sends formula text in every free-text field that reaches the
    export, reconciliation turns the child into a case, and the authority's CSV export
    shows every such cell as text (prefixed with ')."""
    from services.linkage import LinkageSettings
    from services.reconciliation.worker import work_once

    record = health_record(
        record_id="=1+2",
        given_name=HYPERLINK,
        middle_names="@SUM(A1:A9)",
        family_name="+cmd|' /C calc'!A0",
        former_names=[{"given_name": "-2+3", "family_name": "=Price"}],
        address={"lines": ["=1+1", "Treganna"], "postcode": "CF11 9AB", "last_known": False},
        date_of_birth="2012-12-12",
    )
    assert world.submit(encode(submission_body([record]))).status_code == 201
    assert world.put_education(b'{"as_of": "2026-01-20", "records": []}').status_code == 200
    assert work_once(sessions=app.state.sessions, settings=LinkageSettings()) is not None

    response = world.get(CASES, headers={"Accept": "text/csv"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    exported = next(r for r in rows if r["record_id"].endswith("=1+2"))
    assert exported["record_id"] == "'=1+2"
    assert exported["given_name"] == "'" + HYPERLINK
    assert exported["middle_names"] == "'@SUM(A1:A9)"
    assert exported["family_name"] == "'+cmd|' /C calc'!A0"
    assert exported["former_names"] == "'-2+3 =Price"
    assert exported["address_lines"] == "'=1+1 | Treganna"
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(FORMULA_STARTS), (column, cell)
    db.rollback()
