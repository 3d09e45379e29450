"""The service's default audit chain (background), where case pages and single cases are
read and audited by one statement on PostgreSQL's event-loop connections, and by one
thread-pool call on SQLite: the same answers, the same events, the same refusals, and no
case served whose audit event could not be written.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import PoolTimeout
from sqlalchemy import func, select, text
from sqlalchemy.exc import TimeoutError as EnginePoolTimeout
from sqlalchemy.orm import Session

from api import reads
from api.app import create_app
from schemas.cases import CasePage
from services.access.clients import add_key, revoke_key
from services.access.keys import generate_key_pair, load_private_key
from services.audit.chainer import chain_all
from services.audit.trail import verify
from services.caller import Caller
from services.cases import queries
from services.cases.wire import case_out
from services.settings import Settings
from services.store.tables import AuditEvent, AuditInbox, CmeCase
from tests.factories import Credentials, access_token, make_case, make_client

CARDIFF, SWANSEA = "W06000015", "W06000011"
CASES = f"/v1/local-authorities/{CARDIFF}/cme-cases"


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings.model_copy(update={"audit_chain": "background"}))


@pytest.fixture
def http(app: FastAPI) -> Iterator[TestClient]:
    # A server error answers 500 here as in production: a test below reads those answers.
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def on_postgres(settings: Settings) -> bool:
    return settings.database_url.startswith("postgresql")


@pytest.fixture
def officer(db: Session) -> Credentials:
    credentials = make_client(db, org=CARDIFF, scopes=["cme:read", "cme:write"])
    db.commit()
    return credentials


@pytest.fixture
def bearer(http: TestClient, officer: Credentials) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token(http, officer)}"}


@pytest.fixture
def session_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The reads that went through a session (services/cases/queries.py), by name."""
    used: list[str] = []
    for name in ("list_case_rows", "get_case_row"):
        real = getattr(queries, name)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            used.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(queries, name, spy)
    return used


def _events(app: FastAPI, *actions: str) -> list[AuditEvent]:
    chain_all(app.state.sessions)
    with app.state.sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.seq)
            )
        )


def _recorded(db: Session) -> int:
    """Events recorded, chained or not: the chainer thread moves them meanwhile."""
    db.rollback()
    inbox = select(func.count()).select_from(AuditInbox).scalar_subquery()
    chained = select(func.count()).select_from(AuditEvent).scalar_subquery()
    return int(db.scalar(select(inbox + chained)) or 0)  # one statement, one snapshot


def test_postgres_reads_in_one_statement_and_sqlite_in_a_session(
    app: FastAPI,
    http: TestClient,
    db: Session,
    bearer: dict[str, str],
    session_reads: list[str],
    on_postgres: bool,
) -> None:
    case = make_case(db)

    assert http.get(CASES, headers=bearer).status_code == 200
    assert http.get(f"{CASES}/{case.case_id}", headers=bearer).status_code == 200

    assert session_reads == ([] if on_postgres else ["list_case_rows", "get_case_row"])
    assert (app.state.read_pool is not None) == on_postgres


def test_pages_and_cases_are_the_models_json_and_every_read_is_chained(
    app: FastAPI, http: TestClient, db: Session, bearer: dict[str, str], officer: Credentials
) -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
    made = [make_case(db, updated_at=moment - timedelta(days=n)) for n in range(5)]
    made.append(make_case(db, sensitive=True))  # not for this caller's clearance
    made.append(make_case(db, la_code=SWANSEA))  # another authority's
    db.expire_all()
    stored = db.scalars(
        select(CmeCase)
        .where(CmeCase.la_code == CARDIFF, CmeCase.sensitive.is_(False))
        .order_by(CmeCase.updated_at, CmeCase.case_id)
    ).all()
    db.expunge_all()
    db.rollback()
    assert len(stored) == 5

    bodies, target = [], f"{CASES}?limit=2"
    while True:
        page = http.get(target, headers=bearer)
        assert page.status_code == 200
        bodies.append(page.content)
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
        target = f"{CASES}?limit=2&cursor={cursor}"
    for case in stored:
        one = http.get(f"{CASES}/{case.case_id}", headers=bearer)
        assert one.content == case_out(case).model_dump_json().encode()
        assert one.headers["etag"] == f'"{case.case_id}.{case.version}"'

    pages = [CasePage.model_validate_json(body) for body in bodies]
    assert [[item.case_id for item in page.items] for page in pages] == [
        [c.case_id for c in stored[0:2]],
        [c.case_id for c in stored[2:4]],
        [c.case_id for c in stored[4:5]],
    ]
    expected = [
        CasePage(items=[case_out(c) for c in stored[i : i + 2]], next_cursor=page.next_cursor)
        for i, page in zip(range(0, 5, 2), pages, strict=True)
    ]
    assert bodies == [page.model_dump_json().encode() for page in expected]
    events = _events(app, "case.listed", "case.read")
    assert [(e.action, e.object_ids, e.record_count, e.client_id) for e in events] == [
        ("case.listed", [c.case_id for c in stored[0:2]], 2, officer.client_id),
        ("case.listed", [c.case_id for c in stored[2:4]], 2, officer.client_id),
        ("case.listed", [stored[4].case_id], 1, officer.client_id),
        *[("case.read", [c.case_id], None, officer.client_id) for c in stored],
    ]
    assert all(e.org_code == CARDIFF and e.request_id for e in events)
    with app.state.sessions() as session:
        assert verify(session=session)[1] is None


def test_filters_and_an_empty_page_are_read_and_audited(
    app: FastAPI, http: TestClient, db: Session, bearer: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    old = make_case(db, updated_at=now - timedelta(days=10))
    closed = make_case(
        db, status="closed", outcome="registered_at_school", closed_at=now, updated_at=now
    )
    review = make_case(db, reason="possible_match_needs_review", updated_at=now)
    since = (now - timedelta(days=1)).isoformat().replace("+00:00", "Z")

    def ids(query: str) -> list[str]:
        page = http.get(f"{CASES}?{query}", headers=bearer)
        assert page.status_code == 200, page.text
        return [item["case_id"] for item in page.json()["items"]]

    assert ids("status=closed") == [closed.case_id]
    assert ids("reason=possible_match_needs_review") == [review.case_id]
    assert sorted(ids(f"updated_since={since}")) == sorted([closed.case_id, review.case_id])
    assert ids("status=open&reason=not_found_in_education_records") == [old.case_id]
    assert ids("status=closed&reason=possible_match_needs_review") == []

    listed = _events(app, "case.listed")
    assert [(e.record_count, len(e.object_ids)) for e in listed][-1] == (0, 0)
    assert len(listed) == 5


def test_another_authoritys_or_a_sensitive_case_is_not_found_and_not_audited(
    app: FastAPI, http: TestClient, db: Session, bearer: dict[str, str]
) -> None:
    elsewhere = make_case(db, la_code=SWANSEA)
    sensitive = make_case(db, sensitive=True)

    for case in (elsewhere, sensitive):
        missing = http.get(f"{CASES}/{case.case_id}", headers=bearer)
        assert missing.status_code == 404
        assert missing.json()["code"] == "not_found"
    other_path = http.get(
        f"/v1/local-authorities/{SWANSEA}/cme-cases/{elsewhere.case_id}", headers=bearer
    )
    assert other_path.status_code == 404

    assert _events(app, "case.read") == []


def test_a_case_whose_audit_event_cannot_be_written_is_not_served(
    app: FastAPI, http: TestClient, db: Session, bearer: dict[str, str], on_postgres: bool
) -> None:
    case = make_case(db)
    before = _recorded(db)
    if on_postgres:
        db.execute(
            text(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'audit store refused'; END $$"
            )
        )
        db.execute(
            text("CREATE TRIGGER refuse BEFORE INSERT ON audit_inbox EXECUTE FUNCTION refuse()")
        )
    else:
        db.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON audit_inbox "
                "BEGIN SELECT RAISE(ABORT, 'audit store refused'); END"
            )
        )
    db.commit()
    try:
        for target in (CASES, f"{CASES}/{case.case_id}"):
            refused = http.get(target, headers=bearer)
            assert refused.status_code == 500
            assert refused.json()["code"] == "internal_error"
            assert case.case_id not in refused.text
            assert "Tomos" not in refused.text
        assert _recorded(db) == before
    finally:
        db.rollback()
        db.execute(text("DROP TRIGGER refuse" + (" ON audit_inbox" if on_postgres else "")))
        if on_postgres:
            db.execute(text("DROP FUNCTION refuse()"))
        db.commit()


def test_a_revoked_key_ends_its_token_at_once(
    http: TestClient, db: Session, bearer: dict[str, str], officer: Credentials
) -> None:
    assert http.get(CASES, headers=bearer).status_code == 200

    revoke_key(session=db, caller=Caller.operator(), client_id=officer.client_id, kid=officer.kid)
    db.commit()

    for target in (CASES, f"{CASES}/{make_case(db).case_id}"):
        refused = http.get(target, headers=bearer)
        assert refused.status_code == 401
        assert refused.json()["code"] == "unauthenticated"


def test_no_free_connection_answers_database_busy(
    app: FastAPI,
    http: TestClient,
    db: Session,
    bearer: dict[str, str],
    on_postgres: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = make_case(db)
    if on_postgres:
        # After the grant check, which had its connection: the read's own wait fails.
        monkeypatch.setattr(reads, "reads_in_one_statement", lambda request: _Exhausted())
    else:

        def exhausted(*args: Any, **kwargs: Any) -> Any:
            raise EnginePoolTimeout("QueuePool limit reached")

        monkeypatch.setattr(reads, "_case_in_one_transaction", exhausted)
    busy = http.get(f"{CASES}/{case.case_id}", headers=bearer)
    assert busy.status_code == 503
    assert busy.json()["code"] == "database_busy"
    assert busy.headers["retry-after"] == "2"


# ------------------------------------------ a revoked token, whatever else is wrong


@pytest.mark.parametrize(
    "target",
    [
        f"{CASES}?limit=0",  # a malformed query
        f"{CASES}?cursor=not-one-of-ours",  # a cursor the service never issued
        f"{CASES}?updated_since=2001-01-01T00:00:00",  # a timestamp without its offset
        f"/v1/local-authorities/{SWANSEA}/cme-cases",  # another authority's path
        f"{CASES}/{'0' * 8}-0000-4000-8000-{'0' * 12}",  # no such case
    ],
)
def test_a_revoked_token_is_refused_as_such_before_any_other_refusal(
    http: TestClient, db: Session, bearer: dict[str, str], officer: Credentials, target: str
) -> None:
    assert http.get(target, headers=bearer).status_code in (400, 404, 422)

    revoke_key(session=db, caller=Caller.operator(), client_id=officer.client_id, kid=officer.kid)
    db.commit()

    refused = http.get(target, headers=bearer)
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthenticated"
    assert refused.headers["www-authenticate"] == 'Bearer realm="cme-exchange"'


def test_a_revoked_token_without_the_scope_is_refused_as_revoked(
    http: TestClient, db: Session
) -> None:
    writer = make_client(db, org=CARDIFF, scopes=["cme:write"])
    db.commit()
    headers = {"Authorization": f"Bearer {access_token(http, writer)}"}
    assert http.get(CASES, headers=headers).json()["code"] == "insufficient_scope"

    revoke_key(session=db, caller=Caller.operator(), client_id=writer.client_id, kid=writer.kid)
    db.commit()

    assert http.get(CASES, headers=headers).json()["code"] == "unauthenticated"


def test_a_revoked_tokens_requests_never_spend_its_clients_rate_limit(
    settings: Settings, db: Session, officer: Credentials
) -> None:
    limited = settings.model_copy(
        update={"audit_chain": "background", "rate_limit_per_minute": 1, "rate_limit_burst": 3}
    )
    app = create_app(limited)
    with TestClient(app) as http:
        revoked = {"Authorization": f"Bearer {access_token(http, officer)}"}
        pem, public = generate_key_pair("ec")
        kid = add_key(session=db, caller=Caller.operator(), client_id=officer.client_id, key=public)
        revoke_key(
            session=db, caller=Caller.operator(), client_id=officer.client_id, kid=officer.kid
        )
        db.commit()
        key, alg = load_private_key(pem)
        current = Credentials(officer.client_id, officer.org, key, alg, kid, pem)
        headers = {"Authorization": f"Bearer {access_token(http, current)}"}

        assert [http.get(CASES, headers=revoked).status_code for _ in range(5)] == [401] * 5
        answered = [http.get(CASES, headers=headers).status_code for _ in range(4)]

    assert answered == [200, 200, 200, 429]


class _Exhausted:
    """A read pool with no connection free in time."""

    def connection(self) -> Any:
        raise PoolTimeout("couldn't get a connection after 10.00 sec")
