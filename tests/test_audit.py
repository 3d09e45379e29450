"""The audit trail: hash-chained, append-only, serialised under concurrent writers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from services import audit
from services.caller import Caller
from services.store.db import make_engine, session_factory

CALLER = Caller(org_code="W06000015", client_id="cli_test", request_id="req-1")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    yield made
    made.dispose()


def append(engine: Engine, n: int) -> None:
    with session_factory(engine)() as session, session.begin():
        for i in range(n):
            audit.record(
                session=session,
                caller=CALLER,
                action="case.read",
                object_type="cme_case",
                object_ids=[f"case-{i}"],
                record_count=1,
            )


def verify(engine: Engine) -> tuple[int, audit.ChainBreak | None]:
    with session_factory(engine)() as session, session.begin():
        return audit.verify(session=session)


def tamper(engine: Engine, statement: str) -> None:
    """Bypass the append-only triggers the way an attacker with DBA rights could."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
            )
        else:
            connection.execute(text("DROP TRIGGER audit_events_no_update"))
            connection.execute(text("DROP TRIGGER audit_events_no_delete"))
        connection.execute(text(statement))
        if engine.dialect.name == "postgresql":
            connection.execute(
                text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
            )


def test_an_intact_chain_verifies(engine: Engine) -> None:
    append(engine, 5)

    assert verify(engine) == (5, None)


def test_updates_and_deletes_are_refused_by_the_database(engine: Engine) -> None:
    append(engine, 1)

    for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError), engine.begin() as connection:
            connection.execute(text(statement))


@pytest.mark.parametrize(
    ("statement", "first_bad"),
    [
        ("UPDATE audit_events SET action = 'case.updated' WHERE seq = 3", 3),
        ("UPDATE audit_events SET object_ids = '[\"case-9\"]' WHERE seq = 2", 2),
        ("DELETE FROM audit_events WHERE seq = 4", 4),
        ("DELETE FROM audit_events WHERE seq = 6", 6),
        ("UPDATE audit_events SET seq = seq + 100 WHERE seq = 2", 2),
    ],
    ids=["edited action", "edited ids", "deleted middle", "deleted tail", "reordered"],
)
def test_tampering_names_the_first_bad_event(
    engine: Engine, statement: str, first_bad: int
) -> None:
    append(engine, 6)

    tamper(engine, statement)

    checked, broken = verify(engine)
    assert broken is not None
    assert broken.seq == first_bad
    assert checked == first_bad - 1


def test_concurrent_writers_keep_the_chain_unbroken(engine: Engine) -> None:
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda _: append(engine, 5), range(10)))

    assert verify(engine) == (50, None)


def test_events_carry_ids_and_counts_only(engine: Engine) -> None:
    append(engine, 1)

    with Session(engine) as session:
        row = session.execute(text("SELECT * FROM audit_events")).mappings().one()
    assert set(row) == {
        "seq",
        "occurred_at",
        "request_id",
        "client_id",
        "officer",
        "org_code",
        "action",
        "object_type",
        "object_ids",
        "record_count",
        "prev_hash",
        "hash",
    }


@pytest.mark.parametrize("chain_mode", ["commit", "background"])
def test_an_officer_is_named_in_the_chain_and_editing_the_name_breaks_it(
    engine: Engine, chain_mode: str
) -> None:
    officer = Caller(org_code="W06000015", officer="sub-0042", request_id="req-2")
    with session_factory(engine, audit_chain=chain_mode)() as session, session.begin():
        audit.record(
            session=session,
            caller=officer,
            action="case.read",
            object_type="cme_case",
            object_ids=["case-1"],
        )
    with session_factory(engine)() as session, session.begin():
        audit.chain_inbox(session=session)
    append(engine, 1)  # an API client's event after it, without an officer

    with Session(engine) as session:
        named = session.execute(text("SELECT officer, client_id FROM audit_events")).all()
    assert sorted(named, key=str) == sorted([("sub-0042", None), (None, "cli_test")], key=str)
    assert verify(engine) == (2, None)

    tamper(engine, "UPDATE audit_events SET officer = 'sub-0043' WHERE officer IS NOT NULL")
    assert verify(engine) == (0, audit.ChainBreak(1, "content does not match its hash (edited)"))


def test_background_mode_appends_to_the_inbox_and_the_chainer_links_it(engine: Engine) -> None:
    from sqlalchemy import func, select

    from services.audit.chainer import chain_all
    from services.store.tables import AuditEvent, AuditInbox

    background = session_factory(engine, audit_chain="background")
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda _: _append_with(background, 5), range(10)))
    with Session(engine) as session:
        waiting = session.scalar(select(func.count()).select_from(AuditInbox))
        chained_before = session.scalar(select(func.count()).select_from(AuditEvent))

    moved = chain_all(session_factory(engine))

    assert (waiting, chained_before, moved) == (50, 0, 50)
    assert verify(engine) == (50, None)


def _append_with(sessions: Any, n: int) -> None:
    with sessions() as session, session.begin():
        for i in range(n):
            audit.record(
                session=session,
                caller=CALLER,
                action="case.read",
                object_type="cme_case",
                object_ids=[f"case-{i}"],
            )


def test_the_service_chains_its_inbox_before_it_stops(settings: Any) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.factories import access_token, make_client

    app = create_app(settings.model_copy(update={"audit_chain": "background"}))
    with TestClient(app) as http:
        with app.state.sessions() as session:
            credentials = make_client(session, org="W06000015", scopes=["cme:read"])
            session.commit()
        token = access_token(http, credentials)
        http.get(
            "/v1/local-authorities/W06000015/cme-cases",
            headers={"Authorization": f"Bearer {token}"},
        )
        engine = make_engine(settings.database_url)
    try:
        checked, broken = verify(engine)
    finally:
        engine.dispose()
    assert broken is None
    assert checked >= 2  # the token issued and the list read


_TEXT = st.text(max_size=40)  # any Unicode: quotes, backslashes, controls, Welsh letters


@given(
    content=st.fixed_dictionaries(
        {
            "seq": st.integers(min_value=1, max_value=2**62),
            "occurred_at": _TEXT,
            "request_id": st.none() | _TEXT,
            "client_id": st.none() | _TEXT,
            "org_code": st.none() | _TEXT,
            "action": _TEXT,
            "object_type": _TEXT,
            "object_ids": st.lists(_TEXT, max_size=5),
            "record_count": st.none() | st.integers(min_value=0, max_value=2**31),
        },
        optional={"officer": _TEXT},
    )
)
def test_the_fast_canonical_form_is_the_one_every_event_was_hashed_in(
    content: dict[str, Any],
) -> None:
    from services.audit.trail import _canonical

    expected = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    assert _canonical(content) == expected


def test_chaining_copies_each_event_exactly_as_it_was_hashed(engine: Engine) -> None:
    from services.audit.chainer import chain_all
    from services.store.tables import AuditEvent, AuditInbox

    awkward = Caller(
        org_code="W06000015",
        officer='swyddog-ŵŷ "\\ \n',
        request_id='req "1" \\ ✓',
    )
    with session_factory(engine, audit_chain="background")() as session, session.begin():
        audit.record(
            session=session,
            caller=awkward,
            action="case.listed",
            object_type="cme_case",
            object_ids=["case-ŵ", 'case-"2"'],
            record_count=2,
        )
    _append_with(session_factory(engine, audit_chain="background"), 3)

    assert chain_all(session_factory(engine)) == 4
    with Session(engine) as session:
        first = session.scalars(select(AuditEvent).where(AuditEvent.seq == 1)).one()
        waiting = session.scalar(select(func.count()).select_from(AuditInbox))
    assert (first.officer, first.request_id, first.object_ids, first.record_count) == (
        'swyddog-ŵŷ "\\ \n',
        'req "1" \\ ✓',
        ["case-ŵ", 'case-"2"'],
        2,
    )
    assert waiting == 0
    assert verify(engine) == (4, None)
