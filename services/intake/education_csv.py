"""An authority's CSV upload as the equivalent JSON document, made a part at a time, so that
both kinds of upload share one validation path and one error shape (`/records/N` is data
row N, counting from 0 after the header).

Nothing is held whole: the bytes are decoded a part at a time, the csv module reads the rows
as their lines come, and each row goes on as its record's JSON text. The refusals keep the
order of reading the whole CSV before validating it: bytes that are not the declared
encoding (anywhere in the body) come first, then text the csv module cannot read (anywhere),
then a repeated column, then rows that are wrong as rows, then the records' own problems.
So a refusal found early is only given once the rest shows none that comes before it.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

from services.errors import FieldError, UnsupportedMediaType, ValidationFailed

# JSON text gathered before it is handed on: about the size of the parts read.
_PART = 1 << 16
# A line ends at \r\n, \r or \n, as io.StringIO(newline="") splits it for the csv module.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
_ADDRESS_LINE = re.compile(r"address_line_([1-6])")
_FORMER_NAME = re.compile(r"former_(given|family)_name_([1-9]|10)")


def csv_as_json(parts: Iterable[bytes], *, charset: str | None = None) -> Iterator[bytes]:
    """The CSV's JSON document, a part at a time: `{"records": [...], "as_of": ...}`.

    Columns: the record's field names, plus `as_of` (the same value on every row),
    `address_line_1`..`address_line_6`, `postcode`, `former_given_name_N` and
    `former_family_name_N` (N = 1..10). Empty cells are absent values. A repeated column,
    a row with more cells than the header or rows that disagree on `as_of` are refused.
    `charset`: the CSV's encoding as its Content-Type declares it (default UTF-8).
    Raises ValidationFailed or UnsupportedMediaType while it is read."""
    lines = _lines(_texts(parts, charset))
    rows = csv.reader(lines)
    header = _first_row(rows, lines)
    if header is None:
        yield b"{}"
        return
    header = [name.strip() for name in header]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        _read_to_the_end(rows, lines)
        raise ValidationFailed(
            [
                FieldError("", "duplicate_column", f"Column {name[:64]!r} repeats.")
                for name in repeated
            ]
        )
    problems: list[FieldError] = []
    as_of_values: set[str] = set()
    texts, size, separator = ['{"records": ['], 0, ""
    try:
        for index, cells in enumerate(rows):
            if len(cells) > len(header):
                problems.append(
                    FieldError(f"/records/{index}", "malformed_csv", "More cells than columns.")
                )
                continue
            row = dict(zip(header, (cell.strip() for cell in cells), strict=False))
            if row.get("as_of"):
                as_of_values.add(row["as_of"])
                if len(as_of_values) > 1:
                    problems.append(
                        FieldError(
                            f"/records/{index}/as_of",
                            "as_of_differs",
                            "Every row needs the same as_of.",
                        )
                    )
            if problems:
                continue  # the rows are refused as rows: their records are not read
            text = json.dumps(_record_from_row(row), ensure_ascii=False)
            texts += (separator, text)
            size += len(text)
            separator = ", "
            if size >= _PART:
                yield "".join(texts).encode()
                texts, size = [], 0
    except csv.Error as error:
        _decode_to_the_end(lines)
        raise _unreadable(error) from None
    if problems:
        raise ValidationFailed(problems)
    as_of = next(iter(as_of_values), None)
    texts.append(f'], "as_of": {json.dumps(as_of, ensure_ascii=False)}}}')
    yield "".join(texts).encode()


def _first_row(rows: Iterator[list[str]], lines: Iterator[str]) -> list[str] | None:
    try:
        return next(rows, None)
    except csv.Error as error:
        _decode_to_the_end(lines)
        raise _unreadable(error) from None


def _read_to_the_end(rows: Iterator[list[str]], lines: Iterator[str]) -> None:
    """Raises what comes before a problem found early, if the rest of the CSV has it."""
    try:
        for _ in rows:
            pass
    except csv.Error as error:
        _decode_to_the_end(lines)
        raise _unreadable(error) from None


def _decode_to_the_end(lines: Iterator[str]) -> None:
    for _ in lines:
        pass


def _unreadable(error: csv.Error) -> ValidationFailed:
    return ValidationFailed([FieldError("", "malformed_csv", f"Unreadable CSV: {error}.")])


def _lines(texts: Iterable[str]) -> Iterator[str]:
    """The text's lines, each with its line ending, however the text was cut. A line is
    joined once, when its end comes: a long one costs its length, not its length squared."""
    held: list[str] = []  # the start of a line that goes on in a later text
    for text in texts:
        # A \r at the end may be the first half of a \r\n.
        whole = text[:-1] if text.endswith("\r") else text
        end = max(whole.rfind("\n"), whole.rfind("\r")) + 1
        if end == 0:
            held.append(text)
            continue
        for line in _LINE.finditer("".join(held) + text[:end]):
            yield line.group()
        held = [text[end:]]
    if rest := "".join(held):
        yield rest


def _texts(parts: Iterable[bytes], charset: str | None) -> Iterator[str]:
    """The CSV's text, a part at a time: UTF-8 (a spreadsheet's byte order mark allowed)
    unless Content-Type declares another charset, e.g. `text/csv; charset=windows-1252`."""
    if charset is None or charset.strip().lower() in ("utf-8", "utf8"):
        encoding, code, named = "utf-8-sig", "csv_not_utf8", "UTF-8"
        what_to_do = (
            "Save it as CSV UTF-8, or declare its encoding: "
            "Content-Type: text/csv; charset=windows-1252."
        )
    else:
        encoding, code, named = _text_encoding(charset), "csv_charset_mismatch", charset[:40]
        what_to_do = "Declare the charset it was saved in."
    decoder = codecs.getincrementaldecoder(encoding)()
    newlines = 0  # in the parts decoded so far
    for part in chain(parts, [None]):
        data = part or b""
        held: bytes = decoder.getstate()[0]  # the start of a character cut by the last part
        try:
            text = decoder.decode(data, final=part is None)
        except UnicodeDecodeError as error:
            # `error.object` is what this step decoded: the bytes held, then this part.
            line = newlines - held.count(b"\n") + error.object.count(b"\n", 0, error.start) + 1
            byte = error.object[error.start]
            raise ValidationFailed(
                [
                    FieldError(
                        "",
                        code,
                        f"The CSV is not {named} (byte 0x{byte:02x} on line {line}). " + what_to_do,
                    )
                ]
            ) from None
        newlines += data.count(b"\n")
        if text:
            yield text


def _text_encoding(charset: str) -> str:
    try:
        codec = codecs.lookup(charset)
    except LookupError:
        codec = None
    # bytes.decode refuses the codecs that are not text encodings (zlib, rot13) by this mark.
    if codec is None or not getattr(codec, "_is_text_encoding", True):
        raise UnsupportedMediaType(
            f"Unknown charset {charset[:40]!r}: use UTF-8 or a standard name such as windows-1252.",
            code="unsupported_charset",
        )
    return codec.name


def _record_from_row(cells: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    lines: dict[int, str] = {}
    former: dict[int, dict[str, str]] = {}
    for column, value in cells.items():
        if not value or column == "as_of":
            continue
        if match := _ADDRESS_LINE.fullmatch(column):
            lines[int(match[1])] = value
        elif match := _FORMER_NAME.fullmatch(column):
            former.setdefault(int(match[2]), {})[f"{match[1]}_name"] = value
        elif column == "postcode":
            record.setdefault("address", {})["postcode"] = value
        else:
            record[column] = value  # unknown columns are refused as unknown fields
    if lines:
        record.setdefault("address", {})["lines"] = [lines[n] for n in sorted(lines)]
    if former:
        record["former_names"] = [former[n] for n in sorted(former)]
    return record
