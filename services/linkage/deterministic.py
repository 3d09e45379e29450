"""The deterministic stage: both sides carry the same NHS number.

An NHS number is decisive only when the date of birth does not contradict it: a mistyped
or borrowed number on one side must not force a link between two different children, so
such pairs fall through to the probabilistic stage instead.
"""

from __future__ import annotations

from collections import Counter

import duckdb

from services.linkage.models import AgreementLabel

# Date-of-birth agreement that still fits "same child, same NHS number": a day-month swap
# or a one-digit slip is a clerical error, a wholly different date is not.
_CONSISTENT_DOB: frozenset[AgreementLabel] = frozenset({"exact", "swapped", "fuzzy"})
_AGREEING_NAME: frozenset[AgreementLabel] = frozenset(
    {"exact", "equivalent", "fuzzy", "swapped", "partial"}
)


def nhs_number_pairs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Pairs sharing an NHS number, skipping numbers that occur twice on one side (a
    duplicated number cannot say which record is the child)."""
    rows = con.execute(
        """
        SELECT h.record_id, e.record_id
        FROM health h JOIN education e ON h.nhs_number = e.nhs_number
        WHERE h.nhs_number IS NOT NULL
        ORDER BY h.record_id, e.record_id
        """
    ).fetchall()
    health_counts = Counter(str(h) for h, _ in rows)
    education_counts = Counter(str(e) for _, e in rows)
    return [
        (str(h), str(e))
        for h, e in rows
        if health_counts[str(h)] == 1 and education_counts[str(e)] == 1
    ]


def is_consistent(agreement: dict[str, AgreementLabel]) -> bool:
    """Whether the rest of the record lets the shared NHS number stand."""
    dob = agreement["date_of_birth"]
    if dob in _CONSISTENT_DOB:
        return True
    if dob == "missing":
        # No date to check against: at least one name must positively agree.
        names = (agreement["given_name"], agreement["family_name"])
        return any(label in _AGREEING_NAME for label in names)
    return False
