"""A CSV upload made into its JSON document a part at a time: the same document however the
body is cut into parts, and the refusals in the order a whole reading gave them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from services.errors import ServiceError, ValidationFailed
from services.intake.education_csv import csv_as_json

HEADER = "as_of,record_id,given_name,family_name,address_line_1,postcode\r\n"


def cut(body: bytes, size: int) -> Iterator[bytes]:
    for at in range(0, len(body), size):
        yield body[at : at + size]


def document(body: bytes, size: int, charset: str | None = None) -> Any:
    return json.loads(b"".join(csv_as_json(cut(body, size), charset=charset)))


def refusal(body: bytes, size: int, charset: str | None = None) -> list[tuple[str, str, str]]:
    with pytest.raises(ServiceError) as refused:
        b"".join(csv_as_json(cut(body, size), charset=charset))
    assert isinstance(refused.value, ValidationFailed)
    return [(e.pointer, e.code, e.detail) for e in refused.value.errors]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64, 1 << 20])
def test_the_document_is_the_same_however_the_body_is_cut(size: int) -> None:
    body = (
        "\ufeff" + HEADER + '2026-01-20,e1,Siân,Llŷr,"1 Stryd Fawr,\r\nTreganna",cf101aa\r'
        "2026-01-20,e2,Mali,Evans,,\n"
        "\r\n"
        ',e3,Nia,"Jones ""Bach""",,'
    ).encode()

    assert document(body, size) == {
        "records": [
            {
                "record_id": "e1",
                "given_name": "Siân",
                "family_name": "Llŷr",
                "address": {"postcode": "cf101aa", "lines": ["1 Stryd Fawr,\r\nTreganna"]},
            },
            {"record_id": "e2", "given_name": "Mali", "family_name": "Evans"},
            {},  # a blank line is an empty row, as a whole reading has it
            {"record_id": "e3", "given_name": "Nia", "family_name": 'Jones "Bach"'},
        ],
        "as_of": "2026-01-20",
    }


@pytest.mark.parametrize("size", [1, 3, 1 << 20])
def test_bytes_that_are_not_the_charset_are_placed_by_byte_and_line(size: int) -> None:
    body = b"\xef\xbb\xbf" + HEADER.encode() + b"2026-01-20,e1,Ce\xffrys,Jones,,\r\n"

    [(pointer, code, detail)] = refusal(body, size)

    assert (pointer, code) == ("", "csv_not_utf8")
    # The byte itself, after a byte order mark too (a whole reading named the byte 3 before).
    assert "(byte 0xff on line 2)" in detail


def test_a_declared_charset_is_decoded_a_part_at_a_time() -> None:
    body = (HEADER + "2026-01-20,e1,Siân,Gruffydd,,\r\n").encode("utf-16")

    records = document(body, 3, charset="utf-16")["records"]

    assert records == [{"record_id": "e1", "given_name": "Siân", "family_name": "Gruffydd"}]


def test_undecodable_bytes_late_in_the_body_come_before_an_early_problem() -> None:
    early_csv_error = HEADER + '2026-01-20,e1,"Cerys' + "J" * 140_000 + '",Jones,,\r\n'
    repeated_column = HEADER.replace("postcode", "given_name")
    late = b"2026-01-20,e9,Ce\xffrys,Jones,,\r\n"

    for early in (early_csv_error, repeated_column):
        [(_, code, detail)] = refusal(early.encode() + late, 1000)
        assert code == "csv_not_utf8", early[:80]
        assert f"line {early.count(chr(10)) + 1}" in detail


def test_an_unreadable_csv_late_in_the_body_comes_before_a_repeated_column() -> None:
    body = HEADER.replace("postcode", "given_name") + "2026-01-20,e1," + "J" * 140_000 + "\r\n"

    [(_, code, _)] = refusal(body.encode(), 1000)

    assert code == "malformed_csv"


def test_rows_wrong_as_rows_are_all_reported_and_nothing_else() -> None:
    body = (
        HEADER + "2026-01-20,e1,,Jones,,\r\n"  # no given name: a record's problem, not a row's
        "2026-01-20,e2,Mali,Evans,,,extra\r\n"
        "2026-01-21,e3,Nia,Evans,,\r\n"
    ).encode()

    assert refusal(body, 7) == [
        ("/records/1", "malformed_csv", "More cells than columns."),
        ("/records/2/as_of", "as_of_differs", "Every row needs the same as_of."),
    ]


def test_an_empty_body_is_an_empty_document() -> None:
    assert document(b"", 1) == {}
    assert document(HEADER.encode(), 4) == {"records": [], "as_of": None}
