"""Cases as CSV for spreadsheets, with formula injection neutralised.

A cell starting with `=`, `+`, `-`, `@`, tab or carriage return is prefixed with `'`, so a
name like `=HYPERLINK(...)` is shown as text, never run as a formula (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from schemas.cases import CaseOut

COLUMNS = (
    "case_id",
    "status",
    "reason",
    "sensitive",
    "do_not_contact",
    "given_name",
    "middle_names",
    "family_name",
    "former_names",
    "date_of_birth",
    "sex",
    "address_lines",
    "postcode",
    "nhs_number",
    "lhb_code",
    "record_id",
    "identified_at",
    "updated_at",
    "outcome",
    "transfer_from",
    "transfer_due_by",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def cases_csv(cases: Iterable[CaseOut]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for case in cases:
        child, address = case.child, case.child.address
        former = "; ".join(
            " ".join(p for p in (n.get("given_name"), n.get("family_name")) if p)
            for n in child.former_names
        )
        row = (
            case.case_id,
            case.status,
            case.reason,
            str(case.sensitive).lower(),
            str(case.do_not_contact).lower(),
            child.given_name,
            child.middle_names,
            child.family_name,
            former,
            child.date_of_birth.isoformat(),
            child.sex,
            None if address is None else " | ".join(address.lines),
            None if address is None else address.postcode,
            child.nhs_number,
            case.source.lhb_code,
            case.source.record_id,
            case.identified_at.isoformat(),
            case.updated_at.isoformat(),
            case.outcome,
            None if case.transfer is None else case.transfer.from_local_authority,
            None if case.transfer is None else case.transfer.due_by.isoformat(),
        )
        writer.writerow([neutralise(v) for v in row])
    return buffer.getvalue()
