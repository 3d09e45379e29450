"""The case API: lists, filters, CSV, ETags and outcomes, scoped to the caller."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.organisations import local_authority_codes
from services.store.tables import CmeCase, EnglandTransfer, ReviewDecision
from tests.factories import Credentials, access_token, bearer, make_case, make_client

CARDIFF = "W06000015"
CASES = f"/v1/local-authorities/{CARDIFF}/cme-cases"


@pytest.fixture
def officer(db: Session) -> Credentials:
    credentials = make_client(db, org=CARDIFF, scopes=["cme:read", "cme:write"])
    db.commit()
    return credentials


@pytest.fixture
def senior_officer(db: Session) -> Credentials:
    credentials = make_client(db, org=CARDIFF, scopes=["cme:read", "cme:write", "cme:sensitive"])
    db.commit()
    return credentials


def reload(db: Session, case_id: str) -> CmeCase:
    db.rollback()
    case = db.get(CmeCase, case_id, populate_existing=True)
    assert case is not None
    db.expunge_all()
    db.rollback()
    return case


def patch(
    http: TestClient, who: Credentials, case_id: str, body: dict[str, Any], la: str = CARDIFF
) -> Any:
    url = f"/v1/local-authorities/{la}/cme-cases/{case_id}"
    token = access_token(http, who)
    etag = http.get(url, headers={"Authorization": f"Bearer {token}"}).headers.get("etag", "")
    return http.patch(
        url, json=body, headers={"Authorization": f"Bearer {token}", "If-Match": etag}
    )


def test_list_pages_with_cursors_in_update_order(
    http: TestClient, officer: Credentials, db: Session
) -> None:
    made = [make_case(db).case_id for _ in range(5)]
    headers = bearer(http, officer)

    seen, cursor = [], None
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = http.get(CASES, params=query, headers=headers).json()
        seen += [c["case_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert sorted(seen) == sorted(made)
    assert len(seen) == 5


def test_filters_by_status_reason_and_updated_since(
    http: TestClient, officer: Credentials, db: Session
) -> None:
    open_case = make_case(db)
    make_case(db, status="closed", outcome="not_traced")
    review = make_case(db, reason="possible_match_needs_review")
    headers = bearer(http, officer)

    by_status = http.get(CASES, params={"status": "open"}, headers=headers).json()["items"]
    by_reason = http.get(
        CASES, params={"reason": "possible_match_needs_review"}, headers=headers
    ).json()["items"]
    since = http.get(
        CASES, params={"updated_since": review.updated_at.isoformat()}, headers=headers
    ).json()["items"]

    assert {c["case_id"] for c in by_status} == {open_case.case_id, review.case_id}
    assert [c["case_id"] for c in by_reason] == [review.case_id]
    assert review.case_id not in {c["case_id"] for c in since}


def test_a_forged_cursor_is_a_clear_error(http: TestClient, officer: Credentials) -> None:
    response = http.get(CASES, params={"cursor": "bm90LWpzb24"}, headers=bearer(http, officer))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize("limit", [0, 1001, -1])
def test_limit_outside_1_to_1000_is_refused(
    http: TestClient, officer: Credentials, limit: int
) -> None:
    assert (
        http.get(CASES, params={"limit": limit}, headers=bearer(http, officer)).status_code == 422
    )


def test_csv_export_neutralises_formulas(
    http: TestClient, officer: Credentials, db: Session
) -> None:
    make_case(db, child={"given_name": '=HYPERLINK("http://x","y")', "family_name": "+Evans"})

    response = http.get(CASES, headers={**bearer(http, officer), "Accept": "text/csv"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "'=HYPERLINK" in response.text
    assert "'+Evans" in response.text
    assert ",=HYPERLINK" not in response.text


def test_single_case_has_an_etag_and_patch_needs_it(
    http: TestClient, officer: Credentials, db: Session
) -> None:
    case = make_case(db)
    url = f"{CASES}/{case.case_id}"
    headers = bearer(http, officer)
    etag = http.get(url, headers=headers).headers["etag"]

    missing = http.patch(url, json={"note": "visited"}, headers=headers)
    stale = http.patch(url, json={"note": "visited"}, headers=headers | {"If-Match": '"stale"'})
    fresh = http.patch(url, json={"note": "visited"}, headers=headers | {"If-Match": etag})
    replayed = http.patch(url, json={"note": "again"}, headers=headers | {"If-Match": etag})

    assert (missing.status_code, stale.status_code, fresh.status_code, replayed.status_code) == (
        428,
        412,
        200,
        412,
    )
    assert fresh.headers["etag"] != etag
    assert reload(db, case.case_id).note == "visited"


@pytest.mark.parametrize("if_match", ["*", "W/{etag}", '"stale", W/{etag}', "*, W/{etag}"])
def test_only_the_current_strong_etag_satisfies_if_match(
    http: TestClient, officer: Credentials, db: Session, if_match: str
) -> None:
    case = make_case(db)
    url = f"{CASES}/{case.case_id}"
    headers = bearer(http, officer)
    etag = http.get(url, headers=headers).headers["etag"]

    refused = http.patch(
        url, json={"note": "blind"}, headers=headers | {"If-Match": if_match.format(etag=etag)}
    )
    listed = http.patch(
        url, json={"note": "seen"}, headers=headers | {"If-Match": f'"stale", {etag}'}
    )

    assert (refused.status_code, refused.json()["code"]) == (412, "precondition_failed")
    assert listed.status_code == 200
    assert reload(db, case.case_id).note == "seen"


@pytest.mark.parametrize(
    "outcome",
    [
        "registered_at_school",
        "suitable_education_assured",
        "ceased_compulsory_school_age",
        "not_traced",
        "other",
    ],
)
def test_closing_with_an_outcome(
    http: TestClient, officer: Credentials, db: Session, outcome: str
) -> None:
    case = make_case(db)

    response = patch(http, officer, case.case_id, {"status": "closed", "outcome": outcome})

    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["outcome"]) == ("closed", outcome)


def test_closing_as_deceased_stops_contact(
    http: TestClient, officer: Credentials, db: Session
) -> None:
    case = make_case(db)

    body = patch(http, officer, case.case_id, {"status": "closed", "outcome": "deceased"}).json()

    assert body["do_not_contact"] is True


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"status": "closed"}, "/outcome"),
        ({"outcome": "other"}, "/status"),
        (
            {"status": "closed", "outcome": "moved_to_another_authority"},
            "/receiving_local_authority",
        ),
        (
            {"status": "closed", "outcome": "other", "receiving_local_authority": "W06000022"},
            "/receiving_local_authority",
        ),
        (
            {
                "status": "closed",
                "outcome": "moved_to_another_authority",
                "receiving_local_authority": "E06000001",
            },
            "/receiving_local_authority",
        ),
        (
            {
                "status": "closed",
                "outcome": "moved_to_another_authority",
                "receiving_local_authority": CARDIFF,
            },
            "/receiving_local_authority",
        ),
        ({"status": "open"}, "/status"),
        ({"colour": "red"}, "/colour"),
        ({}, ""),
    ],
)
def test_invalid_patches_change_nothing(
    http: TestClient, officer: Credentials, db: Session, body: dict[str, Any], pointer: str
) -> None:
    case = make_case(db)

    response = patch(http, officer, case.case_id, body)

    assert response.status_code == 422, response.text
    assert pointer in [e["pointer"] for e in response.json()["errors"]]
    assert reload(db, case.case_id).version == 1


def test_a_move_to_a_welsh_authority_opens_its_case_at_once(
    http: TestClient, officer: Credentials, db: Session
) -> None:
    case = make_case(db)
    newport = make_client(db, org="W06000022", scopes=["cme:read"])
    db.commit()

    moved = patch(
        http,
        officer,
        case.case_id,
        {
            "status": "closed",
            "outcome": "moved_to_another_authority",
            "receiving_local_authority": "W06000022",
        },
    )

    assert moved.json()["status"] == "closed"
    received = http.get(
        "/v1/local-authorities/W06000022/cme-cases", headers=bearer(http, newport)
    ).json()["items"]
    assert len(received) == 1
    handed = received[0]
    assert handed["status"] == "open"
    assert handed["child"]["family_name"] == "Llewellyn"
    assert handed["transfer"]["from_local_authority"] == CARDIFF
    assert handed["transfer"]["due_by"] > handed["transfer"]["started_at"]


def test_a_move_to_england_leaves_a_transfer_record(
    http: TestClient, officer: Credentials, db: Session
) -> None:
    case = make_case(db)

    patch(
        http,
        officer,
        case.case_id,
        {
            "status": "closed",
            "outcome": "moved_to_another_authority",
            "receiving_local_authority": "england",
            "note": "moved to Bristol",
        },
    )

    db.rollback()
    transfer = db.scalar(select(EnglandTransfer).where(EnglandTransfer.case_id == case.case_id))
    assert transfer is not None
    assert (transfer.case_id, transfer.child["family_name"]) == (case.case_id, "Llewellyn")


def test_review_decision_is_recorded_and_closes_when_at_school(
    http: TestClient, officer: Credentials, db: Session
) -> None:
    candidate = {
        "education_record_id": "upn-1",
        "provision": "maintained_school",
        "match_probability": 0.7,
        "agreement": {"family_name": "exact"},
        "ehe_suitability": None,
    }
    case = make_case(db, reason="possible_match_needs_review", candidates=[candidate])

    body = patch(
        http, officer, case.case_id, {"review_decision": {"education_record_id": "upn-1"}}
    ).json()

    assert (body["status"], body["outcome"]) == ("closed", "registered_at_school")
    db.rollback()
    # A decision is remembered for the child as the health board sent them.
    remembered = db.get(ReviewDecision, (case.la_code, case.source_lhb_code, case.source_record_id))
    assert remembered is not None
    assert remembered.education_record_id == "upn-1"


def test_a_review_decision_labels_every_candidate_it_was_given(
    http: TestClient, officer: Credentials, db: Session
) -> None:
    candidates: list[dict[str, Any]] = [
        {
            "education_record_id": record_id,
            "provision": "maintained_school",
            "match_probability": probability,
            "agreement": {},
            "ehe_suitability": None,
        }
        for record_id, probability in (("upn-1", 0.7), ("upn-2", 0.6))
    ]
    chosen = make_case(db, reason="possible_match_needs_review", candidates=candidates)
    neither = make_case(db, reason="possible_match_needs_review", candidates=candidates)

    for case, answer in ((chosen, "upn-2"), (neither, None)):
        patch(http, officer, case.case_id, {"review_decision": {"education_record_id": answer}})

    db.rollback()
    labels = []
    for case in (chosen, neither):
        remembered = db.get(
            ReviewDecision, (case.la_code, case.source_lhb_code, case.source_record_id)
        )
        assert remembered is not None
        labels.append(remembered.labels)
    assert labels == [
        [{"match_probability": 0.7, "match": False}, {"match_probability": 0.6, "match": True}],
        [{"match_probability": 0.7, "match": False}, {"match_probability": 0.6, "match": False}],
    ]


def test_review_decision_none_of_them_keeps_the_case_open(
    http: TestClient, officer: Credentials, db: Session
) -> None:
    candidate = {
        "education_record_id": "upn-1",
        "provision": "maintained_school",
        "match_probability": 0.7,
        "agreement": {},
        "ehe_suitability": None,
    }
    case = make_case(db, reason="possible_match_needs_review", candidates=[candidate])

    body = patch(
        http, officer, case.case_id, {"review_decision": {"education_record_id": None}}
    ).json()

    assert (body["status"], body["reason"], body["candidates"]) == (
        "open",
        "not_found_in_education_records",
        [],
    )


def test_review_decision_must_name_a_candidate(
    http: TestClient, officer: Credentials, db: Session
) -> None:
    case = make_case(db, reason="possible_match_needs_review", candidates=[])

    response = patch(
        http, officer, case.case_id, {"review_decision": {"education_record_id": "upn-9"}}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "unknown_candidate"


def test_rectification_replaces_the_childs_details(
    http: TestClient, officer: Credentials, db: Session
) -> None:
    case = make_case(db)

    body = patch(
        http,
        officer,
        case.case_id,
        {"child": {"family_name": "Llywelyn", "date_of_birth": "2012-12-21"}},
    ).json()

    assert (body["child"]["family_name"], body["child"]["date_of_birth"]) == (
        "Llywelyn",
        "2012-12-21",
    )
    assert body["child"]["given_name"] == "Tomos"


def test_sensitive_cases_only_with_the_sensitive_scope(
    http: TestClient, officer: Credentials, senior_officer: Credentials, db: Session
) -> None:
    hidden = make_case(db, sensitive=True, child={"given_name": "Eira"})
    make_case(db)

    general = http.get(CASES, headers=bearer(http, officer))
    general_csv = http.get(CASES, headers={**bearer(http, officer), "Accept": "text/csv"})
    single = http.get(f"{CASES}/{hidden.case_id}", headers=bearer(http, officer))
    senior = http.get(CASES, headers=bearer(http, senior_officer)).json()["items"]

    assert hidden.case_id not in general.text
    assert "Eira" not in general.text + general_csv.text
    assert single.status_code == 404
    assert "Eira" not in single.text
    shown = next(c for c in senior if c["case_id"] == hidden.case_id)
    assert shown["child"]["address"] is None


def test_a_sensitive_childs_address_cannot_be_added(
    http: TestClient, senior_officer: Credentials, db: Session
) -> None:
    case = make_case(db, sensitive=True)

    response = patch(
        http,
        senior_officer,
        case.case_id,
        {"child": {"address": {"lines": ["1 Stryd"], "postcode": "CF10 1AA"}}},
    )

    assert response.status_code == 422
    assert reload(db, case.case_id).child["address"] is None


def test_scope_matrix(http: TestClient, db: Session) -> None:
    case = make_case(db)
    board = make_client(db, org="7A4", scopes=["submissions:write", "submissions:read"])
    reader = make_client(db, org=CARDIFF, scopes=["cme:read"])
    db.commit()

    board_read = http.get(CASES, headers=bearer(http, board))
    reader_patch = patch(http, reader, case.case_id, {"note": "x"})

    assert board_read.status_code == 403
    assert reader_patch.status_code == 403


def test_access_matrix_over_all_authorities(
    http: TestClient, officer: Credentials, db: Session
) -> None:
    case = make_case(db, child={"given_name": "Heledd", "family_name": "Gwyther"})
    others = sorted(local_authority_codes() - {CARDIFF})
    clients = {
        la: make_client(db, org=la, scopes=["cme:read", "cme:write", "cme:sensitive"])
        for la in others
    }
    db.commit()

    for la, client in clients.items():
        headers = bearer(http, client)
        for method, url, body in (
            ("GET", CASES, None),
            ("GET", f"{CASES}/{case.case_id}", None),
            ("PATCH", f"{CASES}/{case.case_id}", {"note": "x"}),
            ("GET", f"/v1/local-authorities/{la}/cme-cases/{case.case_id}", None),
            ("PATCH", f"/v1/local-authorities/{la}/cme-cases/{case.case_id}", {"note": "x"}),
        ):
            response = http.request(method, url, json=body, headers=headers | {"If-Match": "*"})
            assert response.status_code == 404, (la, method, url)
            assert "Heledd" not in response.text
            assert "Gwyther" not in response.text
        own = http.get(f"/v1/local-authorities/{la}/cme-cases", headers=headers).json()
        assert own["items"] == []
    assert reload(db, case.case_id).version == 1


def test_a_death_during_an_open_review_closes_the_case_and_stops_contact(
    http: TestClient, officer: Credentials, db: Session
) -> None:
    from tests.factories import encode, health_record, post_submission, submission_body

    board = make_client(db, org="7A4", scopes=["submissions:write"])
    db.commit()
    candidate = {
        "education_record_id": "upn-1",
        "provision": "maintained_school",
        "match_probability": 0.7,
        "agreement": {},
        "ehe_suitability": None,
    }
    case = make_case(
        db, reason="possible_match_needs_review", candidates=[candidate], source_record_id="r-77"
    )
    db.rollback()

    died = health_record(1, record_id="r-77", date_of_death="2026-01-02")
    assert (
        post_submission(
            http, board, encode(submission_body([died], extract_type="delta"))
        ).status_code
        == 201
    )

    closed = reload(db, case.case_id)
    assert (closed.status, closed.outcome, closed.do_not_contact) == ("closed", "deceased", True)
    review = patch(
        http, officer, case.case_id, {"review_decision": {"education_record_id": "upn-1"}}
    )
    assert review.status_code == 409
    listed = http.get(CASES, params={"status": "open"}, headers=bearer(http, officer)).json()[
        "items"
    ]
    assert case.case_id not in {c["case_id"] for c in listed}
