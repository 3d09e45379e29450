"""Records read as slabs (services/intake/slabs.py): a compactly written body is cut at its
record separators and checked a slab at a time, and wherever a guess fails the exact
scanner takes over, so every answer is the one the exact reading gives."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import services.intake.streamed
import services.intake.submissions
import services.store.bulk
from services.intake.rules import UploadRules
from services.intake.slabs import Slab, cut_slabs
from services.intake.streamed import SubmissionStream
from services.store.tables import HealthRecord, Submission
from tests.factories import Credentials, health_record, post_submission, submission_body

_COMPACT = {"ensure_ascii": False, "separators": (",", ":")}


def _compact(document: dict[str, Any]) -> bytes:
    return json.dumps(document, **_COMPACT).encode()  # type: ignore[arg-type]


def _records(count: int) -> list[dict[str, Any]]:
    return [health_record(index) for index in range(count)]


def _stored(db: Session) -> tuple[int, int]:
    db.expire_all()
    counts = (
        int(db.scalar(select(func.count()).select_from(Submission)) or 0),
        int(db.scalar(select(func.count()).select_from(HealthRecord)) or 0),
    )
    db.rollback()
    return counts


@pytest.fixture
def batches_of_three(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services.intake.streamed, "BATCH", 3)


@pytest.fixture
def exact_reading(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many records the exact scanner handed on (their batches are still validated)."""
    counted: list[int] = []
    real = SubmissionStream._validated

    def watched(stream: SubmissionStream, first: int, texts: list[str], facts: Any) -> Any:
        counted.append(len(texts))
        return real(stream, first, texts, facts)

    monkeypatch.setattr(SubmissionStream, "_validated", watched)
    return counted


def _stream(body: bytes, part: int = 7) -> Iterator[bytes]:
    for at in range(0, len(body), part):
        yield body[at : at + part]


# --- the cuts themselves ------------------------------------------------------------------


def _cut(body: bytes, *, size: int, accept: bool = True) -> tuple[list[Slab], Any]:
    start = body.index(b"[") + 1
    slabs: list[Slab] = []
    cutting = cut_slabs(body[start:], iter([]), first=0, size=size)
    try:
        while True:
            slab = next(cutting)
            slabs.append(slab)
            if accept:
                slab.records = len(json.loads(slab.text))
    except StopIteration as done:
        return slabs, done.value


@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")])
def test_a_compact_array_is_cut_into_slabs_of_whole_records(
    separators: tuple[str, str],
) -> None:
    records = [{"record_id": f"r{n}", "n": [n, {"k": "v"}]} for n in range(7)]
    body = json.dumps({"records": records}, separators=separators).encode()

    slabs, resume = _cut(body, size=3)

    assert [json.loads(slab.text) for slab in slabs] == [records[:3], records[3:6], records[6:]]
    assert [slab.first for slab in slabs] == [0, 3, 6]
    assert (resume.rest, resume.index, resume.in_array) == (b"}", 7, False)


def test_a_slab_the_reader_refuses_hands_back_its_first_record() -> None:
    body = _compact({"records": [{"n": n} for n in range(7)]})

    slabs, resume = _cut(body, size=3, accept=False)

    assert len(slabs) == 1
    assert resume.in_array
    assert resume.index == 0
    assert resume.rest.startswith(b'{"n":0}')


@pytest.mark.parametrize(
    ("body", "size"),
    [
        (b'{"records":[{"a":1},{"a":2,"a":3},{"a":4}]}', 5),  # a repeated key
        (b'{"records":[{"a":1},{"b":{"c":1,"c":1}}]}', 5),  # a repeated key, nested
        (b'{"records":[{"a":1,"\\u0061":2}]}', 5),  # a repeated key, written escaped
        (b'{"records":[{"a":1},{"a":NaN}]}', 5),  # not JSON
        (b'{"records":[{"a":1},{"a":2}],"lhb_code":"7A4"}', 5),  # members after the records
        (b'{"records":[{"a":"x},{"},{"a":3}]}', 1),  # a cut inside a string
    ],
)
def test_what_a_slab_cannot_vouch_for_goes_back_to_exact_reading(body: bytes, size: int) -> None:
    slabs, resume = _cut(body, size=size)

    assert slabs == []
    assert resume.in_array
    assert resume.index == 0
    assert resume.rest == body[body.index(b"[") + 1 :]


def test_a_body_without_separators_is_read_exactly_before_much_is_held() -> None:
    records = [{"n": n, "pad": "x" * 1000} for n in range(200)]
    body = json.dumps({"records": records}, indent=2).encode()
    parts = _stream(body[body.index(b"[") + 1 :], part=4096)
    cutting = cut_slabs(next(parts), parts, first=0, size=1000)

    with pytest.raises(StopIteration) as done:
        next(cutting)

    resume = done.value.value
    assert resume.in_array
    assert resume.index == 0
    assert len(resume.rest) < 80_000 < len(body)  # not the whole body


# --- through the service ------------------------------------------------------------------


@pytest.mark.usefixtures("batches_of_three")
def test_a_compact_submission_is_read_as_slabs_only(
    http: TestClient, board: Credentials, db: Session, exact_reading: list[int]
) -> None:
    response = post_submission(http, board, _compact(submission_body(_records(10))))

    assert response.status_code == 201, response.text
    assert response.json()["record_count"] == 10
    assert _stored(db) == (1, 10)
    assert exact_reading == []


@pytest.mark.usefixtures("batches_of_three")
@pytest.mark.parametrize("odd", [1, 2, 8])
def test_a_separator_inside_a_value_costs_a_reading_but_changes_no_answer(
    http: TestClient, board: Credentials, db: Session, odd: int
) -> None:
    records = _records(10)
    line = "Flat A},{"  # written `"Flat A},{",`: a separator, for all the cutter can tell
    records[odd]["address"]["lines"] = [line, "Treganna"]

    response = post_submission(http, board, _compact(submission_body(records)))

    assert response.status_code == 201, response.text
    assert response.json()["record_count"] == 10
    assert _stored(db) == (1, 10)
    lines = db.scalar(
        select(HealthRecord.address_lines).where(HealthRecord.record_id == f"cav-{odd:06d}")
    )
    db.rollback()
    assert lines == [line, "Treganna"]


@pytest.mark.usefixtures("batches_of_three")
@pytest.mark.parametrize(
    ("once", "twice", "repeated"),
    [
        (
            b'"given_name":"Cerys","middle_names"',
            b'"given_name":"Cerys","given_name":"Ceri","middle_names"',
            "given_name",
        ),
        (
            b'"given_name":"Cerys","middle_names"',
            b'"given_name":"Cerys","given\\u005fname":"Ceri","middle_names"',
            "given_name",
        ),
        (
            b'"postcode":"CF11 9AB"',
            b'"postcode":"CF11 9AB","postcode":"CF10 1AA"',
            "postcode",
        ),
        (
            b'"family_name":"Price"',
            b'"family_name":"Price","family_name":"Hughes"',
            "family_name",
        ),
    ],
)
def test_a_repeated_key_in_a_late_slab_refuses_the_whole_submission(
    http: TestClient, board: Credentials, db: Session, once: bytes, twice: bytes, repeated: str
) -> None:
    eighth = _compact(health_record(7))
    assert eighth.count(once) == 1
    # The eighth record with the key twice: valid to a parser that keeps either value.
    body = _compact(submission_body(_records(10))).replace(eighth, eighth.replace(once, twice))

    response = post_submission(http, board, body)

    assert response.status_code == 422, response.text
    assert [e["code"] for e in response.json()["errors"]] == ["duplicate_key"]
    assert repeated in response.json()["errors"][0]["detail"]
    assert _stored(db) == (0, 0)


def test_a_pretty_printed_submission_is_read_exactly_and_accepted(
    http: TestClient, board: Credentials, db: Session
) -> None:
    body = json.dumps(submission_body(_records(5)), indent=2).encode()

    response = post_submission(http, board, body)

    assert response.status_code == 201, response.text
    assert _stored(db) == (1, 5)


@pytest.mark.usefixtures("batches_of_three")
@pytest.mark.parametrize("part", [1, 7, 4096])
def test_slabs_hold_a_batch_whatever_parts_the_body_arrives_in(part: int) -> None:
    body = _compact(submission_body(_records(50)))
    stream = SubmissionStream(_stream(body, part), rules=UploadRules(date_field="extracted_at"))

    sizes = [len(batch) for batch in stream.batches()]

    assert stream.finish().lhb_code == "7A4"
    assert sizes == [3] * 16 + [2]
    assert stream.record_count == 50


def test_what_start_up_made_is_kept_out_of_the_collectors_sight(http: TestClient) -> None:
    # A large ingest makes millions of objects; full collections then skip these.
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("batches_of_three")
def test_records_sent_again_replace_their_rows_with_one_delete_for_many_batches(
    http: TestClient, board: Credentials, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert post_submission(http, board, _compact(submission_body(_records(10)))).status_code == 201
    deletes: list[int] = []
    real = services.store.bulk.delete_health_records

    def counted(session: Session, *, lhb_code: str, record_ids: list[str]) -> None:
        deletes.append(len(record_ids))
        real(session, lhb_code=lhb_code, record_ids=record_ids)

    monkeypatch.setattr(services.intake.submissions, "delete_health_records", counted)
    again = submission_body(_records(10), extract_type="delta")

    response = post_submission(http, board, _compact(again))

    assert response.status_code == 201, response.text
    assert deletes == [10]  # four batches of validation, one DELETE
    assert _stored(db) == (2, 10)
    stored_by = set(db.scalars(select(HealthRecord.submission_id)))
    db.rollback()
    assert stored_by == {again["submission_id"]}
