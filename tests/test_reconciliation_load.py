"""What a run reads: the children's names and addresses exactly as the boards sent them."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from services.reconciliation.load import load
from tests.factories import (
    Credentials,
    education_record,
    encode,
    health_record,
    post_submission,
    put_education_records,
    submission_body,
)

WITH_EVERYTHING = health_record(
    1,
    former_names=[
        {"given_name": "Cerys", "family_name": "Price"},
        {"given_name": None, "family_name": "Evans"},
    ],
    address={"lines": ["Flat 2", "12 Heol y Bont", "Treganna"], "postcode": "CF11 9AB"},
)
# A sensitive child: no address ever held.
WITH_NOTHING = {
    key: value
    for key, value in health_record(2, former_names=[], sensitive=True).items()
    if key != "address"
}


def test_a_run_reads_former_names_and_address_lines_in_order(
    http: TestClient, board: Credentials, cardiff: Credentials, db: Session
) -> None:
    body = encode(submission_body([WITH_EVERYTHING, WITH_NOTHING]))
    response = post_submission(http, board, body)
    assert response.status_code == 201, response.text
    assert put_education_records(http, cardiff, [education_record(1)]).status_code == 200

    work = load(session=db, la_code="W06000015", today=date(2026, 1, 20))

    by_record = {child.source.record_id: child for child in work.children}
    everything, nothing = by_record["cav-000001"], by_record["cav-000002"]
    assert everything.person.former_names == (("Cerys", "Price"), ("", "Evans"))
    assert everything.person.address_lines == ("Flat 2", "12 Heol y Bont", "Treganna")
    assert everything.child["address"]["lines"] == ["Flat 2", "12 Heol y Bont", "Treganna"]
    assert everything.child["former_names"] == WITH_EVERYTHING["former_names"]
    assert (nothing.person.former_names, nothing.person.address_lines) == ((), ())
    assert (nothing.child["former_names"], nothing.child["address"]) == ([], None)
    db.rollback()
