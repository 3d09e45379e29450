"""Submissions read a part at a time: the signature digested as the body arrives, records
validated and stored in bounded batches, every guarantee of the whole-body reading kept."""

from __future__ import annotations

import json
import random
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey, OKPKey, RSAKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import services.intake.received
import services.intake.streamed
import services.intake.submissions
import services.store.bulk
from cli.signing import detached_signature
from services.access.keys import generate_key_pair, load_private_key
from services.access.signatures import SigningInput
from services.intake.received import ReceivedBody
from services.intake.rules import UploadRules
from services.intake.streamed import SubmissionStream
from services.store.tables import HealthRecord, Submission
from tests.factories import (
    Credentials,
    encode,
    health_record,
    make_client,
    post_submission,
    submission_body,
)


def _stored(db: Session) -> tuple[int, int]:
    db.expire_all()
    counts = (
        int(db.scalar(select(func.count()).select_from(Submission)) or 0),
        int(db.scalar(select(func.count()).select_from(HealthRecord)) or 0),
    )
    db.rollback()  # no lock held (SQLite) while the service writes next
    return counts


def _records(count: int, **overrides: Any) -> list[dict[str, Any]]:
    return [health_record(index, **overrides) for index in range(count)]


# --- the signature, digested a part at a time -------------------------------------------


def _parts(body: bytes, sizes: list[int]) -> Iterator[bytes]:
    at = 0
    while at < len(body):
        size = sizes[at % len(sizes)]
        yield body[at : at + size]
        at += size


@pytest.mark.parametrize("kind", ["ec", "rsa", "ed25519"])
def test_a_signing_input_taken_in_parts_verifies_as_the_whole(kind: str) -> None:
    pem, public = generate_key_pair(kind)  # type: ignore[arg-type]
    key, alg = load_private_key(pem)
    body = bytes(random.Random(13).randrange(256) for _ in range(10_007))
    signature = detached_signature(key=key, alg=alg, body=body)
    raw = _signature_bytes(signature)
    public_key: ECKey | OKPKey | RSAKey = public

    for sizes in ([1], [2], [3], [5, 7, 1], [4096], [len(body)]):
        signed = SigningInput.for_signature(signature)
        assert signed is not None
        assert signed.alg == alg
        for part in _parts(body, sizes):
            signed.update(part)
        signed.finish()
        assert signed.verify(raw, public_key), (kind, sizes)
        signed.close()

    tampered = SigningInput.for_signature(signature)
    assert tampered is not None
    tampered.update(body[:-1] + bytes([body[-1] ^ 1]))
    tampered.finish()
    assert not tampered.verify(raw, public_key)
    tampered.close()


def _signature_bytes(signature: str) -> bytes:
    import base64

    segment = signature.split(".")[2]
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_every_key_type_submits_through_the_streamed_path(
    http: TestClient, db: Session, kind: str
) -> None:
    signer = make_client(db, org="7A4", scopes=["submissions:write"], kind=kind)  # type: ignore[arg-type]
    db.commit()

    response = post_submission(http, signer, encode(submission_body(_records(3))))

    assert response.status_code == 201, response.text
    assert _stored(db) == (1, 3)


# --- records in bounded batches -----------------------------------------------------------


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Batches of 3 records; every validation and every store, in order, with its size."""
    monkeypatch.setattr(services.intake.streamed, "BATCH", 3)
    events: list[tuple[str, int]] = []
    real_adapter = services.intake.streamed._RECORDS
    real_add = services.store.bulk.RowStream.add

    class Watched:
        def validate_json(self, data: bytes) -> Any:
            events.append(("validate", len(json.loads(data))))
            return real_adapter.validate_json(data)

    def watched_add(stream: services.store.bulk.RowStream, rows: Any) -> None:
        rows = list(rows)
        events.append(("store", len(rows)))
        real_add(stream, rows)

    monkeypatch.setattr(services.intake.streamed, "_RECORDS", Watched())
    monkeypatch.setattr(services.store.bulk.RowStream, "add", watched_add)
    return events


def test_records_are_validated_and_stored_a_batch_at_a_time(
    http: TestClient, board: Credentials, db: Session, small_batches: list[tuple[str, int]]
) -> None:
    response = post_submission(http, board, encode(submission_body(_records(10))))

    assert response.status_code == 201, response.text
    assert response.json()["record_count"] == 10
    assert _stored(db) == (1, 10)
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


def test_a_problem_in_a_late_batch_refuses_what_earlier_batches_stored(
    http: TestClient, board: Credentials, db: Session, small_batches: list[tuple[str, int]]
) -> None:
    records = _records(10)
    records[8]["nhs_number"] = "9990001234"  # fails the check digit

    response = post_submission(http, board, encode(submission_body(records)))

    assert response.status_code == 422, response.text
    assert [e["pointer"] for e in response.json()["errors"]] == ["/records/8/nhs_number"]
    assert ("store", 3) in small_batches  # the first batches went in, and came out again
    assert _stored(db) == (0, 0)


def test_problems_in_several_batches_keep_their_pointers(
    http: TestClient, board: Credentials, db: Session, small_batches: list[tuple[str, int]]
) -> None:
    records = _records(10)
    records[1]["given_name"] = ""
    records[7]["local_authority_code"] = "W06000099"
    records[9]["record_id"] = records[4]["record_id"]

    response = post_submission(http, board, encode(submission_body(records)))

    assert response.status_code == 422, response.text
    assert {(e["pointer"], e["code"]) for e in response.json()["errors"]} == {
        ("/records/1/given_name", "name_length"),
        ("/records/7/local_authority_code", "unknown_local_authority"),
        ("/records/9/record_id", "duplicate_record_id"),
    }
    assert _stored(db) == (0, 0)


def test_an_envelope_after_the_records_is_stored_on_a_second_reading(
    http: TestClient, board: Credentials, db: Session, small_batches: list[tuple[str, int]]
) -> None:
    document = submission_body(_records(5))
    body = encode({"records": document.pop("records"), **document})

    response = post_submission(http, board, body)

    assert response.status_code == 201, response.text
    assert _stored(db) == (1, 5)
    stores = [size for event, size in small_batches if event == "store"]
    assert stores == [3, 2]  # nothing stored on the first reading, all on the second
    replay = post_submission(http, board, body)
    assert replay.status_code == 200
    assert replay.json() == response.json()


def test_an_envelope_after_the_records_is_checked_like_any_other(
    http: TestClient, board: Credentials, db: Session
) -> None:
    document = submission_body(_records(2), lhb_code="7A1")
    body = encode({"records": document.pop("records"), **document, "colour": "red"})

    response = post_submission(http, board, body)

    assert response.status_code == 422, response.text
    assert {(e["pointer"], e["code"]) for e in response.json()["errors"]} == {
        ("/colour", "unknown_field"),
    }
    assert _stored(db) == (0, 0)


def test_another_boards_envelope_is_refused_after_its_records_are_checked(
    http: TestClient, board: Credentials, db: Session
) -> None:
    valid = encode(submission_body(_records(2), lhb_code="7A1"))
    invalid = encode(submission_body([health_record(0, given_name="")], lhb_code="7A1"))

    assert post_submission(http, board, valid).json()["code"] == "lhb_code_not_caller"
    assert post_submission(http, board, invalid).json()["code"] == "validation_failed"
    assert _stored(db) == (0, 0)


def test_a_conflicting_body_is_checked_before_the_conflict_is_reported(
    http: TestClient, board: Credentials, db: Session
) -> None:
    first = submission_body(_records(2))
    assert post_submission(http, board, encode(first)).status_code == 201
    changed = {**first, "records": [health_record(0, given_name="")]}

    refused = post_submission(http, board, encode(changed))

    assert refused.status_code == 422
    conflict = post_submission(http, board, encode({**first, "extract_type": "delta"}))
    assert conflict.status_code == 409
    assert _stored(db) == (1, 2)


def test_the_spooled_body_is_closed_whatever_the_outcome(
    http: TestClient, board: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[ReceivedBody] = []
    real_close = ReceivedBody.close

    def watched_close(self: ReceivedBody) -> None:
        received.append(self)
        real_close(self)

    monkeypatch.setattr(services.intake.received.ReceivedBody, "close", watched_close)
    # Larger than what is kept in memory, so it went to a file.
    big = encode(submission_body(_records(4000)))
    bad = encode(submission_body([health_record(0, given_name="")]))

    assert post_submission(http, board, big).status_code == 201
    assert post_submission(http, board, bad).status_code == 422
    assert len(received) == 2
    assert all(body._file.closed and body._copy.closed for body in received)


# --- memory -------------------------------------------------------------------------------


def _body_parts(count: int) -> tuple[Iterator[bytes], int]:
    """A submission of `count` records made a part at a time, never whole, and its size."""
    document = submission_body([])
    head = encode(document)[: -len(b"[]}")] + b"["
    # Records of about 1.5 kB: what is kept per record (its id and date of birth) is small
    # beside them, as it is beside real records.
    names = [{"given_name": "Cerys", "family_name": f"Former{n}"} for n in range(10)]
    lines = [f"{n} Heol y Bont, Treganna, Caerdydd" for n in range(6)]
    address = {"lines": lines, "postcode": "CF11 9AB"}
    records = [
        encode(health_record(index, former_names=names, address=address)) for index in range(count)
    ]
    size = len(head) + sum(len(r) for r in records) + count - 1 + len(b"]}")

    def parts() -> Iterator[bytes]:
        yield head
        for index, record in enumerate(records):
            yield record if index == 0 else b"," + record
        yield b"]}"

    return parts(), size


def test_reading_a_submission_never_holds_its_records_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(services.intake.streamed, "BATCH", 100)
    parts, size = _body_parts(10_000)
    stream = SubmissionStream(parts, rules=UploadRules(date_field="extracted_at"))
    most = 0
    tracemalloc.start()
    try:
        for batch in stream.batches():
            most = max(most, len(batch))
        envelope = stream.finish()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert envelope.lhb_code == "7A4"
    assert stream.record_count == 10_000
    assert most == 100
    # What stays per record is its id and date of birth; the records themselves pass by
    # (read whole, the body alone would be `size`, its parsed records several times that).
    assert peak < size / 4, (peak, size)
