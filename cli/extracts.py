"""Reading a health board's extract from JSON or CSV into submission records.

CSV columns are the record's field names, with nested fields flattened:
`address_line_1`..`address_line_6`, `postcode`, `address_last_known`, and
`former_given_name_N` / `former_family_name_N` (N = 1..10). Empty cells are absent values;
`sensitive` and `address_last_known` are `true`/`false`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

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


def read_extract(path: Path) -> dict[str, Any] | list[dict[str, Any]]:
    """A whole submission body (dict) or a list of records."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return [
                record_from_row(row, line) for line, row in enumerate(csv.DictReader(handle), 2)
            ]
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise ExtractError(f"{path}: not a readable JSON file ({error})") from error
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("records"), list):
        return document
    raise ExtractError(f"{path}: expected a list of records or an object with 'records'")


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
