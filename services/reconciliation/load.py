"""What one authority's reconciliation works on, read in one go under the run's locks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, case, func, literal_column, select
from sqlalchemy.orm import Session

from schemas.school_age import compulsory_school_age_birth_dates
from services.cases.child import Child, child_details, fingerprint
from services.cases.lifecycle import Source
from services.linkage import PersonRecord
from services.reconciliation.decisions import EducationFacts, ReviewAnswer
from services.store.tables import (
    PERSON_COLUMNS,
    CmeCase,
    EducationRecord,
    EducationSet,
    HealthRecord,
    ReviewDecision,
)

# A child's identity across runs: (health board, the board's record_id).
Key = tuple[str, str]


class NothingToReconcile(Exception):
    """The education records were consumed by another run in the meantime."""


@dataclass(frozen=True)
class ChildRecord:
    """A health record of a child of compulsory school age, and the case's copy of it.

    The copy and its fingerprint are made only when asked for: most children are found
    and need neither."""

    person: PersonRecord
    source: Source
    sensitive: bool
    row: RowMapping = field(repr=False, compare=False)

    @property
    def key(self) -> Key:
        return (self.source.lhb_code, self.source.record_id)

    @cached_property
    def child(self) -> Child:
        return child_details(self.row)

    @cached_property
    def child_fingerprint(self) -> str:
        return fingerprint(self.child)


@dataclass(frozen=True)
class Workload:
    education_set: EducationSet
    health_records_considered: int
    children: list[ChildRecord]
    submission_ids: set[str]
    education: list[PersonRecord]
    facts: dict[str, EducationFacts]
    answers: dict[Key, ReviewAnswer]
    cases: dict[Key, CmeCase]


def load(*, session: Session, la_code: str, today: date) -> Workload:
    education_set = session.get(EducationSet, la_code, with_for_update=True)
    if education_set is None or education_set.consumed_at is not None:
        raise NothingToReconcile(la_code)
    earliest, latest = compulsory_school_age_birth_dates(today)
    # Health records in arrival order, education records by id: linkage breaks ties by order.
    health = _rows(session, HealthRecord, HealthRecord.local_authority_code == la_code)
    education = _rows(session, EducationRecord, EducationRecord.la_code == la_code)
    return Workload(
        education_set=education_set,
        health_records_considered=len(health),
        children=[_child(row) for row in health if earliest <= row["date_of_birth"] <= latest],
        submission_ids={row["submission_id"] for row in health},
        education=[_person(row["record_id"], row) for row in education],
        facts={
            row["record_id"]: EducationFacts(row["provision"], row["ehe_suitability"])
            for row in education
        },
        answers=_answers(session, la_code),
        cases={
            (c.source_lhb_code, c.source_record_id): c
            for c in session.scalars(
                select(CmeCase).where(CmeCase.la_code == la_code).with_for_update()
            )
        },
    )


_ORDER = {HealthRecord: "id", EducationRecord: "record_id"}
_CONTEXT_COLUMNS = {
    HealthRecord: (
        "id",
        "lhb_code",
        "record_id",
        "submission_id",
        "address_last_known",
        "sensitive",
    ),
    EducationRecord: ("record_id", "provision", "ehe_suitability"),
}


def _rows(
    session: Session, table: type[HealthRecord] | type[EducationRecord], where: Any
) -> Sequence[RowMapping]:
    names = (*_CONTEXT_COLUMNS[table], *PERSON_COLUMNS)
    postgresql = session.get_bind().dialect.name == "postgresql"
    statement = select(*(_column(table, name, postgresql) for name in names)).where(where)
    order = getattr(table, _ORDER[table])
    # Core, not the ORM: plain rows, without the ORM's per-row loading machinery.
    return session.connection().execute(statement.order_by(order)).mappings().all()


def _column(
    table: type[HealthRecord] | type[EducationRecord], name: str, postgresql: bool
) -> ColumnElement[Any]:
    """A column as the run reads it. Decoding JSON in Python costs more than all the rest of
    reading a record, so the JSON columns come without it where they can: no former names
    as NULL rather than an empty list, and on PostgreSQL address lines as a text array."""
    column: ColumnElement[Any] = getattr(table, name)
    if name == "former_names":
        return case((func.json_array_length(column) > 0, column)).label(name)
    if name == "address_lines" and postgresql:
        lines = f"{table.__tablename__}.address_lines"
        return literal_column(
            f"CASE WHEN {lines} IS NOT NULL THEN ARRAY(SELECT line FROM"  # noqa: S608
            f" json_array_elements_text({lines}) WITH ORDINALITY AS a(line, n) ORDER BY n) END"
        ).label(name)  # untyped: psycopg's own list of str, with no per-item processing
    return column


def _answers(session: Session, la_code: str) -> dict[Key, ReviewAnswer]:
    remembered = session.scalars(select(ReviewDecision).where(ReviewDecision.la_code == la_code))
    return {
        (a.lhb_code, a.record_id): ReviewAnswer(a.education_record_id, a.child_fingerprint)
        for a in remembered
    }


def _child(row: RowMapping) -> ChildRecord:
    return ChildRecord(
        person=_person(str(row["id"]), row),
        source=Source(row["lhb_code"], row["submission_id"], row["record_id"]),
        sensitive=row["sensitive"],
        row=row,
    )


def _person(record_id: str, row: RowMapping) -> PersonRecord:
    return PersonRecord(
        record_id=record_id,
        nhs_number=row["nhs_number"],
        given_name=row["given_name"],
        middle_names=row["middle_names"],
        family_name=row["family_name"],
        former_names=tuple(
            (n.get("given_name") or "", n["family_name"]) for n in row["former_names"] or []
        ),
        date_of_birth=row["date_of_birth"],
        sex=row["sex"],
        postcode=row["postcode"],
        address_lines=tuple(row["address_lines"] or ()),
    )
