"""Reading a health board's extract from JSON or CSV into submission records.

JSON or CSV is told apart by content, not by the file's name. CSV columns are the record's
field names, with nested fields flattened: `address_line_1`..`address_line_6`, `postcode`,
`address_last_known`, and `former_given_name_N` / `former_family_name_N` (N = 1..10). Empty
cells are absent values; `sensitive` and `address_last_known` are `true`/`false`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

MAX_ADDRESS_LINES = 6
MAX_FORMER_NAMES = 10
_PLAIN = (
    "record_id",
    "nhs_number",
    "given_name",
    "middle_names",
    "family_name",
    "date_of_birth",
    "sex",
    "local_authority_code",
    "gp_practice_code",
    "date_of_death",
)


class ExtractError(ValueError):
    pass


# Fields only one kind of file has, at the top or in its records (or as CSV columns), so a
# file given to the wrong command is named for what it is before anything is sent.
_HEALTH_ONLY = frozenset(
    {"lhb_code", "extract_type", "extracted_at", "local_authority_code", "gp_practice_code"}
)
_EDUCATION_ONLY = frozenset({"as_of", "provision", "provider_name", "ehe_suitability", "upn"})
FileKind = Literal["health extract", "education records"]


def kind_of(field_names: Iterable[str]) -> tuple[FileKind, list[str]] | None:
    """What a file with these fields is, and the fields that tell, when they tell."""
    names = set(field_names)
    health, education = sorted(names & _HEALTH_ONLY), sorted(names & _EDUCATION_ONLY)
    if health and not education:
        return "health extract", health
    if education and not health:
        return "education records", education
    return None


def field_names(document: object) -> set[str]:
    """The top-level fields of a JSON document and those of its first record."""
    records = document.get("records") if isinstance(document, dict) else document
    names = set(document) if isinstance(document, dict) else set()
    if isinstance(records, list) and records and isinstance(records[0], dict):
        names |= set(records[0])
    return names


def is_json(raw: bytes) -> bool:
    return raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


def read_extract(path: Path) -> dict[str, Any] | list[dict[str, Any]]:
    """A whole submission body (dict) or a list of records."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ExtractError(f"cannot read {path}: {error.strerror or error}.") from None
    return parse_extract(raw, name=str(path))


def parse_extract(raw: bytes, *, name: str) -> dict[str, Any] | list[dict[str, Any]]:
    if not is_json(raw):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ExtractError(f"{name} is neither JSON nor UTF-8 CSV: save it as UTF-8.") from None
        reader = csv.DictReader(io.StringIO(text, newline=""))
        refuse_other_kind(reader.fieldnames or [], expected="health extract", name=name)
        return [record_from_row(row, line) for line, row in enumerate(reader, 2)]
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except ValueError as error:
        raise ExtractError(f"{name} is not readable JSON ({error}).") from None
    refuse_other_kind(field_names(document), expected="health extract", name=name)
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("records"), list):
        return document
    raise ExtractError(f"{name}: expected a list of records or an object with 'records'.")


_DESCRIBED = {
    "health extract": ("a health board's extract", "a health board sends it with `cme push {}`"),
    "education records": (
        "an authority's education records",
        "an authority uploads it with `cme education upload {} --la CODE`",
    ),
}


def refuse_other_kind(names: Iterable[str], *, expected: FileKind, name: str) -> None:
    """Name a file given to the wrong command for what it is, and the command it is for."""
    found = kind_of(names)
    if found is None or found[0] == expected:
        return
    kind, telling = found
    described, how = _DESCRIBED[kind]
    raise ExtractError(
        f"{name} looks like {described} (it has {', '.join(telling)}), not "
        f"{_DESCRIBED[expected][0]}: {how.format(name)}."
    )


def _boolean(value: str, *, column: str, line: int) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "y"):
        return True
    if lowered in ("false", "0", "no", "n", ""):
        return False
    raise ExtractError(f"line {line}: {column} must be true or false")


def record_from_row(row: dict[str, str | None], line: int) -> dict[str, Any]:
    cells = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
    record: dict[str, Any] = {name: cells[name] for name in _PLAIN if cells.get(name)}
    record["sensitive"] = _boolean(cells.get("sensitive", ""), column="sensitive", line=line)
    lines = [
        cells[f"address_line_{n}"]
        for n in range(1, MAX_ADDRESS_LINES + 1)
        if cells.get(f"address_line_{n}")
    ]
    if lines or cells.get("postcode"):
        record["address"] = {
            "lines": lines,
            "postcode": cells.get("postcode", ""),
            "last_known": _boolean(
                cells.get("address_last_known", ""), column="address_last_known", line=line
            ),
        }
    former = []
    for n in range(1, MAX_FORMER_NAMES + 1):
        family = cells.get(f"former_family_name_{n}")
        if family:
            former.append(
                {"given_name": cells.get(f"former_given_name_{n}") or None, "family_name": family}
            )
    record["former_names"] = former
    return record


def csv_header() -> list[str]:
    return [
        *_PLAIN,
        "sensitive",
        *(f"address_line_{n}" for n in range(1, MAX_ADDRESS_LINES + 1)),
        "postcode",
        "address_last_known",
        *(f"former_{part}_name_{n}" for n in range(1, 4) for part in ("given", "family")),
    ]


def row_from_record(record: dict[str, Any]) -> dict[str, str]:
    row = {name: "" if record.get(name) is None else str(record[name]) for name in _PLAIN}
    row["sensitive"] = "true" if record.get("sensitive") else "false"
    address = record.get("address") or {}
    for n, text in enumerate(address.get("lines", []), 1):
        row[f"address_line_{n}"] = text
    row["postcode"] = address.get("postcode", "")
    row["address_last_known"] = (
        "true" if address.get("last_known") else ("false" if address else "")
    )
    for n, name in enumerate(record.get("former_names", [])[:3], 1):
        row[f"former_given_name_{n}"] = name.get("given_name") or ""
        row[f"former_family_name_{n}"] = name["family_name"]
    return row
