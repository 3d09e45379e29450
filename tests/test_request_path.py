"""The cheap request path keeps every guarantee of the one it replaced: a remembered token
is still refused at once when its client is disabled, every read is still audited, and
the case pages written by the fast encoder are byte for byte what the pydantic models write.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from schemas.cases import CasePage
from services.access import tokens
from services.access.clients import disable_client
from services.access.tokens import VerifiedTokens
from services.audit.chainer import chain_all
from services.audit.trail import verify
from services.caller import Caller
from services.cases.wire import case_document, case_out
from services.settings import Settings
from services.store import db as db_module
from services.store.db import make_engine
from services.store.tables import AuditEvent, AuditInbox, CmeCase
from tests.conftest import PostgresDatabase, _admin_conninfo
from tests.factories import Credentials, access_token, make_case, make_client

CARDIFF = "W06000015"
CASES = f"/v1/local-authorities/{CARDIFF}/cme-cases"
ISSUER = "http://testserver"


@pytest.fixture
def officer(db: Session) -> Credentials:
    credentials = make_client(db, org=CARDIFF, scopes=["cme:read", "cme:write", "cme:sensitive"])
    db.commit()
    return credentials


# ------------------------------------------------------------------ remembered tokens


def test_a_disabled_clients_remembered_token_is_refused_at_once(
    app: FastAPI, http: TestClient, db: Session, officer: Credentials
) -> None:
    headers = {"Authorization": f"Bearer {access_token(http, officer)}"}
    assert http.get(CASES, headers=headers).status_code == 200
    remembered = app.state.verified_tokens
    assert len(remembered._verified) == 1  # its signature is not checked again

    disable_client(session=db, caller=Caller.operator(), client_id=officer.client_id)
    db.commit()

    refused = http.get(CASES, headers=headers)
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthenticated"


def test_a_token_is_verified_once_then_remembered_until_it_expires(
    app: FastAPI, http: TestClient, officer: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = access_token(http, officer)
    checked: list[str] = []
    real = tokens._verify_access_token

    def counting(token: str, **kwargs: Any) -> Any:
        checked.append(token)
        return real(token, **kwargs)

    monkeypatch.setattr(tokens, "_verify_access_token", counting)
    remembered = VerifiedTokens(service_key=app.state.service_key, issuer=ISSUER)
    now = datetime.now(UTC)

    first = remembered.claims(token, now)
    again = remembered.claims(token, now + timedelta(minutes=10))
    expired = remembered.claims(token, now + timedelta(minutes=16))

    assert first is not None
    assert again == first
    assert expired is None
    assert checked == [token]


def test_only_valid_tokens_are_remembered_and_the_oldest_are_forgotten(
    app: FastAPI, http: TestClient, officer: Credentials
) -> None:
    remembered = VerifiedTokens(service_key=app.state.service_key, issuer=ISSUER, max_entries=2)
    issued = [access_token(http, officer) for _ in range(3)]

    assert remembered.claims("not.a.token") is None
    assert remembered.claims(issued[0][:-4] + "AAAA") is None
    for token in issued:
        assert remembered.claims(token) is not None

    assert len(remembered._verified) == 2
    assert remembered.claims(issued[0]) is not None  # verified again, not remembered


# ---------------------------------------------------------------------- every read audited


def test_every_page_and_case_read_is_audited_in_its_own_transaction(
    http: TestClient, db: Session, officer: Credentials
) -> None:
    cases = [make_case(db) for _ in range(3)]
    headers = {"Authorization": f"Bearer {access_token(http, officer)}"}

    for _ in range(2):
        assert http.get(f"{CASES}?limit=2", headers=headers).status_code == 200
    for case in cases:
        assert http.get(f"{CASES}/{case.case_id}", headers=headers).status_code == 200
    assert (
        http.get(f"{CASES}/{'0' * 8}-0000-4000-8000-{'0' * 12}", headers=headers).status_code == 404
    )

    db.rollback()
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(["case.listed", "case.read"]))
    ).all()
    assert [(e.action, e.client_id, e.record_count) for e in events] == [
        ("case.listed", officer.client_id, 2),
        ("case.listed", officer.client_id, 2),
        *[("case.read", officer.client_id, None)] * 3,
    ]
    assert [e.object_ids for e in events[2:]] == [[c.case_id] for c in cases]


def test_in_background_mode_reads_are_audited_through_the_inbox_and_chained(
    settings: Settings,
) -> None:
    app = create_app(settings.model_copy(update={"audit_chain": "background"}))
    with TestClient(app) as http:
        with app.state.sessions() as session:
            credentials = make_client(session, org=CARDIFF, scopes=["cme:read"])
            session.commit()
            case = make_case(session)
        headers = {"Authorization": f"Bearer {access_token(http, credentials)}"}
        for _ in range(3):
            assert http.get(CASES, headers=headers).status_code == 200
            assert http.get(f"{CASES}/{case.case_id}", headers=headers).status_code == 200
        chain_all(app.state.sessions)
        with app.state.sessions() as session:
            reads = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action.in_(["case.listed", "case.read"]))
            )
            waiting = session.scalar(select(func.count()).select_from(AuditInbox))
            checked, broken = verify(session=session)
    assert (reads, waiting, broken) == (6, 0, None)
    assert checked >= 6


# -------------------------------------------------------------- the fast encoder's output


def _variety(db: Session) -> list[CmeCase]:
    """Cases in every shape the wire has: sensitive (no address), handed over, reviewed
    with candidates (one probability stored as a whole number), closed with history,
    characters that JSON must escape, and timestamps with and without microseconds."""
    moment = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
    return [
        make_case(db, sensitive=True, updated_at=moment - timedelta(days=3)),
        # Stored before addresses carried `last_known`: shaped field by field, not as stored.
        make_case(
            db,
            updated_at=moment - timedelta(days=2, hours=1),
            child={"address": {"lines": ["3 Heol Fach"], "postcode": "CF5 1AA"}},
        ),
        make_case(
            db,
            updated_at=moment - timedelta(days=2),
            transferred_from_la_code="W06000011",
            transfer_started_at=moment.replace(microsecond=0),
            transfer_acknowledged_at=None,
            child={
                "middle_names": "Siôn Dafydd",
                "former_names": [{"given_name": None, "family_name": "Ap Rhys"}],
            },
        ),
        make_case(
            db,
            updated_at=moment - timedelta(days=1),
            reason="possible_match_needs_review",
            candidates=[
                {
                    "education_record_id": "ehe-000042",
                    "provision": "ehe",
                    "match_probability": 1,
                    "agreement": {"given_name": "exact", "postcode": "different"},
                },
                {
                    "education_record_id": "upn-000043",
                    "provision": "maintained_school",
                    "match_probability": 0.615,
                    "agreement": {"given_name": "fuzzy"},
                },
            ],
        ),
        make_case(
            db,
            updated_at=moment,
            status="closed",
            outcome="moved_to_another_authority",
            closed_at=moment,
            note='Llythyr "dwyieithog"\nsent\t</script> \u2028 ✓',
            child={
                "sex": None,
                "nhs_number": None,
                "address": {
                    "lines": ["Fflat 2", "1 Stryd y Castell"],
                    "postcode": "SA1 1AA",
                    "last_known": True,
                },
            },
            history=[
                {
                    "at": "2026-01-20T03:10:00+00:00",
                    "event": "opened",
                    "reason": "not_found_in_education_records",
                },
                {
                    "at": "2026-02-01T09:00:00.250000+00:00",
                    "event": "received",
                    "local_authority": "W06000011",
                    "details_differ": ["address"],
                },
                {
                    "at": moment.isoformat(),
                    "event": "closed",
                    "outcome": "moved_to_another_authority",
                    "local_authority": "england",
                },
            ],
        ),
    ]


def _row(case: CmeCase) -> dict[str, Any]:
    return {column.key: getattr(case, column.key) for column in CmeCase.__table__.columns}


def test_case_documents_encode_to_the_models_json(db: Session) -> None:
    for case in _variety(db):
        fast = orjson.dumps(case_document(_row(case)), option=orjson.OPT_UTC_Z)
        assert fast == case_out(case).model_dump_json().encode(), case.case_id


def test_the_case_page_and_case_bodies_are_the_models_json(
    http: TestClient, db: Session, officer: Credentials
) -> None:
    variety = _variety(db)
    headers = {"Authorization": f"Bearer {access_token(http, officer)}"}

    db.expire_all()
    stored = db.scalars(select(CmeCase).order_by(CmeCase.updated_at, CmeCase.case_id)).all()
    db.expunge_all()
    db.rollback()  # SQLite: the service's requests need the database's lock
    assert [case.case_id for case in stored] == [case.case_id for case in variety]

    page = http.get(f"{CASES}?limit=3", headers=headers)
    expected = CasePage(
        items=[case_out(c) for c in stored[:3]], next_cursor=page.json()["next_cursor"]
    )
    assert page.headers["content-type"] == "application/json"
    assert page.content == expected.model_dump_json().encode()
    assert expected.next_cursor is not None
    for case in stored:
        one = http.get(f"{CASES}/{case.case_id}", headers=headers)
        assert one.content == case_out(case).model_dump_json().encode()
        assert one.headers["etag"] == f'"{case.case_id}.{case.version}"'


# ------------------------------------------------------------- pooled connections


def test_only_idle_connections_are_pinged_and_a_dropped_one_is_replaced(
    postgres_database: PostgresDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(postgres_database.url, pool_size=1, max_overflow=0)
    pings: list[object] = []
    real_ping = engine.dialect.do_ping

    def counted_ping(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted_ping)
    try:
        with engine.connect() as connection:
            backend = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with engine.connect() as connection:  # in steady use: no round trip to ping it
            assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() == backend
        assert pings == []

        with psycopg.connect(_admin_conninfo(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # it sat idle

        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != backend
        assert len(pings) == 1
    finally:
        engine.dispose()
