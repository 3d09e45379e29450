"""An authority's education records: replaced whole on each upload, all or nothing.

The records are the authority's working set for the next reconciliation, which deletes
them once consumed (only a case's own copy of what it needs stays).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import delete
from sqlalchemy.orm import Session

from schemas.education import EducationRecordsIn, EducationRecordsReceipt
from services import audit
from services.caller import Caller
from services.errors import FieldError, UnsupportedMediaType, ValidationFailed
from services.intake.records import education_record_row
from services.intake.rules import UploadRules, parse_upload
from services.reconciliation.queue import enqueue_if_ready
from services.store.bulk import bulk_insert
from services.store.tables import EducationRecord, EducationSet

MediaType = Literal["json", "csv"]
_RULES = UploadRules(date_field="as_of")


def replace_education_records(
    *,
    session: Session,
    la_code: str,
    caller: Caller,
    body: bytes,
    media_type: MediaType,
    charset: str | None = None,
) -> EducationRecordsReceipt:
    """`charset`: the CSV's encoding as its Content-Type declares it (default UTF-8)."""
    document = body if media_type == "json" else csv_to_json(body, charset=charset)
    upload = parse_upload(EducationRecordsIn, document, rules=_RULES)

    by_provision = Counter(record.provision for record in upload.records)
    session.execute(delete(EducationRecord).where(EducationRecord.la_code == la_code))
    rows = (education_record_row(la_code, r) for r in upload.records)
    bulk_insert(session, EducationRecord, rows)
    received_at = datetime.now(UTC)
    education_set = session.get(EducationSet, la_code)
    if education_set is None:
        education_set = EducationSet(la_code=la_code)
        session.add(education_set)
    education_set.as_of = upload.as_of
    education_set.received_at = received_at
    education_set.client_id = caller.client_id or "operator"
    education_set.record_count = len(upload.records)
    education_set.records_by_provision = dict(sorted(by_provision.items()))
    education_set.consumed_at = None
    session.flush()  # the queue below must see this upload
    audit.record(
        session=session,
        caller=caller,
        action="education_records.replaced",
        object_type="local_authority",
        object_ids=[la_code],
        record_count=len(upload.records),
    )
    job = enqueue_if_ready(session=session, la_code=la_code, trigger="education_records")
    return EducationRecordsReceipt(
        la_code=la_code,
        as_of=upload.as_of,
        record_count=len(upload.records),
        records_by_provision=education_set.records_by_provision,
        reconciliation_id=None if job is None else job.reconciliation_id,
    )


def csv_to_json(body: bytes, *, charset: str | None = None) -> bytes:
    """The CSV upload as the equivalent JSON document, so both share one validation path
    and one error shape (`/records/N` is data row N, counting from 0 after the header).

    Columns: the record's field names, plus `as_of` (the same value on every row),
    `address_line_1`..`address_line_6`, `postcode`, `former_given_name_N` and
    `former_family_name_N` (N = 1..10). Empty cells are absent values. A repeated column,
    a row with more cells than the header or rows that disagree on `as_of` are refused.
    """
    text = _decoded(body, charset)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise ValidationFailed(
            [FieldError("", "malformed_csv", f"Unreadable CSV: {error}.")]
        ) from None
    if not rows:
        return b"{}"
    header = [name.strip() for name in rows[0]]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ValidationFailed(
            [
                FieldError("", "duplicate_column", f"Column {name[:64]!r} repeats.")
                for name in repeated
            ]
        )
    problems: list[FieldError] = []
    records, as_of_values = [], set()
    for index, cells in enumerate(rows[1:]):
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
        records.append(_record_from_row(row))
    if problems:
        raise ValidationFailed(problems)
    as_of = next(iter(as_of_values), None)
    return json.dumps({"as_of": as_of, "records": records}, ensure_ascii=False).encode("utf-8")


def _decoded(body: bytes, charset: str | None) -> str:
    """The CSV's text: UTF-8 (a spreadsheet's byte order mark allowed) unless Content-Type
    declares another charset, e.g. `text/csv; charset=windows-1252`."""
    if charset is None or charset.strip().lower() in ("utf-8", "utf8"):
        try:
            return body.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise _undecodable(
                body,
                error,
                "csv_not_utf8",
                "UTF-8",
                "Save it as CSV UTF-8, or declare its encoding: "
                "Content-Type: text/csv; charset=windows-1252.",
            ) from None
    try:
        return body.decode(codecs.lookup(charset).name)
    except LookupError:  # unknown, or not a text encoding
        raise UnsupportedMediaType(
            f"Unknown charset {charset[:40]!r}: use UTF-8 or a standard name such as windows-1252.",
            code="unsupported_charset",
        ) from None
    except UnicodeDecodeError as error:
        raise _undecodable(
            body,
            error,
            "csv_charset_mismatch",
            charset[:40],
            "Declare the charset it was saved in.",
        ) from None


def _undecodable(
    body: bytes, error: UnicodeDecodeError, code: str, encoding: str, what_to_do: str
) -> ValidationFailed:
    """Where the text stops being `encoding`: the byte and its line, never the text."""
    line = body.count(b"\n", 0, error.start) + 1
    return ValidationFailed(
        [
            FieldError(
                "",
                code,
                f"The CSV is not {encoding} (byte 0x{body[error.start]:02x} on line {line}). "
                + what_to_do,
            )
        ]
    )


_ADDRESS_LINE = re.compile(r"address_line_([1-6])")
_FORMER_NAME = re.compile(r"former_(given|family)_name_([1-9]|10)")


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
