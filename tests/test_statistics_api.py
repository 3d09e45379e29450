"""GET /v1/statistics: per-authority counts with small numbers suppressed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from services.store.tables import Reconciliation
from tests.disclosure import derive, small_groups
from tests.factories import bearer, make_case, make_client


def test_small_numbers_are_suppressed_and_named(http: TestClient, db: Session) -> None:
    government = make_client(db, org="WG", scopes=["statistics:read"])
    db.add(
        _succeeded(
            "W06000015", 1000, {"maintained_school": 930, "independent_school": 17, "ehe": 3}
        )
    )
    db.commit()
    for _ in range(7):
        make_case(db)
    for _ in range(2):
        make_case(db, la_code="W06000024", sensitive=True)

    response = http.get("/v1/statistics", headers=bearer(http, government))

    assert response.status_code == 200, response.text
    body = response.json()
    by_code = {entry["la_code"]: (i, entry) for i, entry in enumerate(body["local_authorities"])}
    assert len(by_code) == 22
    i, cardiff = by_code["W06000015"]
    assert cardiff["health_records_received"] == 1000
    assert cardiff["matched_by_provision"]["maintained_school"] == 930
    assert cardiff["matched_by_provision"]["ehe"] is None
    assert f"/local_authorities/{i}/matched_by_provision/ehe" in body["suppressed"]
    assert cardiff["not_matched"] == 50
    assert cardiff["unmatched_rate"] == 0.05
    assert cardiff["cases_open"] == 7
    j, merthyr = by_code["W06000024"]
    assert merthyr["cases_open"] is None
    assert f"/local_authorities/{j}/cases_open" in body["suppressed"]
    for entry in body["local_authorities"]:
        for value in (entry["cases_open"], entry["cases_opened"], entry["not_matched"]):
            assert value is None or value == 0 or value >= 5


def test_only_the_statistics_scope_reads_statistics(http: TestClient, db: Session) -> None:
    authority = make_client(db, org="W06000015", scopes=["cme:read", "cme:sensitive"])
    db.commit()

    assert http.get("/v1/statistics", headers=bearer(http, authority)).status_code == 403


def _succeeded(la_code: str, considered: int, matched: dict[str, int]) -> Reconciliation:
    return Reconciliation(
        reconciliation_id=str(uuid.uuid4()),
        la_code=la_code,
        status="succeeded",
        trigger="manual",
        created_at=datetime.now(UTC),
        finished_at=datetime.now(UTC),
        attempts=1,
        summary={"health_records_considered": considered, "matched_by_provision": matched},
    )


def test_no_suppressed_count_follows_from_the_published_sums(http: TestClient, db: Session) -> None:
    """The issue's examples: eotas = received - not matched - the other provisions, and
    not_traced = opened - open - the other outcomes, must not be recoverable."""
    government = make_client(db, org="WG", scopes=["statistics:read"])
    db.add(
        _succeeded(
            "W06000015", 1000, {"maintained_school": 930, "independent_school": 17, "eotas": 3}
        )
    )
    db.add(_succeeded("W06000011", 40, {"maintained_school": 37, "ehe": 3}))
    db.commit()
    for _ in range(7):
        make_case(db)
    for _ in range(6):
        make_case(db, status="closed", outcome="registered_at_school")
    make_case(db, status="closed", outcome="not_traced")
    for _ in range(2):
        make_case(db, la_code="W06000024", sensitive=True)

    body = http.get("/v1/statistics", headers=bearer(http, government)).json()

    assert derive(body) == {}
    assert small_groups(body) == {}
    by_code = {entry["la_code"]: (i, entry) for i, entry in enumerate(body["local_authorities"])}
    i, cardiff = by_code["W06000015"]
    assert cardiff["matched_by_provision"]["eotas"] is None
    assert cardiff["cases_closed_by_outcome"]["not_traced"] is None
    # The smallest other part of each sum goes with it; the totals and the rate stay.
    assert cardiff["matched_by_provision"]["independent_school"] is None
    assert cardiff["cases_closed_by_outcome"]["registered_at_school"] is None
    assert (cardiff["health_records_received"], cardiff["not_matched"]) == (1000, 50)
    assert cardiff["unmatched_rate"] == 0.05
    assert (cardiff["cases_opened"], cardiff["cases_open"]) == (14, 7)
    assert {
        f"/local_authorities/{i}/matched_by_provision/independent_school",
        f"/local_authorities/{i}/matched_by_provision/eotas",
        f"/local_authorities/{i}/cases_closed_by_outcome/registered_at_school",
        f"/local_authorities/{i}/cases_closed_by_outcome/not_traced",
    } <= set(body["suppressed"])
    _, swansea = by_code["W06000011"]
    assert swansea["matched_by_provision"]["maintained_school"] is None
    assert swansea["health_records_received"] == 40
    for pointer in body["suppressed"]:
        entry = body["local_authorities"][int(pointer.split("/")[2])]
        *group, name = pointer.split("/")[3:]
        assert (entry[group[0]][name] if group else entry[name]) is None
