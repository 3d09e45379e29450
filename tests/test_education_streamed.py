"""Education uploads read a part at a time: the body spooled, CSV made into its JSON document
as it is read, records validated and stored in bounded batches, every guarantee of the
whole-body reading kept (all or nothing, the old set kept on refusal, the same problems)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import tracemalloc
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import services.intake.education
import services.intake.streamed
import services.store.bulk
from services.caller import Caller
from services.intake.education import replace_education_records
from services.intake.received import ReceivedBody
from services.store.tables import AuditEvent, EducationRecord, EducationSet
from tests.factories import Credentials, bearer, education_record, encode

PATH = "/v1/local-authorities/W06000015/education-records"
COLUMNS = (
    "as_of",
    "record_id",
    "given_name",
    "family_name",
    "date_of_birth",
    "provision",
    "upn",
    "nhs_number",
    "address_line_1",
    "postcode",
)


def as_csv(records: list[dict[str, Any]], as_of: str = "2026-01-20") -> bytes:
    """Records of `education_record` as CSV rows (the columns above)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for record in records:
        address = record.get("address") or {}
        cells = {
            **record,
            "as_of": as_of,
            "address_line_1": (address.get("lines") or [""])[0],
            "postcode": address.get("postcode"),
        }
        writer.writerow(["" if cells.get(name) is None else cells[name] for name in COLUMNS])
    return out.getvalue().encode()


def upload(
    http: TestClient,
    cardiff: Credentials,
    records: list[dict[str, Any]],
    kind: str,
    *,
    gzipped: bool = False,
) -> Any:
    if kind == "json":
        body, content_type = encode({"as_of": "2026-01-20", "records": records}), "application/json"
    else:
        body, content_type = as_csv(records), "text/csv"
    headers = {**bearer(http, cardiff), "Content-Type": content_type}
    if gzipped:
        body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    return http.put(PATH, content=body, headers=headers)


def stored(db: Session) -> list[str]:
    db.expire_all()
    ids = list(db.scalars(select(EducationRecord.record_id).order_by(EducationRecord.record_id)))
    db.rollback()  # no lock held (SQLite) while the service writes next
    return ids


def records(count: int, **overrides: Any) -> list[dict[str, Any]]:
    return [education_record(index, **overrides) for index in range(count)]


# --- records in bounded batches -----------------------------------------------------------


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Batches of 3 records; every validation and every store, in order, with its size."""
    monkeypatch.setattr(services.intake.streamed, "BATCH", 3)
    events: list[tuple[str, int]] = []
    real_adapter = services.intake.education._RECORDS
    real_add = services.store.bulk.RowStream.add

    class Watched:
        def validate_json(self, data: bytes) -> Any:
            events.append(("validate", len(json.loads(data))))
            return real_adapter.validate_json(data)

    def watched_add(stream: services.store.bulk.RowStream, rows: Any) -> None:
        rows = list(rows)
        events.append(("store", len(rows)))
        real_add(stream, rows)

    monkeypatch.setattr(services.intake.education, "_RECORDS", Watched())
    monkeypatch.setattr(services.store.bulk.RowStream, "add", watched_add)
    return events


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_records_are_validated_and_stored_a_batch_at_a_time(
    http: TestClient,
    cardiff: Credentials,
    db: Session,
    small_batches: list[tuple[str, int]],
    kind: str,
) -> None:
    response = upload(http, cardiff, records(10), kind)

    assert response.status_code == 200, response.text
    assert response.json()["record_count"] == 10
    assert response.json()["records_by_provision"] == {"maintained_school": 10}
    assert len(stored(db)) == 10
    # Never more than a batch in hand, and each batch stored before the next is read.
    assert small_batches == [
        ("validate", 3),
        ("store", 3),
        ("validate", 3),
        ("store", 3),
        ("validate", 3),
        ("store", 3),
        ("validate", 1),
        ("store", 1),
    ]


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_a_problem_in_a_late_batch_keeps_the_old_set_whole(
    http: TestClient,
    cardiff: Credentials,
    db: Session,
    small_batches: list[tuple[str, int]],
    kind: str,
) -> None:
    assert upload(http, cardiff, [education_record(90), education_record(91)], kind).is_success
    before = db.get(EducationSet, "W06000015")
    assert before is not None
    received_at = before.received_at
    db.rollback()
    late = records(10)
    late[8]["nhs_number"] = "9990001234"  # fails the check digit

    response = upload(http, cardiff, late, kind)

    assert response.status_code == 422, response.text
    assert [e["pointer"] for e in response.json()["errors"]] == ["/records/8/nhs_number"]
    assert ("store", 3) in small_batches  # the first batches went in, and came out again
    assert stored(db) == ["upn-000090", "upn-000091"]
    after = db.get(EducationSet, "W06000015")
    assert after is not None
    assert (after.record_count, after.received_at) == (2, received_at)
    audits = select(func.count()).select_from(AuditEvent)
    assert db.scalar(audits.where(AuditEvent.action == "education_records.replaced")) == 1


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_a_repeated_record_id_stops_storing_before_its_row_collides(
    http: TestClient,
    cardiff: Credentials,
    db: Session,
    small_batches: list[tuple[str, int]],
    kind: str,
) -> None:
    repeated = records(8)
    repeated[7]["record_id"] = repeated[1]["record_id"]

    response = upload(http, cardiff, repeated, kind)

    assert response.status_code == 422, response.text
    assert {(e["pointer"], e["code"]) for e in response.json()["errors"]} == {
        ("/records/7/record_id", "duplicate_record_id"),
    }
    assert ("store", 2) not in small_batches  # the last batch, with the repeat, never stored
    assert stored(db) == []


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_a_gzip_upload_is_read_as_it_is_inflated(
    http: TestClient, cardiff: Credentials, db: Session, kind: str
) -> None:
    response = upload(http, cardiff, records(250), kind, gzipped=True)

    assert response.status_code == 200, response.text
    assert len(stored(db)) == 250


def test_more_records_than_allowed_are_refused_as_the_whole_model_words_it(
    http: TestClient, cardiff: Credentials, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services.intake.education, "MAX_EDUCATION_RECORDS", 3)
    too_many = records(5)
    too_many[1]["upn"] = "A681000012345"  # a record's own problem: not reported past the cap
    too_many[4]["record_id"] = too_many[0]["record_id"]  # across records: reported

    response = upload(http, cardiff, too_many, "json")

    assert response.status_code == 422, response.text
    assert [(e["pointer"], e["code"], e["detail"]) for e in response.json()["errors"]] == [
        ("/records", "too_long", "List should have at most 3 items after validation, not 5"),
        ("/records/4/record_id", "duplicate_record_id", "record_id repeats."),
    ]
    assert stored(db) == []


# --- memory -------------------------------------------------------------------------------


def _spooled(count: int, kind: str) -> ReceivedBody:
    """An upload of `count` records of about 1.5 kB, spooled as a request's body is, written
    a record at a time (never whole)."""
    body = ReceivedBody(signature=None, compressed=False, keep_copy=False)
    lines = [f"{n} Heol y Bont, Treganna, Caerdydd" for n in range(1, 7)]
    names = [{"given_name": "Cerys", "family_name": f"Former{n}"} for n in range(1, 11)]
    wide = {
        "middle_names": "Angharad Eluned Gwenllian",
        "provider_name": "Ysgol Gynradd Gymraeg Treganna",
        "address": {"lines": lines, "postcode": "CF11 9AB"},
        "former_names": names,
    }
    if kind == "json":
        body.write(b'{"as_of": "2026-01-20", "records": [')
        for index in range(count):
            body.write((b", " if index else b"") + encode(education_record(index, **wide)))
        body.write(b"]}")
        body.finish()
        return body
    header = ["as_of", "record_id", "given_name", "middle_names", "family_name"]
    header += ["date_of_birth", "provision", "provider_name", "postcode"]
    header += [f"address_line_{n}" for n in range(1, 7)]
    header += [f"former_{part}_name_{n}" for n in range(1, 11) for part in ("given", "family")]
    former = [name[f"{part}_name"] for name in names for part in ("given", "family")]
    for index in range(-1, count):
        row = io.StringIO()
        cells = ["2026-01-20", f"upn-{index:06d}", "Cerys", wide["middle_names"], "Jones"]
        cells += ["2015-03-02", "maintained_school", wide["provider_name"], "CF11 9AB"]
        csv.writer(row).writerow(header if index < 0 else [*cells, *lines, *former])
        body.write(row.getvalue().encode())
    body.finish()
    return body


def _peak_while_storing(db: Session, count: int, kind: str) -> tuple[int, int]:
    """The most memory the service took to store an upload of `count` records, and the
    upload's size."""
    body = _spooled(count, kind)
    tracemalloc.start()
    try:
        receipt = replace_education_records(
            session=db,
            la_code="W06000015",
            caller=Caller(org_code="W06000015", client_id="test"),
            body=body,
            media_type=kind,  # type: ignore[arg-type]
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        body.close()
    db.commit()
    assert receipt.record_count == count
    assert len(stored(db)) == count
    return peak, body.size


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_an_upload_is_stored_without_holding_its_records_whole(
    db: Session, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setattr(services.intake.streamed, "BATCH", 100)
    small_peak, small_size = _peak_while_storing(db, 2000, kind)
    peak, size = _peak_while_storing(db, 10_000, kind)

    # What stays per record is its id and date of birth; the records pass by a batch at a
    # time (read whole, the body alone would be the size, its parsed records several times
    # it). What does not grow with the body (parts read, a batch) is a megabyte or two.
    assert peak - small_peak < (size - small_size) / 4, (small_peak, peak, small_size, size)
    assert peak < size, (peak, size)
