"""Privacy that reaches every copy of a child's case: S-flags, England transfers, moves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.store.tables import CmeCase, EnglandTransfer
from tests.factories import (
    Credentials,
    bearer,
    encode,
    health_record,
    make_case,
    make_client,
    post_submission,
    submission_body,
)

CARDIFF, NEWPORT = "W06000015", "W06000022"
RECORD_ID = "cav-000001"
POSTCODE = "CF11 7QT"  # make_case's address
NOT_FOUND = "not_found_in_education_records"


@pytest.fixture
def officers(db: Session) -> dict[str, Credentials]:
    made = {
        "cardiff": make_client(db, org=CARDIFF, scopes=["cme:read", "cme:write"]),
        "cardiff_senior": make_client(db, org=CARDIFF, scopes=["cme:read", "cme:sensitive"]),
        "newport": make_client(db, org=NEWPORT, scopes=["cme:read", "cme:write"]),
        "board": make_client(db, org="7A4", scopes=["submissions:write"]),
    }
    db.commit()
    return made


def england_transfer(db: Session, case: CmeCase) -> str:
    transfer = EnglandTransfer(
        transfer_id=f"00000000-0000-4000-8000-{case.case_id[-12:]}",
        case_id=case.case_id,
        la_code=case.la_code,
        child=dict(case.child),
        note="Moved to Bristol.",
        started_at=datetime.now(UTC),
    )
    db.add(transfer)
    db.commit()
    return transfer.transfer_id


def test_a_late_s_flag_hides_the_address_in_every_copy_before_the_201(
    http: TestClient, db: Session, officers: dict[str, Credentials]
) -> None:
    own = make_case(db, source_record_id=RECORD_ID)
    moved = make_case(
        db,
        la_code=NEWPORT,
        source_record_id=RECORD_ID,
        transferred_from_la_code=CARDIFF,
        transfer_started_at=datetime.now(UTC),
    )
    england_transfer(db, own)
    own_id, moved_id = own.case_id, moved.case_id
    db.rollback()

    flagged = health_record(
        1, record_id=RECORD_ID, sensitive=True, address=None, date_of_birth="2012-12-12"
    )
    body = submission_body([flagged], extract_type="delta")
    created = post_submission(http, officers["board"], encode(body))

    assert created.status_code == 201, created.text
    for who, la in (("cardiff", CARDIFF), ("newport", NEWPORT)):
        listed = http.get(
            f"/v1/local-authorities/{la}/cme-cases", headers=bearer(http, officers[who])
        )
        assert listed.json()["items"] == [], who
        transfers = http.get(
            f"/v1/local-authorities/{la}/england-transfers", headers=bearer(http, officers[who])
        )
        assert POSTCODE not in transfers.text
    senior = http.get(
        f"/v1/local-authorities/{CARDIFF}/cme-cases/{own_id}",
        headers=bearer(http, officers["cardiff_senior"]),
    ).json()
    assert (senior["sensitive"], senior["child"]["address"]) == (True, None)
    assert senior["history"][-1]["event"] == "marked_sensitive"
    stored = _stored_text(db)
    assert POSTCODE not in stored
    assert "Heol Penarth" not in stored
    db.rollback()
    assert {c.case_id: c.sensitive for c in db.scalars(select(CmeCase))} == {
        own_id: True,
        moved_id: True,
    }
    db.rollback()


def test_england_transfers_obey_clearance_and_restriction(
    http: TestClient, db: Session, officers: dict[str, Credentials]
) -> None:
    sensitive = make_case(db, sensitive=True, child={"family_name": "Gwenllian"})
    restricted = make_case(db, restricted=True, child={"family_name": "Rhydderch"})
    open_to_all = make_case(db)
    ids = {
        name: england_transfer(db, case)
        for name, case in (
            ("sensitive", sensitive),
            ("restricted", restricted),
            ("open", open_to_all),
        )
    }
    url = f"/v1/local-authorities/{CARDIFF}/england-transfers"

    def seen(who: str) -> set[str]:
        response = http.get(url, headers=bearer(http, officers[who]))
        return {item["transfer_id"] for item in response.json()["items"]}

    officer = make_client(db, org=CARDIFF, scopes=["cme:read", "cme:write", "cme:sensitive"])
    db.commit()
    exported = {
        name: http.post(f"{url}/{ids[name]}/exported", headers=bearer(http, officers["cardiff"]))
        for name in ("sensitive", "restricted")
    }

    assert seen("cardiff") == {ids["open"]}
    assert seen("cardiff_senior") == {ids["open"], ids["sensitive"]}
    assert {name: r.status_code for name, r in exported.items()} == {
        "sensitive": 404,
        "restricted": 404,
    }
    cleared = http.post(f"{url}/{ids['sensitive']}/exported", headers=bearer(http, officer))
    assert cleared.status_code == 200
    hidden = http.post(f"{url}/{ids['restricted']}/exported", headers=bearer(http, officer))
    assert hidden.status_code == 404
    db.rollback()
    assert db.get(EnglandTransfer, ids["restricted"]).exported_at is None  # type: ignore[union-attr]
    db.rollback()


def test_a_move_keeps_the_receiving_authoritys_own_record_of_the_child(
    http: TestClient, db: Session, officers: dict[str, Credentials]
) -> None:
    earlier: list[dict[str, Any]] = [
        {"at": "2026-09-01T09:00:00+00:00", "event": "opened", "reason": NOT_FOUND},
        {"at": "2026-09-20T09:00:00+00:00", "event": "closed", "outcome": "registered_at_school"},
    ]
    theirs = make_case(
        db,
        la_code=NEWPORT,
        source_record_id=RECORD_ID,
        status="closed",
        outcome="registered_at_school",
        closed_at=datetime(2026, 9, 20, 9, tzinfo=UTC),
        note="On roll at Ysgol Gymraeg Casnewydd.",
        history=earlier,
        child={"given_name": "Tommy", "nhs_number": None},
    )
    ours = make_case(db, source_record_id=RECORD_ID)
    ours_id, theirs_id = ours.case_id, theirs.case_id
    db.rollback()
    url = f"/v1/local-authorities/{CARDIFF}/cme-cases/{ours_id}"
    headers = bearer(http, officers["cardiff"])
    etag = http.get(url, headers=headers).headers["etag"]

    moved = http.patch(
        url,
        json={
            "status": "closed",
            "outcome": "moved_to_another_authority",
            "receiving_local_authority": NEWPORT,
        },
        headers=headers | {"If-Match": etag},
    )

    assert moved.status_code == 200, moved.text
    received = http.get(
        f"/v1/local-authorities/{NEWPORT}/cme-cases/{theirs_id}",
        headers=bearer(http, officers["newport"]),
    ).json()
    assert received["status"] == "open"
    assert received["note"] == "On roll at Ysgol Gymraeg Casnewydd."
    assert received["child"]["given_name"] == "Tommy"  # their own record stands
    assert received["child"]["nhs_number"] is not None  # what they lacked is filled in
    assert received["transfer"]["from_local_authority"] == CARDIFF
    events = [event["event"] for event in received["history"]]
    assert events == ["opened", "closed", "reopened", "received"]
    assert received["history"][1]["outcome"] == "registered_at_school"
    assert received["history"][-1]["local_authority"] == CARDIFF
    assert received["history"][-1]["details_differ"] == ["given_name"]
    db.rollback()
    assert len(db.scalars(select(CmeCase).where(CmeCase.la_code == NEWPORT)).all()) == 1
    db.rollback()


def _stored_text(db: Session) -> str:
    """Everything the cases and transfers tables hold, as text."""
    db.rollback()
    rows = [
        *db.execute(text("SELECT * FROM cme_cases")).all(),
        *db.execute(text("SELECT * FROM england_transfers")).all(),
    ]
    db.rollback()
    return repr(rows)
